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

from ..gradients import GradientTable, backprop_order, compute_gradients
from ..graph import Node, topological_order
from ..ops.base import Operation
from . import style
from .graph import diagram, node_values
from .layout import Layout, layout_of
from .page import page_html
from .render import GraphvizNotFoundError, render, render_svg, svg_or_none
from .scopes import Grouping, Scope, group_by_scope

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
        kind: ``"start"`` (the loss: ∂J/∂J = 1), ``"node"``, ``"layer"`` (all nodes of a name scope, for
            ``backprop_steps(..., by="layer")``) or ``"end"`` (all gradients).
        node: the node processed (``None`` for a layer and for the last step).
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
        layer: the name scope a layer step goes through (``None`` for the others).
        parts: a layer step's nodes, one step each (with their formulas, gradients and values), in order.
        remaining_layers: in steps by layer, the layers and the nodes outside any, still to process.
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
    layer: str | None = None
    parts: list["BackpropStep"] = field(default_factory=list, repr=False)
    remaining_layers: list[str] = field(default_factory=list)

    @property
    def title(self) -> str:
        """A one-line caption (HTML-like fragment)."""
        if self.kind == "end":
            return "All gradients are known"
        if self.kind == "layer":
            return _layer_title(self)
        name = style.name(self.node.name)
        if self.kind == "start":
            return f"Start at the loss {name}: its gradient with respect to itself is 1"
        users = ", ".join(style.name(c.name) for c in self.consumers)
        return f"Node {name}: sum what its consumers ({users}) pass back"

    @property
    def still_to_do(self) -> str:
        """The nodes left after this step, the first twelve (HTML-like fragment), or ``"nothing"``."""
        left = self.remaining_layers or [n.name for n in self.remaining]
        rest = ", ".join(style.name(name) for name in left[:12]) + (" …" if len(left) > 12 else "")
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
        names = [step.node.name if step.node is not None else step.layer for step in self if step.kind != "end"]
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


def backprop_steps(loss: Node, feed_dict: Mapping | None = None, session: "Session | None" = None, *,
                   by: str = "node") -> BackpropSteps:
    """The steps of backpropagation from ``loss``: a first step (∂J/∂J = 1), one per node, and a last one.

    The node steps follow :func:`symslow.gradients.backprop_order`, so every consumer comes before the node it
    consumes; the loss's own step is the first. Gradient nodes are built with :func:`symslow.compute_gradients`
    (new nodes of the graph); with a ``feed_dict`` or a ``session``, each step also holds the numeric values a
    session computes for them, in one run.

    ``by="layer"`` takes one step per name scope instead (a layer of ``tf.layers``, a ``tf.name_scope``), finding
    the gradients of all the nodes in it (its ``parts``), and draws each scope closed, as :func:`draw` does; a node
    in no scope keeps a step of its own. Every layer comes after the layers that consume it.

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

        By layer, a name scope is one step:

        >>> with ts.name_scope("layer"):
        ...     h = ts.tanh(2.0 * x)
        >>> steps = backprop_steps(ts.reduce_sum(h, name="K"), feed_dict={x: [0.0, 1.0]}, by="layer")
        >>> [step.layer or step.node.name for step in steps[:-1]]
        ['K', 'layer', 'x']
        >>> print(steps[1].text)
        step 2: Layer layer: the gradients of its 3 nodes, from what its consumers (K) pass back
        ∂J/∂layer/tanh = broadcast(1 to layer/tanh) = [1, 1]
        ∂J/∂layer/multiply = ∂J/∂layer/tanh·(1 - layer/tanh²) = [1, 0.0707]
        ∂J/∂layer/Const = unbroadcast(∂J/∂layer/multiply·x to 2) = 0.0707
    """
    if not isinstance(loss, Node):
        raise TypeError(f"backprop_steps() takes the loss node, not {loss!r}.")
    if by not in ("node", "layer"):
        raise ValueError(f"backprop_steps(): by is 'node' or 'layer', not {by!r}.")
    graph = loss.graph
    first_new = len(graph.nodes)
    table = compute_gradients(loss)
    order = backprop_order([loss])
    forward = topological_order([loss])
    names: dict = {}
    for x, g in table.items():  # a gradient passed on unchanged (by add) keeps the name of the first node it is of
        names.setdefault(g.symbol, f"∂J/∂{style.name(x.name)}")

    shares = {id(n): _shares(n, table, order) for n in order}
    wanted = [*table.values(), *(c.share for cs in shares.values() for c in cs if c.share is not None)]
    values: dict = {}
    if feed_dict is not None or session is not None:
        values = node_values(topological_order([*forward, *wanted]), feed_dict, session)
    totals = set(map(id, table.values()))

    steps = _node_steps(order, table, shares, values, names, totals, first_new)
    grouping = group_by_scope(forward, collapse=True, who="backprop_steps") if by == "layer" else None
    if grouping is not None:
        return _layer_steps(steps, grouping, forward, order, table, values)
    layout = _shared_layout(steps, forward, order, table, values)
    for step in steps:
        step.diagram = _step_diagram(step, forward, order, table, values, layout)
        step.bare_diagram = _step_diagram(step, forward, order, table, values, layout, titled=False)
    return steps


