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

from ..gradients import GradientTable, backprop_order, compute_gradients, topological_order
from ..graph import Node
from ..ops.base import Operation
from . import style
from .graph import diagram, node_values
from .layout import Layout, layout_of
from .page import page_html
from .render import GraphvizNotFoundError, render, render_svg, svg_or_none

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
        diagram: the forward graph with this node highlighted and the step as its caption (a ``graphviz.Digraph``).
            The steps of one :func:`backprop_steps` share one layout: every node stays in its place.
        bare_diagram: the same without the caption, as the step-through page shows it below its own caption.
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
    bare_diagram: graphviz.Digraph | None = field(default=None, repr=False)

    @property
    def title(self) -> str:
        """A one-line caption (HTML-like fragment)."""
        if self.kind == "end":
            return "All gradients are known"
        name = style.name(self.node.name)
        if self.kind == "start":
            return f"Start at the loss {name}: its gradient with respect to itself is 1"
        users = ", ".join(style.name(c.name) for c in self.consumers)
        return f"Node {name}: sum what its consumers ({users}) pass back"

    @property
    def still_to_do(self) -> str:
        """The nodes left after this step, the first twelve (HTML-like fragment), or ``"nothing"``."""
        rest = ", ".join(style.name(n.name) for n in self.remaining[:12]) + (" …" if len(self.remaining) > 12 else "")
        return rest or "nothing"

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
    """The steps of :func:`backprop_steps`: a list that displays as a step-through page in notebooks.

    Its ``repr`` is a one-line summary; each step's ``text`` has the details.

    Example:
        >>> import symslow as ts
        >>> from symslow.viz import backprop_steps
        >>> _ = ts.Graph().as_default()
        >>> x = ts.placeholder(name="x")
        >>> backprop_steps(ts.reduce_sum(ts.square(x), name="J"), feed_dict={x: [1.0, 2.0]})
        <BackpropSteps: 4 steps from the loss 'J', with values: J, square, x, then all gradients are known>
    """

    def __repr__(self) -> str:
        names = [step.node.name for step in self if step.node is not None]
        if not names:
            return "<BackpropSteps: no steps>"
        shown = ", ".join(names[:8]) + (", …" if len(names) > 8 else "")
        fed = "with values" if any(step.value is not None for step in self) else "symbolic (nothing fed)"
        return (f"<BackpropSteps: {len(self)} steps from the loss {names[0]!r}, {fed}: {shown}, "
                "then all gradients are known>")

    def save(self, folder: str | Path, formats: Sequence[str] = ("svg",), gif: bool = True) -> list[Path]:
        """Same as :func:`save_steps`."""
        return save_steps(self, folder, formats, gif=gif)

    def _repr_html_(self) -> str | None:
        try:
            svgs = [render_svg(_bare(step)) for step in self]
        except GraphvizNotFoundError:
            return None
        return page_html(self, svgs, fragment=True)


def _bare(step: BackpropStep) -> graphviz.Digraph:
    return step.bare_diagram if step.bare_diagram is not None else step.diagram


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
    table = compute_gradients(loss)
    order = backprop_order([loss])
    forward = topological_order([loss])
    names = {g.symbol: f"∂J/∂{style.name(x.name)}" for x, g in table.items()}

    shares = {id(n): _shares(n, table, order) for n in order}
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
            formula = f"∂J/∂{style.name(node.name)} = " + " + ".join(parts)
        consumers = list(dict.fromkeys(c.consumer for c in contributions))
        steps.append(BackpropStep(position + 1, "start" if position == 0 else "node", node, consumers, contributions,
                                  gradient, formula, values.get(gradient), order[:position], order[position + 1:],
                                  None))
    steps.append(BackpropStep(len(order) + 1, "end", None, [], [], None, "", None, list(order), [], None))
    layout = _shared_layout(steps, forward, order, table, values)
    for step in steps:
        step.diagram = _step_diagram(step, forward, order, table, values, layout)
        step.bare_diagram = _step_diagram(step, forward, order, table, values, layout, titled=False)
    return steps


def _shares(node: Node, table: GradientTable, order: Sequence[Node]) -> list[Contribution]:
    """What each consumer of ``node`` passed back to it, as backpropagation recorded it (``table.shares``)."""
    order_ids = {id(n) for n in order}
    pairs = [(c, i) for c in order for i, x in enumerate(c.input_nodes) if x is node and id(c) in order_ids]
    if node not in table:
        return [Contribution(c, i, None, "0") for c, i in pairs]
    return [Contribution(c, i, table.shares.get((id(c), i)), "") for c, i in pairs]


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


_LEGEND = (('<FONT COLOR="#d7301f">■</FONT>', "node processed now"),
           ('<FONT COLOR="#1a9850">✓</FONT>', "gradient done"))


