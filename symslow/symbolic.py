"""Formulas of whole subgraphs, for reading, printing and typesetting.

Each node's ``expr`` mentions only its inputs' symbols. :func:`formula` substitutes, recursively, every operation's
formula for its symbol, down to the placeholders, Variables and constants, and gives one SymPy expression: the
tutorial's loss becomes ``-Σ_i Σ_j c log softmax(X W + b)``.
"""

from __future__ import annotations

import sympy

from .graph import Node
from .ops.base import Operation


def formula(node: Node) -> sympy.Expr:
    """The whole subgraph that computes ``node`` as one SymPy expression in its sources' symbols.

    Example:
        >>> import sympy, symslow as ts
        >>> _ = ts.Graph().as_default()
        >>> X = ts.placeholder(name="X")
        >>> W = ts.Variable([[1.0, 0.0], [0.0, 1.0]], name="W")
        >>> b = ts.Variable([0.0, 0.0], name="b")
        >>> p = ts.softmax(ts.matmul(X, W) + b)
        >>> sympy.latex(ts.formula(p))
        '\\\\operatorname{softmax}\\\\left(b + X W\\\\right)'
    """
    from .gradients import topological_order

    if not isinstance(node, Node):
        raise TypeError(f"formula() takes a node, not {node!r}.")
    whole: dict[Node, sympy.Expr] = {}
    for n in topological_order([node]):
        if isinstance(n, Operation) and n.expr is not None:
            whole[n] = n.expr.xreplace({i.symbol: whole[i] for i in n.input_nodes})
        else:
            whole[n] = n.expr
    return whole[node]


def latex(node: Node) -> str:
    """LaTeX of :func:`formula` (what ``sympy.latex`` gives).

    Example:
        >>> import symslow as ts
        >>> _ = ts.Graph().as_default()
        >>> x = ts.placeholder(name="x")
        >>> ts.latex(ts.sigmoid(x))
        '\\\\frac{1}{1 + e^{- x}}'
    """
    return sympy.latex(formula(node))


def pretty(node: Node) -> str:
    """Unicode rendering of :func:`formula`, for terminals and diagrams.

    Example:
        >>> import symslow as ts
        >>> _ = ts.Graph().as_default()
        >>> x = ts.placeholder(name="x")
        >>> print(ts.pretty(ts.tanh(x) ** 2))
            2   
        tanh (x)
    """
    return sympy.pretty(formula(node), use_unicode=True)
