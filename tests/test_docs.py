"""The documentation site: it builds with warnings as errors, and what it shows is really there.

One Sphinx build (``sphinx-build -W``, as ``make docs`` runs it) into a temporary folder serves every test:

* each chapter holds diagrams (inline SVG drawn by Graphviz), plots (PNG images that decode and are not blank) and
  formulas, and headless Chromium, with the network cut off, typesets every formula (MathJax's output replaces the
  LaTeX source, with no error);
* no page links to a missing file or anchor, and no page loads anything from the network;
* every public name has its entry in the API reference, every example its gallery page with its images;
* each chapter's code, exported as one script, runs on its own from top to bottom, and is the code the page shows
  (no hidden helper); the page offers it as that script and as a notebook (run by test_notebooks.py);
* the home page and every chapter credit and link the tutorial symslow follows;
* screenshots of the home page and of chapter 4 are not blank (copies stay in ``docs/_build/screenshots``).
"""

from __future__ import annotations

import base64
import html as html_module
import io
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import numpy as np
import pytest

import symslow
import symslow.viz

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
CHAPTERS = [
    "01_computational_graphs",
    "02_perceptrons",
    "03_training_criterion",
    "04_backpropagation",
    "05_multi_layer_perceptrons",
    "06_tensorflow",
    "07_how_symslow_works",
]
CHAPTERS_WITH_PLOTS = {"02_perceptrons", "04_backpropagation", "05_multi_layer_perceptrons"}
PAGES_WITH_CODE = sorted(str(p.relative_to(DOCS).with_suffix("")) for p in DOCS.rglob("*.md")
                         if "_build" not in p.parts and "{symslow-run}" in p.read_text(encoding="utf-8"))
TUTORIAL = "https://www.deepideas.net/deep-learning-from-scratch-"
EXAMPLES = sorted(p.stem for p in (ROOT / "examples").glob("*.py") if not p.name.startswith("_"))
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


# the build ---------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def site(docs_site) -> Path:
    """The site, built as ``make docs`` builds it (warnings are errors), into a temporary folder (conftest.py)."""
    return docs_site


