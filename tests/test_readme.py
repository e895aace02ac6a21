"""The README's quick start runs as written and prints what its comments say."""

import contextlib
import io
import re
from pathlib import Path

import numpy as np

README = Path(__file__).resolve().parent.parent / "README.md"


def test_quick_start_runs_as_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the quick start writes loss-graph.svg into the current folder
    code = re.search(r"## Quick start\s+```python\n(.*?)```", README.read_text(), re.S).group(1)
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        exec(compile(code, "README.md", "exec"), {})
    lines = output.getvalue().splitlines()
    assert lines[0] == "[ 2. -1.]"
    assert "c \\odot \\log \\operatorname{softmax}\\left(b + X W\\right)" in lines[1]
    assert float(lines[2]) < 2 * np.log(2)
    assert lines[3] == "def compiled_step(feeds, variables, constants):"
    assert "<svg" in (Path.cwd() / "loss-graph.svg").read_text()
