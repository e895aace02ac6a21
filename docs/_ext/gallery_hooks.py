"""sphinx-gallery hooks: the examples' command line, the images they save, a fresh default graph per example.

The examples save their plots into the folder given by ``--out`` (run as notebooks, without ``--out``, they show
them instead). Each example gets its own folder under ``docs/_build/gallery-output``; after each code block, the
images that appeared there are copied into the gallery and shown below the block, in the order they were written.
"""

from __future__ import annotations

import shutil
from pathlib import Path

IMAGE_SUFFIXES = (".png", ".svg")


def _output_dir(gallery_conf: dict, src_file: str) -> Path:
    return Path(gallery_conf["src_dir"]) / "_build" / "gallery-output" / Path(src_file).stem


def reset_argv(gallery_conf: dict, script_vars: dict) -> list[str]:
    """``--out <empty folder of this example>``."""
    out = _output_dir(gallery_conf, script_vars["src_file"])
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    return ["--out", str(out)]


def saved_images(block, block_vars: dict, gallery_conf: dict) -> str:
    """An image scraper: the PNG and SVG files the block saved into the example's ``--out`` folder."""
    from sphinx_gallery.scrapers import figure_rst

    out = _output_dir(gallery_conf, block_vars["src_file"])
    seen = block_vars.setdefault("symslow_seen_images", set())
    new = [p for p in out.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p not in seen]
    new.sort(key=lambda p: (p.stat().st_mtime_ns, str(p)))
    targets = []
    for path, target in zip(new, block_vars["image_path_iterator"]):
        target = Path(target).with_suffix(path.suffix.lower())
        shutil.copyfile(path, target)
        seen.add(path)
        targets.append(str(target))
    return figure_rst(targets, gallery_conf["src_dir"])


def reset_default_graph(gallery_conf: dict, fname: str) -> None:
    """Each example starts with a new, empty default graph."""
    import symslow

    symslow.reset_default_graph()
