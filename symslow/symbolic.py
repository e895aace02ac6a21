"""Formulas of whole subgraphs, for reading, printing and typesetting.

Each node's ``expr`` mentions only its inputs' symbols. :func:`formula` substitutes, recursively, every operation's
formula for its symbol, down to the placeholders, Variables and constants, and gives one SymPy expression: the
tutorial's loss becomes ``-Σ Σ_j c ⊙ log softmax(X W + b)``. Elementwise products of two arrays show as ``⊙``.
A deep graph shows its top :data:`MAX_DEPTH` levels of operations, and ``…`` for what lies below them.
"""

from __future__ import annotations

import re

import sympy
from sympy.printing.precedence import PRECEDENCE

from .graph import Node, topological_order
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


class Elided(sympy.Dummy):
    """What a formula leaves out below its depth: shown as ``…`` (one symbol per node left out)."""

    def _latex(self, printer) -> str:
        return r"\ldots"

    def _sympystr(self, printer) -> str:
        return "…"

    def _pretty(self, printer):
        from sympy.printing.pretty.stringpict import prettyForm

        return prettyForm("…")


# The levels of operations a formula shows, from the node down: enough for every formula a reader reads whole, and
# few enough that SymPy's printers, which recurse into an expression, stay far from Python's recursion limit.
MAX_DEPTH = 24


def _is_array(node: Node) -> bool:
    return node.shape != () and isinstance(operand(node), sympy.Symbol)


def formula(node: Node, max_depth: int = MAX_DEPTH) -> sympy.Expr:
    """The whole subgraph that computes ``node`` as one SymPy expression in its sources' symbols, down to
    ``max_depth`` levels of operations; an operation below them shows as ``…``.

    Example:
        >>> import sympy, symslow as ts
        >>> _ = ts.Graph().as_default()
        >>> X = ts.placeholder(name="X")
        >>> W = ts.Variable([[1.0, 0.0], [0.0, 1.0]], name="W")
        >>> b = ts.Variable([0.0, 0.0], name="b")
        >>> p = ts.softmax(ts.matmul(X, W) + b)
        >>> sympy.latex(ts.formula(p))
        '\\\\operatorname{softmax}\\\\left(b + X W\\\\right)'
        >>> h = X
        >>> for _ in range(30):
        ...     h = ts.tanh(h)
        >>> ts.formula(h, max_depth=3)
        tanh(tanh(tanh(…)))
    """

    if not isinstance(node, Node):
        raise TypeError(f"formula() takes a node, not {node!r}.")
    from .ops.reduce import fill_like

    order = topological_order([node])
    height: dict[int, int] = {}  # the levels of operations below and including each node
    for n in order:
        height[id(n)] = 1 + max((height[id(i)] for i in n.input_nodes), default=0) if _shown(n) else 0
    # the formula of a node with `levels` levels left to show: the whole formula where it is no deeper than that;
    # computed in an explicit post-order (no recursion, however deep the graph)
    memo: dict[tuple[int, int], sympy.Expr] = {}
    elided: dict[int, Elided] = {}
    root = (node, min(max_depth, height[id(node)]))
    stack = [(root, False)]
    while stack:
        (n, levels), ready = stack.pop()
        key = (id(n), levels)
        if key in memo:
            continue
        opens = _shown(n) and levels > 0 and not isinstance(n, fill_like)  # an array of ones reads as 1
        inputs = [(i, min(levels - 1, height[id(i)])) for i in n.input_nodes] if opens else []
        if not ready and any((id(i), b) not in memo for i, b in inputs):
            stack.append(((n, levels), True))
            stack.extend(((i, b), False) for i, b in inputs if (id(i), b) not in memo)
            continue
        if _shown(n) and levels <= 0:
            memo[key] = elided.setdefault(id(n), Elided("…", real=True))  # real, as nodes' symbols are
        else:
            memo[key] = _one_level(n, [memo[(id(i), b)] for i, b in inputs])
    whole = memo[(id(node), root[1])]
    # for reading, whole numbers as integers: the gradient seed 1.0 then vanishes from products (1.0 x is x)
    return whole.xreplace({f: sympy.Integer(int(f)) for f in whole.atoms(sympy.Float) if float(f).is_integer()})


