"""Backpropagation step by step, as the tutorial teaches it, drawn from the gradient nodes symslow builds.

:func:`backprop_steps` walks the nodes in the order backpropagation visits them
(:func:`symslow.gradients.backprop_order`: every consumer before the node it consumes). At each node the gradient
∂J/∂node is the sum, over the node's consumers, of what each consumer passes back (its vector-Jacobian product).
The steps show that sum with the formulas of the gradient nodes :func:`symslow.compute_gradients` built, and, when
fed, the values a session computes for them. :func:`save_steps` writes the diagrams and one HTML page to page
through them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import graphviz
import sympy

from ..gradients import backprop_order, compute_gradients, topological_order
from ..graph import Node
from ..ops.base import Operation
from . import style
from .graph import diagram, node_values
from .page import page_html
from .render import render, render_svg, svg_or_none

if TYPE_CHECKING:
    from ..session import Session


@dataclass
class Contribution:
    """What one consumer passes back to a node: ∂J/∂consumer times ∂consumer/∂node (a vector-Jacobian product).

    Attributes:
        consumer: the consumer node.
        index: the argument of the consumer that the node is.
        share: the gradient node computing this contribution (``None`` if the derivative is zero).
        formula: the share's formula (unicode, escaped for HTML), in ∂J/∂consumer and the forward nodes' names.
        value: its value when fed, else ``None``.
    """

    consumer: Node
    index: int
    share: Node | None
    formula: str
    value: Any = None


@dataclass
class BackpropStep:
    """One step of backpropagation.

    Attributes:
        number: 1 for the first step.
        kind: ``"start"`` (the loss: ∂J/∂J = 1), ``"node"`` or ``"end"`` (all gradients).
        node: the node processed (``None`` for the last step).
        consumers: the node's consumers on the way to the loss (each consumer once).
        contributions: what each consumer passes back, per argument.
        gradient: the gradient node ∂J/∂node that symslow built.
        formula: ∂J/∂node as the sum of the contributions (unicode, escaped for HTML); ``text`` is plain text.
        value: the gradient's value when fed, else ``None``.
        done: nodes whose gradient is complete before this step.
        remaining: nodes still to process after this one, in order.
        diagram: the forward graph with this node highlighted (a ``graphviz.Digraph``).
    """

    number: int
    kind: str
    node: Node | None
    consumers: list[Node]
    contributions: list[Contribution]
    gradient: Node | None
    formula: str
    value: Any
    done: list[Node]
    remaining: list[Node]
    diagram: graphviz.Digraph = field(repr=False)

    @property
    def title(self) -> str:
        """A one-line caption (HTML-like fragment)."""
        if self.kind == "end":
            return "All gradients are known"
        name = style.escape(self.node.name)
        if self.kind == "start":
            return f"Start at the loss {name}: its gradient with respect to itself is 1"
        users = ", ".join(style.escape(c.name) for c in self.consumers)
        return f"Node {name}: sum what its consumers ({users}) pass back"

    @property
    def text(self) -> str:
        """The step as plain text, for terminals.

        Example:
            >>> import symslow as ts
            >>> from symslow.viz import backprop_steps
            >>> _ = ts.Graph().as_default()
            >>> x = ts.placeholder(name="x")
            >>> steps = backprop_steps(ts.reduce_sum(ts.square(x)), feed_dict={x: [1.0, 2.0]})
            >>> print(steps[2].text)
            step 3: Node x: sum what its consumers (square) pass back
            ∂J/∂x = 2·∂J/∂square·x
            = [2, 4]
        """
        lines = [f"step {self.number}: {style.html_to_text(self.title)}"]
        if self.formula:
            lines.append(style.html_to_text(self.formula))
        if self.value is not None:
            lines.append("= " + style.format_value(self.value, html_rows=False))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.text

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        svg = svg_or_none(self.diagram)
        bundle = {"text/plain": self.text}
        if svg is not None:
            bundle["image/svg+xml"] = svg
        return bundle


class BackpropSteps(list):
    """The steps of :func:`backprop_steps`: a list that displays as a step-through page in notebooks."""

    def save(self, folder: str | Path, formats: Sequence[str] = ("svg",), gif: bool = False) -> list[Path]:
        """Same as :func:`save_steps`."""
        return save_steps(self, folder, formats, gif=gif)

    def _repr_html_(self) -> str | None:
        try:
            svgs = [render_svg(step.diagram) for step in self]
        except Exception:
            return None
        return page_html(self, svgs, fragment=True)


def backprop_steps(loss: Node, feed_dict: Mapping | None = None, session: "Session | None" = None) -> BackpropSteps:
    """The steps of backpropagation from ``loss``: a first step (∂J/∂J = 1), one per node, and a last one.

    The node steps follow :func:`symslow.gradients.backprop_order`, so every consumer comes before the node it
    consumes; the loss's own step is the first. Gradient nodes are built with :func:`symslow.compute_gradients`
    (new nodes of the graph); with a ``feed_dict`` or a ``session``, each step also holds the numeric values a
    session computes for them, in one run.

    Example:
        >>> import symslow as ts
        >>> from symslow.viz import backprop_steps
        >>> _ = ts.Graph().as_default()
        >>> x = ts.placeholder(name="x")
        >>> J = ts.reduce_sum(x - ts.sigmoid(x))
        >>> steps = backprop_steps(J, feed_dict={x: [0.0]})
        >>> [step.node.name if step.node is not None else None for step in steps]
        ['reduce_sum', 'subtract', 'sigmoid', 'x', None]
        >>> print(steps[3].text)
        step 4: Node x: sum what its consumers (subtract, sigmoid) pass back
        ∂J/∂x = unbroadcast(∂J/∂subtract to x) + ∂J/∂sigmoid·sigmoid·(1 - sigmoid)
        = [0.75]
    """
    if not isinstance(loss, Node):
        raise TypeError(f"backprop_steps() takes the loss node, not {loss!r}.")
    graph = loss.graph
    first_new = len(graph.nodes)
    scope = "/".join([*graph._scope_stack(), "gradients"])
    table = compute_gradients(loss)
    order = backprop_order([loss])
    forward = topological_order([loss])
    names = {g.symbol: f"∂J/∂{style.escape(x.name)}" for x, g in table.items()}

    shares = {id(n): _shares(n, table, order, scope, first_new) for n in order}
    wanted = [*table.values(), *(c.share for cs in shares.values() for c in cs if c.share is not None)]
    values: dict = {}
    if feed_dict is not None or session is not None:
        values = node_values(topological_order([*forward, *wanted]), feed_dict, session)
    totals = set(map(id, table.values()))

    steps = BackpropSteps()
    for position, node in enumerate(order):
        gradient = table.get(node)
        contributions = shares[id(node)]
        for c in contributions:
            if c.share is not None:
                c.formula = _expanded(c.share, c.share is table.get(c.consumer), names, totals, first_new)
            else:
                c.formula = "0"
            c.value = values.get(c.share)
        if position == 0:
            formula = "∂J/∂J = 1"
        else:
            parts = [c.formula for c in contributions if c.share is not None] or ["0"]
            formula = f"∂J/∂{style.escape(node.name)} = " + " + ".join(parts)
        consumers = list(dict.fromkeys(c.consumer for c in contributions))
        step = BackpropStep(position + 1, "start" if position == 0 else "node", node, consumers, contributions,
                            gradient, formula, values.get(gradient), order[:position], order[position + 1:], None)
        step.diagram = _step_diagram(step, forward, order, table, values, len(order) + 1)
        steps.append(step)
    end = BackpropStep(len(order) + 1, "end", None, [], [], None, "", None, list(order), [], None)
    end.diagram = _step_diagram(end, forward, order, table, values, len(order) + 1)
    steps.append(end)
    return steps


def _shares(node: Node, table: Mapping[Node, Node], order: Sequence[Node], scope: str, first_new: int) -> list[Contribution]:
    """Which gradient node each consumer passed back to ``node``, found among the parts of ∂J/∂node.

    The gradient builder works on each consumer in the name scope ``gradients/<consumer>_grad``, so a part belongs
    to the consumer whose scope made it, or is the consumer's own gradient when the consumer passes it on unchanged
    (``add``).
    """
    order_ids = {id(n) for n in order}
    pairs = [(c, i) for c in order for i, x in enumerate(c.input_nodes) if x is node and id(c) in order_ids]
    total = table.get(node)
    if total is None:
        return [Contribution(c, i, None, "0") for c, i in pairs]
    own = f"{scope}/{node.name}_grad/"
    summed = total.id >= first_new and total.name.startswith(own) and total.name.rsplit("/", 1)[-1].startswith("add_n")
    parts = list(total.input_nodes) if summed and len(pairs) > 1 else [total]
    result = []
    for consumer in dict.fromkeys(c for c, _ in pairs):
        indices = [i for c, i in pairs if c is consumer]
        prefix = f"{scope}/{consumer.name}_grad/"
        mine = sorted((p for p in parts if p is table.get(consumer) or (p.id >= first_new and p.name.startswith(prefix))),
                      key=lambda p: p.id)
        if len(mine) == 1 and len(indices) > 1:
            mine = mine * len(indices)  # the same node passed back for each argument (add(x, x))
        for k, index in enumerate(indices):
            result.append(Contribution(consumer, index, mine[k] if k < len(mine) else None, ""))
    return result


def _expanded(share: Node, passed_on: bool, names: Mapping[sympy.Symbol, str], totals: set, first_new: int) -> str:
    """The share's formula, intermediate gradient nodes replaced by theirs, down to ∂J/∂… and forward nodes.

    ``passed_on``: the share is the consumer's own gradient, passed back unchanged; it reads ∂J/∂consumer.
    """
    cache: dict[int, sympy.Expr] = {}

    def expand(node: Node, top: bool) -> sympy.Expr:
        if node.id < first_new or (id(node) in totals and not top) or not isinstance(node, Operation):
            return node.symbol
        if id(node) not in cache:
            cache[id(node)] = node.expr.xreplace({i.symbol: expand(i, False) for i in node.input_nodes})
        return cache[id(node)]

    return style.formula_html(expand(share, not passed_on), names)


def _step_diagram(step: BackpropStep, forward: Sequence[Node], order: Sequence[Node], table: Mapping[Node, Node],
                  values: Mapping, count: int) -> graphviz.Digraph:
    position = {id(n): k for k, n in enumerate(order)}
    done_ids = {id(n) for n in step.done}
    rows: dict[Node, list[str]] = {}
    attrs: dict[Node, dict] = {}
    for node in forward:
        if id(node) not in position:
            continue
        k = position[id(node)] + 1
        gradient = table.get(node)
        name = style.escape(node.name)
        if id(node) in done_ids:
            row = f'<FONT COLOR="#1a9850">✓ step {k}: ∂J/∂{name} = {style.format_value(values.get(gradient))}</FONT>'
            if gradient not in values:
                row = f'<FONT COLOR="#1a9850">✓ step {k}: gradient known</FONT>'
            rows[node] = [row]
            attrs[node] = dict(style.DONE_STYLE)
        elif node is step.node:
            rows[node] = [f'<FONT COLOR="#d7301f"><B>now, step {k}</B></FONT>']
            if step.value is not None:
                rows[node].append(f'<FONT COLOR="#d7301f">∂J/∂{name} = {style.format_value(step.value)}</FONT>')
            attrs[node] = dict(style.CURRENT_STYLE)
        else:
            rows[node] = [f'<FONT COLOR="#777777">step {k}</FONT>']
    edge_labels = {}
    for c in step.contributions:
        argument = f"{c.index}: " if len(c.consumer.input_nodes) > 1 else ""
        label = f'<FONT COLOR="#d7301f">{argument}{c.formula}'
        if c.value is not None:
            label += f"<BR/>= {style.format_value(c.value)}"
        edge_labels[(c.consumer, c.index)] = label + "</FONT>"
    if step.kind == "end":
        lines = [f"Step {step.number} of {count}: all gradients are known"]
    else:
        rest = ", ".join(style.escape(n.name) for n in step.remaining[:12]) + (" …" if len(step.remaining) > 12 else "")
        lines = [f"Step {step.number} of {count}: {step.title}", step.formula,
                 f'<FONT COLOR="#777777">still to do: {rest or "nothing"}</FONT>']
    title = "".join(f'{line}<BR ALIGN="LEFT"/>' for line in lines)
    kinds = {order[0]: "loss"}
    legend = [('<FONT COLOR="#d7301f">■</FONT>', "node processed now"), ('<FONT COLOR="#1a9850">✓</FONT>', "gradient done")]
    dot = diagram(forward, values={}, kinds=kinds, rows=rows, attrs=attrs, edge_labels=edge_labels, title=title,
                  legend_extra=legend)
    return dot


def save_steps(steps: Sequence[BackpropStep], folder: str | Path, formats: Sequence[str] = ("svg",),
               gif: bool = False) -> list[Path]:
    """Write each step's diagram (``step_01.svg``, ...) and ``index.html``, a self-contained page to step through.

    The page embeds every SVG and its own script: Previous / Next buttons, a slider and the arrow keys move between
    steps; it needs no network. ``#3`` at the end of its address opens step 3. With ``gif=True`` (needs Pillow),
    also an animated ``steps.gif``.

    Returns:
        The paths written.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    width = len(str(len(steps)))
    svgs = []
    for step in steps:
        svg = render_svg(step.diagram)
        svgs.append(svg)
        for fmt in formats:
            path = folder / f"step_{step.number:0{max(width, 2)}d}.{fmt}"
            if fmt == "svg":
                path.write_text(svg, encoding="utf-8")
            elif fmt in ("dot", "gv"):
                path.write_text(step.diagram.source, encoding="utf-8")
            else:
                path.write_bytes(render(step.diagram, fmt))
            written.append(path)
    page = folder / "index.html"
    page.write_text(page_html(steps, svgs), encoding="utf-8")
    written.append(page)
    if gif:
        written.append(_save_gif(steps, folder / "steps.gif"))
    return written


def _save_gif(steps: Sequence[BackpropStep], path: Path) -> Path:
    """An animated GIF of the steps (frames padded to one size on white)."""
    import io

    from PIL import Image

    frames = [Image.open(io.BytesIO(render(step.diagram, "png"))).convert("RGB") for step in steps]
    width = max(f.width for f in frames)
    height = max(f.height for f in frames)
    padded = []
    for frame in frames:
        canvas = Image.new("RGB", (width, height), "white")
        canvas.paste(frame, (0, 0))
        padded.append(canvas)
    padded[0].save(path, save_all=True, append_images=padded[1:], duration=1500, loop=0)
    return path
