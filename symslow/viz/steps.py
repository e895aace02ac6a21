"""A step of backpropagation, as :func:`~symslow.viz.backprop_steps` returns it: what a consumer passes back
(:class:`Contribution`), one step (:class:`BackpropStep`) and the list of them (:class:`BackpropSteps`), with the
label rows a node shows in a step's diagram."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import graphviz

from ..graph import Node
from . import style
from .files import _bare, save_steps
from .page import page_html
from .render import GraphvizNotFoundError, render_svg, svg_or_none


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


def _layer_title(step: BackpropStep) -> str:
    name = style.name(step.layer)
    count = f"{len(step.parts)} node{'s' if len(step.parts) > 1 else ''}"
    if step.parts and step.parts[0].kind == "start":
        loss = style.name(step.parts[0].node.name)
        return f"Layer {name}: start at the loss {loss}, then the gradients of its {count}"
    users = ", ".join(style.name(c.name) for c in step.consumers)
    return f"Layer {name}: the gradients of its {count}, from what its consumers ({users}) pass back"


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


def _contribution_label(c: Contribution) -> str:
    argument = f"{c.index}: " if len(c.consumer.input_nodes) > 1 else ""
    label = f"{argument}{c.formula}"
    if c.value is not None:
        label += f"<BR/>= {style.format_value(c.value)}"
    return style.coloured(label, style.NOW)