def _shown(node: Node) -> bool:
    """Whether ``node`` is an operation whose formula a whole formula shows (sources show as their symbols)."""
    from .ops.state import group

    return isinstance(node, Operation) and not isinstance(node, group)  # (a group has no formula)


def _one_level(n: Node, inputs: list[sympy.Expr]) -> sympy.Expr:
    """The formula of ``n`` with its inputs' formulas in place of their symbols."""
    from .ops.elementwise import multiply
    from .ops.reduce import broadcast_like, fill_like

    if isinstance(n, fill_like):  # an array of ones reads as 1
        return sympy.Float(n.value)
    if isinstance(n, broadcast_like) and n.expr.args[0].is_Number:  # and so does a number broadcast to a shape
        return n.expr.args[0]
    if not _shown(n):
        return n.expr
    if isinstance(n, multiply) and all(_is_array(i) for i in n.input_nodes):
        return hadamard(*inputs)
    return n.expr.xreplace({i.symbol: e for i, e in zip(n.input_nodes, inputs)})


class Latex(str):
    """LaTeX source that a notebook typesets as math (``_repr_latex_``) and that is a ``str`` everywhere else.

    Adding a string keeps it LaTeX: ``"y = " + ts.latex(y)`` shows as an equation.

    Example:
        >>> import symslow as ts
        >>> _ = ts.Graph().as_default()
        >>> source = ts.latex(ts.exp(ts.placeholder(name="x")))
        >>> isinstance(source, str), source._repr_latex_()
        (True, '$\\\\displaystyle e^{x}$')
        >>> equation = "y = " + source
        >>> type(equation).__name__, equation
        ('Latex', 'y = e^{x}')
    """

    def _repr_latex_(self) -> str:
        return f"$\\displaystyle {self}$"

    def __add__(self, other: str) -> "Latex":
        return Latex(str.__add__(self, other)) if isinstance(other, str) else NotImplemented

    def __radd__(self, other: str) -> "Latex":
        return Latex(str.__add__(other, self)) if isinstance(other, str) else NotImplemented


def latex(node: Node) -> Latex:
    """LaTeX of :func:`formula` (what ``sympy.latex`` gives), as a :class:`Latex` string: typeset in a notebook.

    Example:
        >>> import symslow as ts
        >>> _ = ts.Graph().as_default()
        >>> x = ts.placeholder(name="x")
        >>> ts.latex(ts.sigmoid(x))
        '\\\\frac{1}{1 + e^{- x}}'
        >>> print(ts.latex(2 * ts.placeholder(name="layer_1/{x}")))
        2 \\mathrm{layer\\_1/\\{x\\}}
    """
    expr = formula(node)
    names = {s: latex_name(s.name) for s in expr.free_symbols if type(s) is sympy.Symbol}
    return Latex(sympy.latex(expr, symbol_names=names))


# a name SymPy typesets well and safely: letters (or a Greek letter's name), digits, one subscript (x_1, W1, alpha)
_SYMPY_NAME = re.compile(r"[A-Za-z]+[0-9]*(_[A-Za-z0-9]+)?")
# LaTeX's special characters, as math mode writes them
_LATEX_ESCAPES = {"\\": r"\backslash{}", "{": r"\{", "}": r"\}", "_": r"\_", "$": r"\$", "%": r"\%", "#": r"\#",
                  "&": r"\&", "^": r"\wedge{}", "~": r"\sim{}", " ": r"\ "}


def _node_repr_latex(node: Node) -> str:
    return "$" + latex(node) + "$"


Node._repr_latex_ = _node_repr_latex  # notebooks typeset a node as its formula


def latex_name(name: str) -> str:
    r"""How a node's name typesets: as SymPy writes a symbol (``x_{1}``, ``\alpha``) when it is letters, digits and
    one subscript; otherwise upright, with LaTeX's special characters escaped, so that any name gives valid LaTeX.

    Example:
        >>> print(latex_name("x_1"), latex_name("alpha"), latex_name("layer1/W"), latex_name("a\\b_c_d"))
        x_{1} \alpha \mathrm{layer1/W} \mathrm{a\backslash{}b\_c\_d}
    """
    if _SYMPY_NAME.fullmatch(name):
        return sympy.latex(sympy.Symbol(name))
    return r"\mathrm{" + "".join(_LATEX_ESCAPES.get(c, c) for c in name) + "}"


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