class _Page(HTMLParser):
    """What a test needs from an HTML page: ids, links, resources, diagrams, images, formulas, text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.links: list[str] = []  # <a href>
        self.resources: list[str] = []  # what the page loads: <script src>, <link href>, <img src>
        self.diagrams: list[str] = []  # the SVG markup inside each symslow-diagram div
        self.images: list[str] = []  # <img src>
        self.math = 0  # elements holding a formula for MathJax
        self.math_sources: list[str] = []
        self.text_parts: list[str] = []
        self._svg_depth = 0
        self._diagram: list[str] | None = None
        self._in_math = 0

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if "id" in attributes:
            self.ids.add(attributes["id"])
        if tag == "a" and "name" in attributes:
            self.ids.add(attributes["name"])
        if tag == "a" and attributes.get("href"):
            self.links.append(attributes["href"])
        if tag == "script" and attributes.get("src"):
            self.resources.append(attributes["src"])
        if tag == "link" and attributes.get("href") and attributes.get("rel") in ("stylesheet", "icon", "preload"):
            self.resources.append(attributes["href"])
        if tag == "img" and attributes.get("src"):
            self.resources.append(attributes["src"])
            self.images.append(attributes["src"])
        classes = (attributes.get("class") or "").split()
        if tag == "div" and "symslow-diagram" in classes:
            self._diagram = []
        if self._diagram is not None:
            self._diagram.append(self.get_starttag_text() or "")
            if tag == "svg":
                self._svg_depth += 1
        if "math" in classes and tag in ("div", "span"):
            self.math += 1
            self._in_math += 1
            self.math_sources.append("")

    def handle_endtag(self, tag):
        if self._diagram is not None:
            self._diagram.append(f"</{tag}>")
            if tag == "svg":
                self._svg_depth -= 1
            if tag == "div" and self._svg_depth == 0:
                self.diagrams.append("".join(self._diagram))
                self._diagram = None
        if self._in_math and tag in ("div", "span"):
            self._in_math -= 1

    def handle_data(self, data):
        self.text_parts.append(data)
        if self._in_math:
            self.math_sources[-1] += data

    @property
    def text(self) -> str:
        return " ".join(self.text_parts)


def parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def _png_bytes(src: str, page_path: Path) -> bytes:
    if src.startswith("data:image/png;base64,"):
        return base64.b64decode(src.split(",", 1)[1])
    return (page_path.parent / unquote(urlsplit(src).path)).read_bytes()


def _assert_not_blank(png: bytes, what: str) -> None:
    """The image decodes, and more than 1 % of it differs from its most common colour (the background)."""
    from PIL import Image

    assert png.startswith(PNG_SIGNATURE), f"{what} is not a PNG"
    image = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).reshape(-1, 3)
    colours, counts = np.unique(image, axis=0, return_counts=True)
    background = colours[np.argmax(counts)]
    ink = np.mean(np.any(image != background, axis=1))
    assert ink > 0.01, f"{what} is blank: {ink:.2%} of its pixels differ from the background"
    assert len(colours) > 8, f"{what} has only {len(colours)} colours"


# the pages ---------------------------------------------------------------------------------------------------------
def test_the_build_produces_the_chapters_the_gallery_and_the_api_pages(site):
    for page in ["index", "getting_started", "notebooks", "errors", "api/index", "auto_examples/index",
                 *(f"chapters/{c}" for c in CHAPTERS), *(f"auto_examples/{e}" for e in EXAMPLES)]:
        assert (site / f"{page}.html").is_file(), f"{page}.html was not built"
    assert (site / "_static/mathjax/tex-svg-full.js").stat().st_size > 1_000_000


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_each_chapter_holds_rendered_diagrams_plots_and_formulas(site, chapter):
    page = parse(site / "chapters" / f"{chapter}.html")
    assert page.diagrams, f"{chapter} has no diagram"
    for markup in page.diagrams:
        # Graphviz's SVG: one <g class="node"> per drawn node, each with its text
        assert markup.count('class="node"') >= 2, f"{chapter}: a diagram with fewer than two nodes"
        assert "<text" in markup and ("<polygon" in markup or "<path" in markup)
    plots = [src for src in page.images if src.startswith("data:image/png")]
    if chapter in CHAPTERS_WITH_PLOTS:
        assert plots, f"{chapter} has no plot"
    for number, src in enumerate(plots):
        _assert_not_blank(_png_bytes(src, site), f"{chapter} plot {number}")
    assert page.math >= 1, f"{chapter} has no formula"
    assert all(source.strip() for source in page.math_sources), f"{chapter}: an empty formula"


_SVG_WIDTH = re.compile(r'<svg\b[^>]*?\bwidth="([\d.]+)pt"')


def test_a_click_on_a_diagram_or_a_gallery_image_opens_its_file_at_full_size(site):
    pages = [site / "chapters" / f"{c}.html" for c in CHAPTERS] + [site / "notebooks.html"]
    for path in pages:
        for markup in parse(path).diagrams:
            link = re.match(r'<div class="symslow-diagram[^"]*"><a class="symslow-full-size" href="([^"]+)"', markup)
            assert link, f"{path.name}: a diagram that is no link: {markup[:200]}"
            svg = (path.parent / unquote(link[1])).read_text(encoding="utf-8")
            # the same drawing, at the size Graphviz gave it: the page may show a wide one smaller
            assert svg.count('class="node"') == markup.count('class="node"') >= 2, f"{path.name}: {link[1]}"
            full, shown = float(_SVG_WIDTH.search(svg)[1]), float(_SVG_WIDTH.search(markup)[1])
            assert full > shown if "symslow-wide" in markup[:60] else full == shown, f"{path.name}: {link[1]}"
    for example in EXAMPLES:
        markup = (site / "auto_examples" / f"{example}.html").read_text(encoding="utf-8")
        images = re.findall(r'<img src="([^"]+)"[^>]*class\s*=\s*"sphx-glr-(?:single|multi)-img"', markup)
        linked = re.findall(r'<a class="symslow-full-size" href="([^"]+)"[^>]*><img src="\1"', markup)
        assert images and linked == images, f"{example}: images {images}, linked {linked}"


def test_chapter_1_shows_the_affine_example_and_its_value(site):
    page = parse(site / "chapters" / "01_computational_graphs.html")
    # A x + b with A = [[1, 0], [0, -1]], b = [1, 1], x = [1, 2] is (1 + 1, -2 + 1)
    assert "[ 2. -1.]" in page.text
    assert any("b + A x" in source for source in page.math_sources)


def test_chapter_4_shows_the_order_that_works_and_the_one_that_fails(site):
    text = parse(site / "chapters" / "04_backpropagation.html").text
    assert "backprop order:    ['J', 'subtract', 'sigmoid', 'x']" in text
    assert re.search(r"x\s+consumers not done yet: \['sigmoid'\]", text)
    # 1 - s (1 - s) at x = 0 and 1, s the logistic function: 0.75 and 0.8034
    assert "[0.75" in text and "0.803" in text


def test_no_page_links_to_a_missing_target_or_loads_from_the_network(site):
    pages = sorted(site.rglob("*.html"))
    assert len(pages) > 20
    parsed = {path: parse(path) for path in pages}
    broken = []
    for path, page in parsed.items():
        for link in page.links + page.resources:
            parts = urlsplit(link)
            if parts.scheme in ("http", "https", "mailto") or link.startswith("data:"):
                continue
            target = path if not parts.path else (path.parent / unquote(parts.path)).resolve()
            if not target.exists():
                broken.append(f"{path.relative_to(site)} -> {link}")
                continue
            if parts.fragment and target.suffix == ".html":
                ids = parsed[target].ids if target in parsed else parse(target).ids
                if unquote(parts.fragment) not in ids:
                    broken.append(f"{path.relative_to(site)} -> {link} (no such anchor)")
        external = [r for r in page.resources if urlsplit(r).scheme in ("http", "https") or r.startswith("//")]
        assert not external, f"{path.relative_to(site)} loads from the network: {external}"
    assert not broken, "broken links:\n" + "\n".join(broken[:50])


def test_the_api_reference_documents_every_public_name(site):
    ids = set()
    for path in (site / "api").rglob("*.html"):
        ids |= parse(path).ids
    missing = [f"symslow.{name}" for name in symslow.__all__ if name not in ("nn", "train")
               and f"symslow.{name}" not in ids and f"module-symslow.{name}" not in ids]  # a module: its page
    missing += [f"symslow.train.{name}" for name in symslow.train.__all__ if f"symslow.train.{name}" not in ids]
    missing += [f"symslow.viz.{name}" for name in symslow.viz.__all__ if f"symslow.viz.{name}" not in ids]
    assert {"module-symslow.nn", "module-symslow.train", "module-symslow.viz"} <= ids
    assert not missing, f"not in the API reference: {missing}"
    index = parse(site / "api" / "index.html").text
    assert all(f"symslow.nn.{name}" in index for name in symslow.nn.__all__)


@pytest.mark.parametrize("example", EXAMPLES)
def test_each_example_ran_and_its_images_are_embedded_with_a_download_link(site, example):
    path = site / "auto_examples" / f"{example}.html"
    page = parse(path)
    images = [src for src in page.images if "sphx_glr_" in src and "thumb" not in src]
    assert images, f"the gallery page of {example} shows no image"
    for src in images:
        if src.endswith(".svg"):  # a diagram the example saved
            svg = (path.parent / unquote(urlsplit(src).path)).read_text(encoding="utf-8")
            assert "<svg" in svg and svg.count('class="node"') >= 2, f"{example}: {src} is not a drawn graph"
        else:
            _assert_not_blank(_png_bytes(src, path), f"{example}: {src}")
    assert any(link.endswith(f"{example}.py") for link in page.links), f"{example}: no download link"
    assert "Traceback" not in page.text


def _shown_code(page: Path) -> list[str]:
    """The code blocks a page shows from its symslow-run blocks, as text."""
    blocks = re.findall(r'<div class="symslow-code [^"]*"><div class="highlight"><pre>(.*?)</pre>',
                        page.read_text(encoding="utf-8"), re.S)
    return [html_module.unescape(re.sub(r"<[^>]+>", "", block)).rstrip("\n") for block in blocks]


@pytest.mark.parametrize("page", PAGES_WITH_CODE)
def test_the_code_a_page_runs_is_the_code_it_shows_and_is_offered_as_script_and_notebook(site, page):
    path = site / f"{page}.html"
    shown = _shown_code(path)
    assert shown, f"{page} shows no code"
    script = (site / "_scripts" / f"{page}.py").read_text(encoding="utf-8")
    docstring_end = script.index('"""', 3) + 3
    assert script[docstring_end:].strip("\n") == "\n\n".join(shown), f"{page} runs code it does not show"
    assert "show(" not in script and "show_math" not in script
    markup = path.read_text(encoding="utf-8")
    name = page.rsplit("/", 1)[-1]
    up = "../" * page.count("/")
    downloads = re.search(r'<p class="symslow-downloads">(.*?)</p>', markup, re.S)
    assert downloads, f"{page} offers no downloads"
    assert f'href="{up}_notebooks/{page}.ipynb"' in downloads[1] and f'href="{up}_scripts/{page}.py"' in downloads[1]
    assert f"{name}.ipynb" in downloads[1]
    assert markup.index("symslow-downloads") < markup.index("symslow-code")  # under the title, before the code


