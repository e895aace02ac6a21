"""The labels of a diagram: a node's (its op, formula, shape and value), a closed scope's box (its ops, Variables
and placeholders), an edge into or out of a box (the shapes it carries), and how a gradient reads in formulas."""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import sympy

from ..graph import Node, format_shape
from ..leaves import Constant, Placeholder, Variable
from ..ops.base import Operation
from ..ops.state import assign, group
from . import style
from .scopes import Scope


def node_label(node: Node, *, names: Mapping[sympy.Symbol, str] | None = None, value: Any = None,
               has_value: bool = False, rows: Iterable[str] = ()) -> str:
    """The HTML-like label of a node: op (or name and kind), formula, static shape, value if known, extra rows.

    Each row is one run of text, so browsers draw SVG text where Graphviz measured it.
    """
    small = f'<FONT POINT-SIZE="10" COLOR="{style.GREY}">{{}}</FONT>'
    display = (names or {}).get(node.symbol) or style.name(node.name)
    if not isinstance(node, Operation):
        cells = [f"<B>{display}</B>", small.format(style.escape(style.kind_of(node)))]
    elif isinstance(node, group):
        cells = [f"<B>{style.escape(node.op_type)}</B>", display]
    elif isinstance(node, assign):
        target = (names or {}).get(node.ref.symbol) or style.name(node.ref.name)
        cells = [f"<B>{style.escape(node.op_type)}</B>",
                 f"{display}: {target} ← {style.formula_html(node.expr, names)}"]
    else:
        cells = [f"<B>{style.escape(node.op_type)}</B>", f"{display} = {style.formula_html(node.expr, names)}"]
    shape = "shape " + format_shape(node.shape)
    if has_value and np.shape(value) != node.shape:
        shape += f", value {format_shape(np.shape(value))}"
    cells.append(small.format(style.escape(shape)))
    if has_value:
        cells.append(style.format_value(value))
    elif isinstance(node, Constant) and node.value.size <= style.SMALL:
        cells.append(style.format_value(node.value))
    cells.extend(rows)
    body = "".join(f"<TR><TD>{c}</TD></TR>" for c in cells)
    return f'<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="1">{body}</TABLE>>'


SHAPES_ON_AN_EDGE = 3  # an edge carrying more tensors lists this many shapes and counts the others


def _boxed_edge_label(carried: Sequence[tuple[Node, Node, int]], edge_labels: Mapping[tuple[Node, int], str],
                      into_box: bool) -> str:
    """The label of an edge into or out of a closed scope's box: the shape of each tensor it carries (with the
    argument index where it goes into a node of several inputs), or the labels given for the edges it stands for."""
    given = [edge_labels[(node, index)] for _, node, index in carried if (node, index) in edge_labels]
    if given:
        return "<BR/>".join(given)
    lines = []
    for source, node, index in carried:
        text = style.escape(style.shape_text(source.shape))
        if not into_box and len(node.input_nodes) > 1:
            text = f"{index}: {text}"
        if text not in lines:
            lines.append(text)
    if len(lines) > SHAPES_ON_AN_EDGE + 1:
        lines[SHAPES_ON_AN_EDGE:] = [f"and {len(lines) - SHAPES_ON_AN_EDGE} more"]
    return "<BR/>".join(lines)


SUMMARY_ITEMS = 6  # a closed scope's box lists this many op types and Variables, and counts the others


def scope_label(scope: Scope, members: Sequence[Node], rows: Iterable[str] = ()) -> str:
    """The HTML-like label of a closed scope's box: its name, how many ops it holds and of which types, its
    Variables' and placeholders' shapes, extra rows."""
    small = f'<FONT POINT-SIZE="10" COLOR="{style.GREY}">{{}}</FONT>'

    def listed(items: list[str]) -> str:
        more = f", and {len(items) - SUMMARY_ITEMS} more" if len(items) > SUMMARY_ITEMS else ""
        return ", ".join(items[:SUMMARY_ITEMS]) + more

    def short(node: Node) -> str:
        prefix = scope.name + "/"
        return node.name[len(prefix):] if node.name.startswith(prefix) else node.name

    ops = [n for n in members if isinstance(n, Operation)]
    cells = [f"<B>{style.name(scope.title)}</B>"]
    if ops:
        types = list(dict.fromkeys(n.op_type for n in ops))
        count = f"{len(ops)} op{'s' if len(ops) > 1 else ''}: "
        cells.append(small.format(style.escape(count + listed(types))))
    for kind, what in ((Variable, "Variables"), (Placeholder, "placeholders")):
        found = [f"{short(n)} {style.shape_text(n.shape)}" for n in members if isinstance(n, kind)]
        if found:
            cells.append(small.format(style.escape(f"{what}: {listed(found)}")))
    cells.extend(rows)
    body = "".join(f"<TR><TD>{c}</TD></TR>" for c in cells)
    return f'<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="1">{body}</TABLE>>'


def gradient_names(table: Mapping[Node, Node], nodes: Sequence[Node], forward_ids: set,
                   kinds: Mapping[Node, str] = ()) -> dict[sympy.Symbol, str]:
    """How gradient nodes' symbols read in formulas: ``∂J/∂x`` for a gradient in the table, the short name else."""
    names = {}
    for node in nodes:
        if id(node) not in forward_ids:
            names[node.symbol] = style.name(node.name.split("/", 1)[-1])
    for x, g in table.items():
        names[g.symbol] = f"∂J/∂{style.name(x.name)}"
    return names