def _node_steps(order: Sequence[Node], table: GradientTable, shares: dict, values: dict, names: dict, totals: set,
                first_new: int) -> BackpropSteps:
    """The steps without their diagrams: the loss's (∂J/∂J = 1), one per node in ``order``, and the last."""
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


_LEGEND = ((style.coloured("■", style.NOW), "node processed now"),
           (style.coloured("✓", style.DONE), "gradient done"))


def _node_state(node: Node, state: str, k: int, table: Mapping[Node, Node], values: Mapping) -> tuple[list[str], dict]:
    """The extra label rows and the highlighting of a node whose gradient is ``"done"``, found ``"now"`` or to come."""
    gradient = table.get(node)
    name = style.name(node.name)
    known = gradient is not None and gradient in values
    if state == "done":
        text = f"∂J/∂{name} = {style.format_value(values[gradient])}" if known else "gradient known"
        return [style.coloured(f"✓ step {k}: {text}", style.DONE)], dict(style.DONE_STYLE)
    if state == "now":
        rows = [style.coloured(f"<B>now, step {k}</B>", style.NOW)]
        if known:
            rows.append(style.coloured(f"∂J/∂{name} = {style.format_value(values[gradient])}", style.NOW))
        return rows, dict(style.CURRENT_STYLE)
    return [style.coloured(f"step {k}", style.PENDING)], {}


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
    label = f"{argument}{c.formula}"
    if c.value is not None:
        label += f"<BR/>= {style.format_value(c.value)}"
    return style.coloured(label, style.NOW)


def _caption(step: BackpropStep, count: int) -> str:
    # three lines at every step, so that the caption pushes the graph down by the same height in every picture
    if step.kind == "end":
        lines = [f"Step {step.number} of {count}: all gradients are known", "backpropagation is done"]
    else:
        lines = [f"Step {step.number} of {count}: {step.title}", step.formula]
    lines.append(style.coloured(f"still to do: {step.still_to_do}", style.PENDING))
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