def test_the_tutorial_is_credited_and_linked_on_the_home_page_and_in_every_chapter(site):
    home = parse(site / "index.html")
    assert f"{TUTORIAL}theory-and-implementation/" in home.links
    assert "https://github.com/danielsabinasz/TensorSlow" in home.links
    assert "Daniel Sabinasz" in home.text
    parts = {"01_computational_graphs": "i-computational-graphs/", "02_perceptrons": "ii-perceptrons/",
             "03_training_criterion": "iii-training-criterion/",
             "04_backpropagation": "iv-gradient-descent-and-backpropagation/",
             "05_multi_layer_perceptrons": "v-multi-layer-perceptrons/"}
    for chapter in CHAPTERS:
        page = parse(site / "chapters" / f"{chapter}.html")
        assert "Daniel Sabinasz" in page.text, chapter
        expected = TUTORIAL + parts.get(chapter, "theory-and-implementation/")
        assert expected in page.links, f"{chapter} does not link {expected}"


def test_the_steps_of_backpropagation_show_as_the_widget_in_chapter_4_and_on_the_notebook_page(site):
    for page in ("chapters/04_backpropagation", "notebooks"):
        markup = (site / f"{page}.html").read_text(encoding="utf-8")
        widget = re.search(r'<div class="symslow-html"><style>.*?</script>', markup, re.S)
        assert widget, f"{page} has no step-through widget"
        assert widget[0].count('<section class="step"') >= 5 and widget[0].count("<svg") >= 5
    notebooks = parse(site / "notebooks.html")
    assert notebooks.diagrams and notebooks.math >= 2
    assert any(src.startswith("data:image/png") for src in notebooks.images)


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_each_chapter_runs_on_its_own_from_top_to_bottom(site, chapter, tmp_path):
    script = site / "_scripts" / "chapters" / f"{chapter}.py"
    assert f'href="../_scripts/chapters/{chapter}.py"' in (site / "chapters" / f"{chapter}.html").read_text()
    result = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True,
                            env={**os.environ, "MPLBACKEND": "Agg"}, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]