def _node_state(node: Node, state: str, k: int, table: Mapping[Node, Node], values: Mapping) -> tuple[list[str], dict]:
    """The extra label rows and the highlighting of a node whose gradient is ``"done"``, found ``"now"`` or to come."""
    gradient = table.get(node)
    name = style.name(node.name)
    known = gradient is not None and gradient in values
    if state == "done":
        text = f"∂J/∂{name} = {style.format_value(values[gradient])}" if known else "gradient known"
        return [f'<FONT COLOR="#1a9850">✓ step {k}: {text}</FONT>'], dict(style.DONE_STYLE)
    if state == "now":
        rows = [f'<FONT COLOR="#d7301f"><B>now, step {k}</B></FONT>']
        if known:
            rows.append(f'<FONT COLOR="#d7301f">∂J/∂{name} = {style.format_value(values[gradient])}</FONT>')
        return rows, dict(style.CURRENT_STYLE)
    return [f'<FONT COLOR="#777777">step {k}</FONT>'], {}


def _states(state_of, forward: Sequence[Node], order: Sequence[Node], table: Mapping[Node, Node],
            values: Mapping) -> tuple[dict, dict]:
    """Rows and attributes of every node on the way to the loss, each in the state ``state_of(node)`` says."""
    position = {id(n): k for k, n in enumerate(order)}
    rows: dict[Node, list[str]] = {}
    attrs: dict[Node, dict] = {}
    for node in forward:
        if id(node) in position:
            rows[node], attrs[node] = _node_state(node, state_of(node), position[id(node)] + 1, table, values)
    return rows, attrs


def _contribution_label(c: Contribution) -> str:
    argument = f"{c.index}: " if len(c.consumer.input_nodes) > 1 else ""
    label = f'<FONT COLOR="#d7301f">{argument}{c.formula}'
    if c.value is not None:
        label += f"<BR/>= {style.format_value(c.value)}"
    return label + "</FONT>"


def _caption(step: BackpropStep, count: int) -> str:
    # three lines at every step, so that the caption pushes the graph down by the same height in every picture
    if step.kind == "end":
        lines = [f"Step {step.number} of {count}: all gradients are known", "backpropagation is done"]
    else:
        lines = [f"Step {step.number} of {count}: {step.title}", step.formula]
    lines.append(f'<FONT COLOR="#777777">still to do: {step.still_to_do}</FONT>')
    return "".join(f'{line}<BR ALIGN="LEFT"/>' for line in lines)


def _step_diagram(step: BackpropStep, forward: Sequence[Node], order: Sequence[Node], table: Mapping[Node, Node],
                  values: Mapping, layout: Layout | None, titled: bool = True) -> graphviz.Digraph:
    done = {id(n) for n in step.done}
    rows, attrs = _states(lambda n: "done" if id(n) in done else "now" if n is step.node else "future",
                          forward, order, table, values)
    edge_labels = {(c.consumer, c.index): _contribution_label(c) for c in step.contributions}
    return diagram(forward, values={}, kinds={order[0]: "loss"}, rows=rows, attrs=attrs, edge_labels=edge_labels,
                   title=_caption(step, len(order) + 1) if titled else None, legend_extra=_LEGEND, layout=layout)


def _shared_layout(steps: Sequence[BackpropStep], forward: Sequence[Node], order: Sequence[Node],
                   table: Mapping[Node, Node], values: Mapping) -> Layout | None:
    """One layout for all the steps (``None`` without Graphviz, whose ``dot`` lays it out).

    Each node is made as large as its largest label in any step (measured by laying out the graph with every node
    in each state), and every edge has the label it has at its step, so that each step fits where the layout put it.
    """
    kinds = {order[0]: "loss"}
    try:
        measured = [layout_of(diagram(forward, values={}, kinds=kinds, rows=rows, attrs=attrs, legend_extra=_LEGEND))
                    for rows, attrs in (_states(lambda n, s=state: s, forward, order, table, values)
                                        for state in ("future", "now", "done"))]
    except GraphvizNotFoundError:
        return None
    rows, attrs = _states(lambda n: "now", forward, order, table, values)
    for node in rows:
        sizes = [m.size(style.node_id(node)) for m in measured]
        attrs[node].update(width=f"{max(w for w, _ in sizes):.4f}", height=f"{max(h for _, h in sizes):.4f}",
                           fixedsize="true")
    labels = {(c.consumer, c.index): _contribution_label(c) for step in steps for c in step.contributions}
    return layout_of(diagram(forward, values={}, kinds=kinds, rows=rows, attrs=attrs, edge_labels=labels,
                             legend_extra=_LEGEND))


def save_steps(steps: Sequence[BackpropStep], folder: str | Path, formats: Sequence[str] = ("svg",),
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


def _save_gif(steps: Sequence[BackpropStep], path: Path, seconds_per_step: float = 1.5) -> Path:
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
