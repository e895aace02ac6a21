"""The steps of backpropagation written as files: each step's diagram, the page that steps through them, and an
animated GIF of them."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import graphviz

from .page import page_html
from .render import render


def _bare(step: Any) -> graphviz.Digraph:
    return step.bare_diagram if step.bare_diagram is not None else step.diagram


def save_steps(steps: Sequence[Any], folder: str | Path, formats: Sequence[str] = ("svg",),
               gif: bool = True) -> list[Path]:
    """Write each step's diagram (``step_01.svg``, ...), ``index.html`` to step through them, and ``steps.gif``.

    The page is self-contained (every SVG inline, its own script, no network): Previous / Next buttons, a slider
    and the arrow keys (anywhere on the page) move one step; the address ends in ``#k`` for step k, so that a step
    can be bookmarked or linked, and opening ``index.html#3`` shows step 3. All steps share one layout, so a node
    keeps its place from step to step. ``steps.gif`` (``gif=False``: not written) is the same steps, animated,
    for where a page cannot go; the page links to it.

    Returns:
        The paths written: the step files, the page, the GIF.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    width = max(len(str(len(steps))), 2)
    for fmt in formats:
        paths = [folder / f"step_{step.number:0{width}d}.{fmt}" for step in steps]
        if fmt in ("dot", "gv"):
            for path, step in zip(paths, steps):
                path.write_text(step.diagram.source, encoding="utf-8")
        else:
            for path, image in zip(paths, _render_all([step.diagram for step in steps], fmt)):
                path.write_bytes(image)
        written.extend(paths)
    page = folder / "index.html"
    svgs = [svg.decode("utf-8") for svg in _render_all([_bare(step) for step in steps], "svg")]
    page.write_text(page_html(steps, svgs, gif="steps.gif" if gif else None), encoding="utf-8")
    written.append(page)
    if gif:
        written.append(_save_gif(steps, folder / "steps.gif"))
    return written


def _render_all(diagrams: Sequence[graphviz.Digraph], fmt: str, dpi: float | None = None) -> list[bytes]:
    """Render the diagrams, several Graphviz processes at a time."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(lambda d: render(d, fmt, dpi), diagrams))


GIF_WIDTH = 1000  # pixels at most: a wide graph's frames are drawn smaller, not wider


def _save_gif(steps: Sequence[Any], path: Path, seconds_per_step: float = 1.5) -> Path:
    """An animated GIF of the steps, each with its caption (frames padded to one size on white, from the top left,
    where the shared layout and the captions of equal height keep every node at the same pixels)."""
    import io

    from PIL import Image

    layout = getattr(steps[0].diagram, "layout", None)
    dpi = 96.0
    if layout is not None:  # its width in points, 72 to the inch
        left, _, right, _ = (float(v) for v in layout.bb.split(","))
        dpi = min(dpi, GIF_WIDTH / ((right - left) / 72 + 0.2))
    frames = [Image.open(io.BytesIO(png)).convert("RGB") for png in _render_all([s.diagram for s in steps], "png", dpi)]
    width = max(f.width for f in frames)
    height = max(f.height for f in frames)
    padded = []
    for frame in frames:
        canvas = Image.new("RGB", (width, height), "white")
        canvas.paste(frame, (0, 0))
        padded.append(canvas.quantize(colors=64, method=Image.Quantize.FASTOCTREE))  # fast; the diagrams have few colours
    padded[0].save(path, save_all=True, append_images=padded[1:], duration=int(seconds_per_step * 1000), loop=0)
    return path