# steps by layer ------------------------------------------------------------------------------------------------------
def _layer_steps(node_steps: Sequence[BackpropStep], grouping: Grouping, forward: Sequence[Node],
                 order: Sequence[Node], table: Mapping[Node, Node], values: Mapping) -> BackpropSteps:
    """The node steps gathered into one step per closed scope of ``grouping`` (and one per node in no scope), drawn
    with the scopes closed, all on one layout."""
    position = {id(n): k for k, n in enumerate(order)}
    items: dict[str, Node | Scope] = {}  # what each step goes through, by its DOT id
    members: dict[str, list[Node]] = {}
    for node in order:
        item = grouping.shown(node)
        items.setdefault(grouping.ident(item), item)
        members.setdefault(grouping.ident(item), []).append(node)
    units = _consumers_first(members, {id(n): grouping.ident(grouping.shown(n)) for n in order}, position)
    label = {u: items[u].name for u in units}

    steps = BackpropSteps()
    done: list[Node] = []
    for k, u in enumerate(units):
        parts = [node_steps[position[id(n)]] for n in members[u]]
        rest = [n for v in units[k + 1:] for n in members[v]]
        left = [label[v] for v in units[k + 1:]]
        if isinstance(items[u], Scope):
            inside = {id(n) for n in members[u]}
            contributions = [c for p in parts for c in p.contributions if id(c.consumer) not in inside]
            # one line per node: a value's rows on one line too
            lines = [p.formula + (f" = {style.format_value(p.value, html_rows=False).replace(chr(10), '')}"
                                  if p.value is not None and p.kind != "start" else "") for p in parts]
            step = BackpropStep(k + 1, "layer", None, list(dict.fromkeys(c.consumer for c in contributions)),
                                contributions, None, "<BR/>".join(lines), None, list(done), rest, None,
                                layer=items[u].name, parts=parts, remaining_layers=left)
        else:
            p = parts[0]
            step = BackpropStep(k + 1, p.kind, p.node, p.consumers, p.contributions, p.gradient, p.formula, p.value,
                                list(done), rest, None, remaining_layers=left)
        done.extend(members[u])
        steps.append(step)
    steps.append(BackpropStep(len(units) + 1, "end", None, [], [], None, "", None, list(done), [], None))

    number = {u: k + 1 for k, u in enumerate(units)}
    drawn = {u: items[u] for u in units}
    height = max(len(step.formula.split("<BR/>")) for step in steps)
    layout = _layer_layout(steps, grouping, drawn, number, forward, order, table, values)
    if layout is not None:
        _widen(layout, [_layer_caption(step, len(steps), height) for step in steps])
    for step in steps:
        current = step.number - 1
        state_of = lambda u, c=current: "done" if number[u] - 1 < c else "now" if number[u] - 1 == c else "future"
        for titled in (True, False):
            rows, attrs = _unit_states(state_of, drawn, number, grouping, table, values)
            edge_labels = {(c.consumer, c.index): _contribution_label(c) for c in step.contributions}
            picture = diagram(forward, values={}, kinds={order[0]: "loss"}, rows=rows, attrs=attrs,
                              edge_labels=edge_labels, legend_extra=_LEGEND, layout=layout, grouping=grouping,
                              title=_layer_caption(step, len(steps), height) if titled else None)
            if titled:
                step.diagram = picture
            else:
                step.bare_diagram = picture
    return steps


def _consumers_first(members: Mapping[str, list[Node]], unit_of: Mapping[int, str],
                     position: Mapping[int, int]) -> list[str]:
    """The units (layers and single nodes) in an order where every unit comes after those consuming it, ties going
    the way backpropagation visits their first nodes. (The units form no cycle: see :mod:`symslow.viz.scopes`.)"""
    import heapq

    waiting = {u: set() for u in members}  # the units that consume u and are not processed yet
    feeds: dict[str, set[str]] = {u: set() for u in members}
    for u, nodes in members.items():
        for node in nodes:
            for consumer in node.consumers:
                v = unit_of.get(id(consumer))
                if v is not None and v != u:
                    waiting[u].add(v)
                    feeds[v].add(u)
    ready = [(position[id(members[u][0])], u) for u in members if not waiting[u]]
    heapq.heapify(ready)
    result = []
    while ready:
        _, u = heapq.heappop(ready)
        result.append(u)
        for w in feeds[u]:
            waiting[w].discard(u)
            if not waiting[w]:
                heapq.heappush(ready, (position[id(members[w][0])], w))
    return result


def _layer_state(scope: Scope, members: Sequence[Node], state: str, k: int, table: Mapping[Node, Node],
                 values: Mapping) -> tuple[list[str], dict]:
    """The extra rows and the highlighting of a layer's box: its step, and its Variables' gradients once known."""
    from ..leaves import Variable

    colour = {"done": style.DONE, "now": style.NOW}.get(state)
    if colour is None:
        return [style.coloured(f"step {k}", style.PENDING)], {}
    head = f"✓ step {k}" if state == "done" else f"<B>now, step {k}</B>"
    rows = [style.coloured(head, colour)]
    for node in members:
        gradient = table.get(node)
        if isinstance(node, Variable) and gradient is not None and gradient in values:
            short = node.name[len(scope.name) + 1:] if node.name.startswith(scope.name + "/") else node.name
            rows.append(style.coloured(f"∂J/∂{style.name(short)} = {style.format_value(values[gradient])}", colour))
    return rows, dict(style.DONE_STYLE if state == "done" else style.CURRENT_STYLE)


