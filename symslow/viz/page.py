"""The self-contained HTML page that steps through backpropagation: inline SVGs, its own CSS and script, no network.

Controls: Previous / Next buttons, a slider, the arrow keys; ``#k`` at the end of the address opens step k. The
container's ``data-current`` attribute holds the step shown, and each step is a ``<section class="step">`` that is
``hidden`` unless shown.
"""

from __future__ import annotations

import re
import uuid
from typing import Sequence

from . import style

_CSS = """
.symslow-steps { font-family: Helvetica, Arial, sans-serif; color: #222; }
.symslow-steps .controls { position: sticky; top: 0; background: #fff; padding: 6px 0; display: flex; gap: 8px;
  align-items: center; border-bottom: 1px solid #ddd; }
.symslow-steps button { font-size: 14px; padding: 4px 12px; }
.symslow-steps input[type=range] { flex: 1; max-width: 480px; }
.symslow-steps .caption { font-size: 15px; margin: 8px 0 2px; }
.symslow-steps .formula { font-size: 15px; margin: 2px 0 8px; color: #a50f15; }
.symslow-steps .diagram svg { max-width: 100%; height: auto; }
"""

_SCRIPT = """
(function () {
  var root = document.getElementById("%(id)s");
  var steps = root.querySelectorAll("section.step");
  var count = steps.length;
  var slider = root.querySelector(".slider");
  var previous = root.querySelector(".previous");
  var next = root.querySelector(".next");
  var counter = root.querySelector(".counter");
  var current = 1;
  function show(k) {
    current = Math.max(1, Math.min(count, k));
    for (var i = 0; i < count; i++) { steps[i].hidden = (i !== current - 1); }
    slider.value = String(current);
    counter.textContent = "Step " + current + " of " + count;
    previous.disabled = current === 1;
    next.disabled = current === count;
    root.setAttribute("data-current", String(current));
  }
  previous.addEventListener("click", function () { show(current - 1); });
  next.addEventListener("click", function () { show(current + 1); });
  slider.addEventListener("input", function () { show(parseInt(slider.value, 10)); });
  root.addEventListener("keydown", function (event) {
    if (event.key === "ArrowLeft") { show(current - 1); }
    if (event.key === "ArrowRight") { show(current + 1); }
  });
  var wanted = parseInt((window.location.hash || "").slice(1), 10);
  show(%(fragment)s || isNaN(wanted) ? 1 : wanted);
})();
"""


def _inline_svg(svg: str) -> str:
    """The ``<svg>`` element of a Graphviz SVG file (no XML prolog or DOCTYPE, comments dropped)."""
    svg = svg[svg.index("<svg"):]
    return re.sub(r"<!--.*?-->", "", svg, flags=re.S)


def page_html(steps: Sequence, svgs: Sequence[str], fragment: bool = False, title: str = "Backpropagation, step by step") -> str:
    """The page for ``steps`` (objects with ``number``, ``title``, ``formula``, ``value``) and their SVGs.

    ``fragment=True`` gives a ``<div>`` for a notebook cell (with a unique id) instead of a whole document.
    """
    root = f"symslow-steps-{uuid.uuid4().hex[:12]}" if fragment else "symslow-steps"
    sections = []
    for step, svg in zip(steps, svgs):
        value = getattr(step, "value", None)
        shown = f"<br>= {style.format_value(value)}" if value is not None else ""
        sections.append(
            f'<section class="step" data-step="{step.number}"{" hidden" if step.number != 1 else ""}>'
            f'<p class="caption"><b>Step {step.number}.</b> {step.title}</p>'
            f'<p class="formula">{step.formula}{shown}</p>'
            f'<div class="diagram">{_inline_svg(svg)}</div></section>'
        )
    count = len(steps)
    ids = {name: "" if fragment else f' id="{name}"' for name in ("previous", "slider", "next", "counter")}
    body = (
        f'<div class="symslow-steps" id="{root}" tabindex="0" data-current="1">'
        '<div class="controls">'
        f'<button type="button" class="previous"{ids["previous"]} aria-label="Previous step">◀ Previous</button>'
        f'<input type="range" class="slider"{ids["slider"]} min="1" max="{count}" value="1" aria-label="Step">'
        f'<button type="button" class="next"{ids["next"]} aria-label="Next step">Next ▶</button>'
        f'<span class="counter"{ids["counter"]}>Step 1 of {count}</span></div>'
        + "".join(sections)
        + "</div>"
        + f"<script>{_SCRIPT % {'id': root, 'fragment': 'true' if fragment else 'false'}}</script>"
    )
    if fragment:
        return f"<style>{_CSS}</style>{body}"
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{style.escape(title)}</title><style>{_CSS}</style></head>"
        f"<body><h1>{style.escape(title)}</h1>{body}</body></html>\n"
    )
