"""The self-contained HTML page that steps through backpropagation: inline SVGs, its own CSS and script, no network.

Controls: Previous / Next buttons, a slider, the arrow keys (one step per key press; Home and End go to the first
and the last step). On a page of its own the keys work anywhere on the page, without clicking it first, and the
address follows the step shown (``#k`` for step k; opening ``index.html#3``, or changing the address to ``#3``,
shows step 3). In a notebook cell (``fragment=True``) the keys work once the widget has the focus and the address
is left alone. The container's ``data-current`` attribute holds the step shown; each step is a
``<section class="step">`` that is ``hidden`` unless shown, with its caption written once, above its diagram.
"""

from __future__ import annotations

import re
import uuid
from typing import Sequence

from . import style

_CSS = f"""
.symslow-steps {{ font-family: Helvetica, Arial, sans-serif; color: {style.PAGE_TEXT}; }}
.symslow-steps:focus {{ outline: 2px solid {style.PAGE_FOCUS}; outline-offset: 2px; }}
.symslow-steps .controls {{ position: sticky; top: 0; background: {style.PAGE_BACKGROUND}; padding: 6px 0;
  display: flex; gap: 8px; align-items: center; border-bottom: 1px solid {style.PAGE_RULE}; flex-wrap: wrap; }}
.symslow-steps button {{ font-size: 14px; padding: 4px 12px; }}
.symslow-steps input[type=range] {{ flex: 1; max-width: 480px; }}
.symslow-steps .hint, .symslow-steps .todo {{ color: {style.PENDING}; font-size: 13px; }}
.symslow-steps .step-caption {{ font-size: 15px; margin: 8px 0 2px; text-align: left; }}
.symslow-steps .formula {{ font-size: 15px; margin: 2px 0 2px; color: {style.LOSS_BORDER}; }}
.symslow-steps .todo {{ margin: 2px 0 8px; }}
.symslow-steps .text {{ overflow: hidden; }}
.symslow-steps .diagram svg {{ max-width: 100%; height: auto; }}
.symslow-steps.in-a-cell .diagram {{ overflow-x: auto; }}
.symslow-steps.in-a-cell .diagram svg {{ max-width: none; }}
"""

# page: true when the page is the whole document (keys anywhere, the address names the step)
_SCRIPT = """
(function () {
  var root = document.getElementById("%(id)s");
  var page = %(page)s;
  var steps = root.querySelectorAll("section.step");
  var count = steps.length;
  var slider = root.querySelector(".slider");
  var previous = root.querySelector(".previous");
  var next = root.querySelector(".next");
  var counter = root.querySelector(".counter");
  var current = 0;
  function fromAddress() {
    var k = parseInt((window.location.hash || "").slice(1), 10);
    return isNaN(k) ? null : k;
  }
  function show(k) {
    current = Math.max(1, Math.min(count, k));
    for (var i = 0; i < count; i++) { steps[i].hidden = (i !== current - 1); }
    slider.value = String(current);
    counter.textContent = "Step " + current + " of " + count;
    previous.disabled = current === 1;
    next.disabled = current === count;
    root.setAttribute("data-current", String(current));
    if (page && window.location.hash !== "#" + current) {
      window.location.replace("#" + current);  // no new history entry per step
    }
  }
  // every caption as tall as the tallest, so that the diagram below starts at the same height at every step
  function equalCaptions() {
    var texts = root.querySelectorAll("section.step > .text"), tallest = 0, i;
    for (i = 0; i < count; i++) {
      var hidden = steps[i].hidden;
      steps[i].hidden = false;
      texts[i].style.minHeight = "";
      tallest = Math.max(tallest, texts[i].offsetHeight);
      steps[i].hidden = hidden;
    }
    for (i = 0; i < count; i++) { texts[i].style.minHeight = tallest + "px"; }
  }
  equalCaptions();
  window.addEventListener("resize", equalCaptions);
  previous.addEventListener("click", function () { show(current - 1); });
  next.addEventListener("click", function () { show(current + 1); });
  slider.addEventListener("input", function () { show(parseInt(slider.value, 10)); });
  var moves = {ArrowLeft: -1, ArrowUp: -1, ArrowRight: 1, ArrowDown: 1};
  (page ? document : root).addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey) { return; }
    var to = null;
    if (event.key in moves) { to = current + moves[event.key]; }
    if (event.key === "Home") { to = 1; }
    if (event.key === "End") { to = count; }
    if (to === null) { return; }
    event.preventDefault();  // else a focused slider moves by itself too: two steps for one key
    show(to);
  });
  if (page) {
    window.addEventListener("hashchange", function () {
      var k = fromAddress();
      if (k !== null && k !== current) { show(k); }
    });
  }
  show(page ? (fromAddress() || 1) : 1);
})();
"""


