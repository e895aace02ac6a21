"""Formulas of whole subgraphs, for reading, printing and typesetting.

Each node's ``expr`` mentions only its inputs' symbols. :func:`formula` substitutes, recursively, every operation's
formula for its symbol, down to the placeholders, Variables and constants, and gives one SymPy expression: the
tutorial's loss becomes ``-Σ Σ_j c ⊙ log softmax(X W + b)``. Elementwise products of two arrays show as ``⊙``.
"""

from __future__ import annotations

import sympy
from sympy.printing.precedence import PRECEDENCE

from .graph import Node
from .ops.base import Operation, operand


class hadamard(sympy.Function):
    """The elementwise product of two arrays as formulas show it: ``c ⊙ p``.

    Plain SymPy products commute and read as scalar products; this function exists only for display.
    """

    @classmethod
    def eval(cls, *args):
        return None

    def _latex(self, printer) -> str:
        return r" \odot ".join(printer.parenthesize(a, PRECEDENCE["Mul"]) for a in self.args)

    def _sympystr(self, printer) -> str:
        return " ⊙ ".join(printer.parenthesize(a, PRECEDENCE["Mul"]) for a in self.args)

    def _pretty(self, printer):
        from sympy.printing.pretty.stringpict import prettyForm

        parts = [printer._print(a) for a in self.args]
        result = parts[0]
        for part in parts[1:]:
            result = prettyForm(*result.right(" ⊙ ", part))
        return result


def _is_array(node: Node) -> bool:
    return node.shape != () and isinstance(operand(node), sympy.Symbol)


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
    from .ops.elementwise import multiply
    from .ops.reduce import fill_like

    whole: dict[Node, sympy.Expr] = {}
    for n in topological_order([node]):
        if isinstance(n, fill_like):  # an array of ones reads as 1
            whole[n] = sympy.Float(n.value)
        elif isinstance(n, multiply) and all(_is_array(i) for i in n.input_nodes):
            whole[n] = hadamard(*[whole[i] for i in n.input_nodes])
        elif isinstance(n, Operation) and n.expr is not None:
            whole[n] = n.expr.xreplace({i.symbol: whole[i] for i in n.input_nodes})
        else:
            whole[n] = n.expr
    # for reading, whole numbers as integers: the gradient seed 1.0 then vanishes from products (1.0 x is x)
    return whole[node].xreplace({f: sympy.Integer(int(f)) for f in whole[node].atoms(sympy.Float) if float(f).is_integer()})


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
