"""The examples run headless, print the loss as the tutorial does, and write their plots."""

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.mark.parametrize("script, every", [("perceptron.py", 10), ("multi_layer_perceptron.py", 100)])
def test_example_trains_and_writes_its_plots(tmp_path, script, every):
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / script), "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=300, env={"MPLBACKEND": "Agg", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    steps = [line for line in result.stdout.splitlines() if line.startswith("Step:")]
    assert [int(line.split()[1]) for line in steps] == list(range(0, 10 * every, every))
    losses = [float(line.split()[-1]) for line in steps]
    assert losses[-1] < losses[0] / 3  # it learned
    for name in ("data.png", "decision_boundary.png", "loss.png"):
        png = tmp_path / name
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000


def test_convolutional_network_learns_the_strokes(tmp_path):
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "convolutional_network.py"), "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=300, env={"MPLBACKEND": "Agg", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    losses = [float(line.split()[-1]) for line in result.stdout.splitlines() if line.startswith("Step:")]
    assert len(losses) == 6 and losses[-1] < losses[0] / 3
    (accuracy,) = [float(line.split()[-1]) for line in result.stdout.splitlines() if line.startswith("Test accuracy:")]
    assert accuracy >= 0.95
    for name in ("loss.png", "filters.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = (tmp_path / "graph.svg").read_text(encoding="utf-8")  # one box per layer, the shapes between them
    assert all(f">{scope}</text>" in svg for scope in ("conv1", "pool1", "dropout", "fc", "loss"))
    assert ">?×12×12×8</text>" in svg and ">?×6×6×8</text>" in svg and ">?×288</text>" in svg