def page_html(steps: Sequence, svgs: Sequence[str], fragment: bool = False, title: str = "Backpropagation, step by step",
              gif: str | None = None) -> str:
    """The page for ``steps`` (objects with ``number``, ``title``, ``formula``, ``value``, ``still_to_do``) and their
    SVGs (diagrams without a caption of their own: the page writes each step's caption above its diagram).

    ``fragment=True`` gives a ``<div>`` for a notebook cell (with a unique id) instead of a whole document. ``gif``:
    the address of an animated GIF of the steps, linked from the controls.
    """
    root = f"symslow-steps-{uuid.uuid4().hex[:12]}" if fragment else "symslow-steps"
    sections = []
    for step, svg in zip(steps, svgs):
        value = getattr(step, "value", None)
        shown = f" = {style.format_value(value)}" if value is not None and getattr(step, "kind", "") != "start" else ""
        formula = f'<p class="formula">{step.formula}{shown}</p>' if step.formula else ""
        to_do = getattr(step, "still_to_do", None)
        sections.append(
            f'<section class="step" data-step="{step.number}"{" hidden" if step.number != 1 else ""}>'
            f'<div class="text"><p class="step-caption">{step.title}</p>{formula}'
            + (f'<p class="todo">still to do: {to_do}</p>' if to_do else "")
            + f'</div><div class="diagram">{_inline_svg(svg)}</div></section>'
        )
    count = len(steps)
    ids = {name: "" if fragment else f' id="{name}"' for name in ("previous", "slider", "next", "counter")}
    hint = "← → keys, once clicked" if fragment else "← → keys"
    extra = f' <a class="gif" href="{style.escape(gif)}">animated GIF</a>' if gif else ""
    body = (
        f'<div class="symslow-steps{" in-a-cell" if fragment else ""}" id="{root}" tabindex="0" data-current="1">'
        '<div class="controls">'
        f'<button type="button" class="previous"{ids["previous"]} aria-label="Previous step">◀ Previous</button>'
        f'<input type="range" class="slider"{ids["slider"]} min="1" max="{count}" value="1" aria-label="Step">'
        f'<button type="button" class="next"{ids["next"]} aria-label="Next step">Next ▶</button>'
        f'<span class="counter"{ids["counter"]}>Step 1 of {count}</span>'
        f'<span class="hint">{hint}</span>{extra}</div>'
        + "".join(sections)
        + "</div>"
        + f"<script>{_SCRIPT % {'id': root, 'page': 'false' if fragment else 'true'}}</script>"
    )
    if fragment:
        return f"<style>{_CSS}</style>{body}"
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{style.escape(title)}</title><style>{_CSS}</style></head>"
        f"<body><h1>{style.escape(title)}</h1>{body}</body></html>\n"
    )


def _inline_svg(svg: str) -> str:
    """The ``<svg>`` element of a Graphviz SVG file (no XML prolog or DOCTYPE, comments dropped)."""
    svg = svg[svg.index("<svg"):]
    return re.sub(r"<!--.*?-->", "", svg, flags=re.S)