def _unit_states(state_of, drawn: Mapping[str, Node | Scope], number: Mapping[str, int], grouping: Grouping,
                 table: Mapping[Node, Node], values: Mapping) -> tuple[dict, dict]:
    """Rows and attributes of every layer box and single node, each in the state ``state_of(unit)`` says."""
    rows: dict = {}
    attrs: dict = {}
    for u, item in drawn.items():
        if isinstance(item, Scope):
            rows[item], attrs[item] = _layer_state(item, grouping.members[item], state_of(u), number[u], table, values)
        else:
            rows[item], attrs[item] = _node_state(item, state_of(u), number[u], table, values)
    return rows, attrs


def _layer_layout(steps: Sequence[BackpropStep], grouping: Grouping, drawn: Mapping[str, Node | Scope],
                  number: Mapping[str, int], forward: Sequence[Node], order: Sequence[Node],
                  table: Mapping[Node, Node], values: Mapping) -> Layout | None:
    """One layout for all the layer steps, each box and node as large as its largest label (as :func:`_shared_layout`
    does for node steps)."""
    def laid(rows: dict, attrs: dict, labels: Mapping | None = None) -> Layout:
        return layout_of(diagram(forward, values={}, kinds={order[0]: "loss"}, rows=rows, attrs=attrs,
                                 edge_labels=labels, legend_extra=_LEGEND, grouping=grouping))

    try:
        measured = [laid(*_unit_states(lambda u, s=state: s, drawn, number, grouping, table, values))
                    for state in ("future", "now", "done")]
    except GraphvizNotFoundError:
        return None
    rows, attrs = _unit_states(lambda u: "now", drawn, number, grouping, table, values)
    for item in rows:
        sizes = [m.size(grouping.ident(item)) for m in measured]
        attrs[item].update(width=f"{max(w for w, _ in sizes):.4f}", height=f"{max(h for _, h in sizes):.4f}",
                           fixedsize="true")
    labels = {(c.consumer, c.index): _contribution_label(c) for step in steps for c in step.contributions}
    return laid(rows, attrs, labels)


def _widen(layout: Layout, captions: Sequence[str]) -> None:
    """Make the layout as wide as the widest caption: under a wider caption, Graphviz would centre the graph and move
    every node in that picture."""
    probe = graphviz.Digraph()
    probe.attr("graph", label=f"<{''.join(captions)}>", labelloc="t", labeljust="l", fontsize="14",
               fontname=style.FONT)
    probe.node("probe", label="", shape="point", width="0", height="0")
    left, _, right, _ = (float(v) for v in layout_of(probe).bb.split(","))
    x0, y0, x1, y1 = (float(v) for v in layout.bb.split(","))
    layout.bb = f"{x0},{y0},{max(x1, x0 + right - left)},{y1}"


def _layer_title(step: BackpropStep) -> str:
    name = style.name(step.layer)
    count = f"{len(step.parts)} node{'s' if len(step.parts) > 1 else ''}"
    if step.parts and step.parts[0].kind == "start":
        loss = style.name(step.parts[0].node.name)
        return f"Layer {name}: start at the loss {loss}, then the gradients of its {count}"
    users = ", ".join(style.name(c.name) for c in step.consumers)
    return f"Layer {name}: the gradients of its {count}, from what its consumers ({users}) pass back"


def _layer_caption(step: BackpropStep, count: int, height: int) -> str:
    # as many lines at every step (the formulas of the largest layer's nodes), so that every picture's graph sits
    # at the same height
    if step.kind == "end":
        lines = [f"Step {step.number} of {count}: all gradients are known", "backpropagation is done"]
    else:
        lines = [f"Step {step.number} of {count}: {step.title}", *step.formula.split("<BR/>")]
    lines += [" "] * (height + 1 - len(lines))
    lines.append(style.coloured(f"still to do: {step.still_to_do}", style.PENDING))
    return "".join(f'{line}<BR ALIGN="LEFT"/>' for line in lines)
