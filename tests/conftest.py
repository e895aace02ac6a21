"""Shared test settings: the ``fuzz`` hypothesis profile that ``make fuzz`` runs (many more random graphs), and the
documentation site, built once for the tests that read it (test_docs.py, test_notebooks.py)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import settings

settings.register_profile(
    "fuzz", max_examples=int(os.environ.get("SYMSLOW_FUZZ_EXAMPLES", "1500")), deadline=None, print_blob=True
)
if os.environ.get("SYMSLOW_FUZZ"):
    settings.load_profile("fuzz")


@pytest.fixture(scope="session")
def docs_site(tmp_path_factory) -> Path:
    """The site, built as ``make docs`` builds it (warnings are errors), into a temporary folder."""
    root = Path(__file__).resolve().parent.parent
    out = tmp_path_factory.mktemp("docs")
    html = out / "html"
    command = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-E", "-b", "html",
               "-d", str(out / "doctrees"), str(root / "docs"), str(html)]
    env = {**os.environ, "MPLBACKEND": "Agg"}
    result = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, f"sphinx-build failed:\n{result.stdout[-5000:]}\n{result.stderr[-8000:]}"
    return html


@pytest.fixture(autouse=True)
def _registrations_stay_in_their_test():
    """A gradient a test registers with @RegisterGradient is gone after it: registrations are global."""
    from symslow.ops import registered

    before = dict(registered._registry)
    yield
    registered._registry.clear()
    registered._registry.update(before)
