"""Every notebook the documentation ships runs from top to bottom in a fresh Jupyter kernel, without an error.

The site (built once, conftest.py) offers each page with code as ``_notebooks/<page>.ipynb`` and each gallery
example as sphinx-gallery's ``.ipynb`` download. Each is executed with ``nbclient`` in a new kernel, in an empty
folder, with matplotlib left to choose its backend as in Jupyter (the inline one): a cell that raises fails the test
with the cell and its traceback. What the cells show is checked too: formulas as LaTeX, diagrams as SVG, the steps
of backpropagation as the HTML widget, every plot as one PNG (not twice: a figure shows once).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat", reason="the notebook tests need the test extra: pip install -e '.[test]'")
from nbclient import NotebookClient  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = sorted(str(p.relative_to(DOCS).with_suffix("")) for p in DOCS.rglob("*.md")
               if "_build" not in p.parts and "{symslow-run}" in p.read_text(encoding="utf-8"))
EXAMPLES = sorted(p.stem for p in (ROOT / "examples").glob("*.py") if not p.name.startswith("_"))
sys.path.insert(0, str(DOCS / "_ext"))

from symslow_notebook import notebook as page_notebook  # noqa: E402


def execute(path: Path, folder: Path, monkeypatch) -> nbformat.NotebookNode:
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel picks matplotlib's inline backend, as Jupyter does
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(folder)}}).execute()
    return nb


def outputs(nb, mime: str) -> list[tuple[int, object]]:
    return [(k, out["data"][mime]) for k, cell in enumerate(nb.cells) if cell.cell_type == "code"
            for out in cell.outputs if "data" in out and mime in out["data"]]


def assert_each_figure_shows_once(nb) -> None:
    for k, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        pngs = [out["data"]["image/png"] for out in cell.outputs if "data" in out and "image/png" in out["data"]]
        assert len(pngs) == len(set(pngs)), f"cell {k} shows the same figure twice:\n{cell.source}"
        for out in cell.outputs:  # a figure that showed as its text only
            data = out.get("data", {})
            assert not (data.get("text/plain", "").startswith("<Figure size") and "image/png" not in data), k


@pytest.mark.parametrize("page", PAGES)
def test_each_page_with_code_is_a_notebook_that_runs(docs_site, page, tmp_path, monkeypatch):
    path = docs_site / "_notebooks" / f"{page}.ipynb"
    nb = execute(path, tmp_path, monkeypatch)
    source = (DOCS / f"{page}.md").read_text(encoding="utf-8")
    code = [cell.source for cell in nb.cells if cell.cell_type == "code"]
    assert len(code) == source.count("```{symslow-run}"), "a block of the page is missing from its notebook"
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
    assert "{symslow-run}" not in "".join(c.source for c in nb.cells) and "{func}`" not in nb.cells[0].source
    assert_each_figure_shows_once(nb)
    if page.startswith("chapters/0") and page != "chapters/06_tensorflow":
        assert outputs(nb, "image/svg+xml"), f"{page}: no diagram shown"
    if page in ("chapters/02_perceptrons", "chapters/04_backpropagation", "chapters/05_multi_layer_perceptrons",
                "notebooks"):
        assert outputs(nb, "image/png"), f"{page}: no plot shown"
    if page in ("index", "chapters/04_backpropagation", "notebooks"):
        assert any(latex.startswith("$\\displaystyle") for _, latex in outputs(nb, "text/latex"))
    if page in ("chapters/04_backpropagation", "notebooks"):
        assert any('class="symslow-steps in-a-cell"' in html for _, html in outputs(nb, "text/html")), "no widget"


@pytest.mark.parametrize("example", EXAMPLES)
def test_each_gallery_notebook_runs(docs_site, example, tmp_path, monkeypatch):
    (path,) = (docs_site / "_downloads").glob(f"*/{example}.ipynb")
    nb = execute(path, tmp_path, monkeypatch)
    plots = {"perceptron": 3, "multi_layer_perceptron": 3,  # the data, the decision boundary, the loss curve
             "convolutional_network": 2}  # the loss curve, the filters
    assert len(outputs(nb, "image/png")) == plots[example]
    assert_each_figure_shows_once(nb)
    printed = "".join(out.get("text", "") for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs)
    assert "Step: 0" in printed
    assert list(tmp_path.iterdir()) == []  # without --out, a notebook saves nothing


def test_a_page_becomes_markdown_and_code_cells():
    page = "\n".join([
        "# A title", "", "(anchor)=", "Prose with {func}`symslow.latex`, {doc}`a page <other>` and {doc}`other`.", "",
        "```{symslow-run}", ":hide-code:", "x = 1", "", "x + 1", "```", "", "::::{container} box", "",
        "```python", "shown, not run", "```", "::::", "", "```{toctree}", "chapters/one", "```", "",
        "```{symslow-run}", "print(x)", "```",
    ])
    nb = page_notebook(page, title_of=lambda target: f"<{target}>")
    assert [(c["cell_type"], c["source"]) for c in nb["cells"]] == [
        ("markdown", "# A title\n\nProse with `symslow.latex`, a page and <other>."),
        ("code", "x = 1\n\nx + 1"),
        ("markdown", "```python\nshown, not run\n```"),
        ("code", "print(x)"),
    ]
    nbformat.validate(nbformat.from_dict(nb))