# in a browser, without network ---------------------------------------------------------------------------------------
def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    assert found, "Chromium is needed to check the rendered site: `make test` installs it (apt-get install chromium)"
    return found


def _browser(*arguments: str) -> subprocess.CompletedProcess:
    command = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--no-first-run", "--proxy-server=127.0.0.1:9",  # any network request fails
               "--virtual-time-budget=15000", *arguments]
    return subprocess.run(command, capture_output=True, text=True, timeout=180)


@pytest.mark.parametrize("page", ["index", "getting_started", "notebooks", *(f"chapters/{c}" for c in CHAPTERS)])
def test_the_browser_typesets_every_formula_offline(site, page):
    path = site / f"{page}.html"
    expected = parse(path).math
    result = _browser("--dump-dom", path.as_uri())
    dom = result.stdout
    assert "</html>" in dom, result.stderr[-2000:]
    typeset = len(re.findall(r"<mjx-container", dom))
    assert typeset == expected, f"{page}: MathJax typeset {typeset} of {expected} formulas"
    visible = re.sub(r"<(script|style)\b.*?</\1>", "", dom, flags=re.DOTALL)
    assert "data-mjx-error" not in visible and 'data-mml-node="merror"' not in visible, f"{page}: a LaTeX error"
    # MathJax replaces the \( \) and \[ \] of each formula with its SVG
    assert "\\(" not in visible and "\\[" not in visible, f"{page}: raw LaTeX left on the page"


@pytest.mark.parametrize("page", ["index", "chapters/04_backpropagation"])
def test_screenshots_of_the_home_page_and_chapter_4_are_not_blank(site, page):
    keep = DOCS / "_build" / "screenshots"
    keep.mkdir(parents=True, exist_ok=True)
    shot = keep / f"{page.replace('/', '_')}.png"
    shot.unlink(missing_ok=True)
    result = _browser(f"--screenshot={shot}", "--window-size=1200,2000", (site / f"{page}.html").as_uri())
    assert shot.is_file(), result.stderr[-2000:]
    _assert_not_blank(shot.read_bytes(), f"the screenshot of {page}")
