"""Backpropagation by layer: the node steps gathered into one step per closed name scope, drawn with the scopes
closed, all on one layout (``backprop_steps(..., by="layer")``)."""

from __future__ import annotations

from typing import Mapping, Sequence

import graphviz

from ..graph import Node
from . import style
from .graph import diagram
from .layout import Layout, layout_of
from .render import GraphvizNotFoundError
from .scopes import Grouping, Scope
from .steps import _LEGEND, BackpropStep, BackpropSteps, _contribution_label, _node_state


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
