"""The ``symslow`` command: help texts, and ``symslow demo --out DIR`` writing the files it lists."""

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

SCRIPT = Path(sys.executable).with_name("symslow")


def run(*args, timeout=300):
    env = {**os.environ, "MPLBACKEND": "Agg"}
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=env)


def test_console_script_and_module_help():
    assert SCRIPT.exists(), f"the console script {SCRIPT} is not installed: pip install -e ."
    for command in ([str(SCRIPT), "--help"], [sys.executable, "-m", "symslow", "--help"]):
        done = run(*command)
        assert done.returncode == 0, done.stderr
        assert "usage: symslow" in done.stdout and "demo" in done.stdout and "multi-layer perceptron" in done.stdout


def test_demo_help_says_what_it_writes():
    done = run(str(SCRIPT), "demo", "--help")
    assert done.returncode == 0
    text = " ".join(done.stdout.split())
    for words in ("--out DIR", "decision-boundary", "loss curve", "gradient graph", "step of backpropagation", "HTML"):
        assert words in text


def test_no_command_prints_help_and_fails():
    done = run(str(SCRIPT))
    assert done.returncode == 2 and "usage: symslow" in done.stdout


def nodes_reached_from_the_loss():
    from symslow.cli import build_mlp

    seen, stack = set(), [build_mlp()["J"]]
    while stack:
        node = stack.pop()
        if id(node) not in seen:
            seen.add(id(node))
            stack.extend(node.input_nodes)
    return seen


def test_demo_writes_the_files_it_lists(tmp_path):
    out = tmp_path / "demo"
    done = run(str(SCRIPT), "demo", "--out", str(out))
    assert done.returncode == 0, done.stderr[-3000:]
    listed = [Path(line.split("  (")[0].strip()) for line in done.stdout.splitlines() if line.startswith("  " + str(out))]
    names = {p.relative_to(out).as_posix() for p in listed}
    assert {"data.png", "decision_boundary.png", "loss.png", "forward_graph.svg", "gradient_graph.svg",
            "backprop/index.html", "backprop/step_01.svg", "backprop/steps.gif"} <= names
    steps = sorted(n for n in names if re.fullmatch(r"backprop/step_\d+\.svg", n))
    assert len(steps) == len(nodes_reached_from_the_loss()) + 1  # one per node (the loss first) and the summary
    assert f"Wrote {len(listed)} files into {out}" in done.stdout
    for path in listed:
        assert path.is_file() and path.stat().st_size > 0, path
        if path.suffix == ".png":
            assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        elif path.suffix == ".svg":
            assert ET.parse(path).getroot().tag.endswith("svg")
        elif path.suffix == ".gif":
            assert path.read_bytes()[:6] == b"GIF89a"
    assert sorted(p.name for p in out.rglob("*") if p.is_file()) == sorted(p.name for p in listed)
    # the tutorial's MLP learns the XOR-like data: the loss falls and the accuracy is reported
    losses = [float(x) for x in re.findall(r"loss (\d+\.\d+)", done.stdout)]
    assert losses[0] > 10 * losses[-1]
    accuracy = int(re.search(r"training accuracy (\d+)%", done.stdout)[1])
    assert accuracy >= 90


def test_demo_without_graphviz_says_how_to_install(tmp_path):
    bare = tmp_path / "bin"  # a PATH without dot (the console script runs by its full path)
    bare.mkdir()
    done = subprocess.run([str(SCRIPT), "demo", "--out", str(tmp_path / "out"), "--steps", "10"],
                          capture_output=True, text=True, env={**os.environ, "PATH": str(bare), "MPLBACKEND": "Agg"},
                          timeout=300)
    assert done.returncode == 1, done.stderr[-2000:]
    assert "apt-get install graphviz" in done.stderr


def test_version():
    import symslow

    done = run(str(SCRIPT), "--version")
    assert done.returncode == 0 and done.stdout.strip() == f"symslow {symslow.__version__}"


def test_demo_into_a_path_it_cannot_write_says_why_without_a_traceback(tmp_path):
    a_file = tmp_path / "results.txt"
    a_file.write_text("kept")
    for out, why in ((a_file, "it is a file, not a folder"), (a_file / "sub", "Not a directory")):
        done = run(str(SCRIPT), "demo", "--out", str(out), "--steps", "0")
        assert done.returncode == 1
        assert "Traceback" not in done.stderr
        assert f"cannot write into --out {str(out)!r}: {why}" in done.stderr
    assert a_file.read_text() == "kept"
