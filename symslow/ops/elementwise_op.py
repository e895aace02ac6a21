"""Elementwise ops from a scalar formula alone: :class:`ElementwiseOp`, its gradient derived by SymPy, and
:func:`elementwise`, which makes a new op from a formula.

An elementwise op's gradient is a new elementwise node, ``grad * ∂f/∂x`` with the derivative written in the op's
inputs (and its output, where the op asks), summed back to an input's shape where the input was broadcast
(:func:`~symslow.ops.reduce.unbroadcast`). Rewrite rules (:func:`rewrite_rule`) let a module that defines a
better op build it in place of an elementwise one: ``log(softmax(z))`` is ``log_softmax(z)``.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable, Sequence

import numpy as np
import sympy

from ..errors import LookupGradientError
from ..graph import Node
from ..leaves import Constant
from .base import Operation, broadcast_shapes, operand, result_dtype
from .reduce import fill_like, unbroadcast

#: Rewrite rules, by op class: each takes the op's inputs (and ``name``) and returns the node to build in the op's
#: place, or None to build the op itself. The module that defines the better op registers the rule.
REWRITES: dict[type, list[Callable[..., Node | None]]] = {}


def rewrite_rule(op: type) -> Callable:
    """Register the decorated function as a rewrite rule of ``op`` (an :class:`ElementwiseOp` subclass).

    Example:
        >>> from symslow.ops.elementwise import log
        >>> [rule.__name__ for rule in REWRITES[log]]
        ['log_of_softmax']
    """
    def register(rule: Callable[..., Node | None]) -> Callable[..., Node | None]:
        REWRITES.setdefault(op, []).append(rule)
        return rule

    return register


class ElementwiseOp(Operation):
    """An op applied element by element, defined by a scalar formula alone.

    Subclasses define ``formula`` as a function of SymPy symbols; inputs broadcast as in NumPy.

    ``derivative_through_output = True`` asks for the derivative written through the op's output ``y``
    (``y (1 - y)`` for sigmoid instead of ``e^{-x}/(1 + e^{-x})^2``, which is NaN at x = -1000); where SymPy finds
    no such form, building the op's gradient is an error that says so. An op can also state its derivatives itself,
    one formula per argument, by overriding the class method ``derivatives`` (in :meth:`arg_symbols`, and
    :meth:`output_symbol` for the output), as relu and softplus do; SymPy's ``diff`` is the default.

    Example:
        >>> import sympy, symslow as ts
        >>> class softplus(ts.ElementwiseOp):
        ...     def formula(x):
        ...         return sympy.log(1 + sympy.exp(x))
        >>> softplus.derivatives()
        [exp(x)/(exp(x) + 1)]
        >>> class stated(ts.ElementwiseOp):
        ...     def formula(x):
        ...         return sympy.log(1 + sympy.exp(x))
        ...     @classmethod
        ...     def derivatives(cls):
        ...         return [1 - sympy.exp(-cls.output_symbol())]  # σ(x), through y = softplus(x)
        >>> _ = ts.Graph().as_default()
        >>> x = ts.placeholder(ts.float64, name="x")
        >>> (dx,) = ts.gradients(stated(x), [x])
        >>> float(ts.Session().run(dx, {x: 0.0}))
        0.5
    """

    derivative_through_output = False
    floating = False  # True: integer inputs give a float result (log, exp, ...)
    same_dtype_inputs = True

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "formula" in cls.__dict__ and not isinstance(cls.__dict__["formula"], staticmethod):
            cls.formula = staticmethod(cls.__dict__["formula"])

    def __new__(cls, *inputs: Any, **arguments: Any):
        for rule in REWRITES.get(cls, ()):  # this class's own rules: a subclass has rules of its own, if any
            node = rule(*inputs, **arguments)
            if node is not None:
                return node  # not an instance of cls, so __init__ is not called on it
        return super().__new__(cls)

    def __init__(self, *inputs: Any, name: str | None = None):
        arity = len(self.arg_symbols())
        if len(inputs) != arity:
            raise TypeError(f"{self.op_type} takes {arity} input(s), got {len(inputs)}.")
        super().__init__(inputs, name)

    def infer_shape(self, *input_shapes):
        return broadcast_shapes(self.op_type, self.display_name, *input_shapes)

    def infer_dtype(self, *input_dtypes):
        return result_dtype(*input_dtypes, floating=self.floating)

    @classmethod
    def arg_symbols(cls) -> list[sympy.Symbol]:
        """The formula's arguments as real SymPy symbols named after its parameters."""
        if "_arg_symbols" not in cls.__dict__:
            cls._arg_symbols = [sympy.Symbol(p, real=True) for p in inspect.signature(cls.formula).parameters]
        return list(cls._arg_symbols)

    @classmethod
    def written_formula(cls) -> sympy.Expr:
        """The formula in :meth:`arg_symbols`, as written (see :meth:`Operation.exact_formula`).

        Example:
            >>> from symslow.ops.elementwise import divide, sigmoid
            >>> sigmoid.written_formula(), divide.written_formula()
            (1/(1 + exp(-x)), x/y)
        """
        if "_written" not in cls.__dict__:
            cls._written = cls.formula(*cls.arg_symbols())
        return cls._written

    def exact_formula(self) -> tuple[sympy.Expr, list[sympy.Expr]]:
        return self.written_formula(), self.arg_symbols()

    @classmethod
    def output_symbol(cls) -> sympy.Symbol:
        """The symbol of the op's output in derivatives written through it (a Dummy: never equal to an argument)."""
        return _OUTPUT

    @classmethod
    def derivatives(cls) -> list[sympy.Expr]:
        """The partial derivative of the formula in each argument, derived by SymPy once per class."""
        if "_derivatives" not in cls.__dict__:
            args = cls.arg_symbols()
            f = cls.formula(*args)
            derived = []
            for x in args:
                d = sympy.diff(f, x)
                if cls.derivative_through_output:
                    through = _through_output(d, f, x, cls.output_symbol())
                    if x in through.free_symbols:
                        raise LookupGradientError(
                            f"Op {cls.op_type}: SymPy finds no form of d/d{x} = {d} written through the output, as "
                            "derivative_through_output asks; state it by overriding the class method derivatives(), "
                            "or drop derivative_through_output.")
                    d = through
                derived.append(sympy.simplify(d))
            cls._derivatives = derived
        return cls._derivatives

    def local_derivative(self, index: int) -> sympy.Expr:
        """∂(this node)/∂(input ``index``) in the symbols of this node's inputs and of the node itself."""
        replacements = {a: operand(n) for a, n in zip(self.arg_symbols(), self.input_nodes)}
        replacements[self.output_symbol()] = self.symbol
        return self.derivatives()[index].xreplace(replacements)

    def gradient(self, grad: Node, index: int) -> Node | None:
        derivative = self.local_derivative(index)
        if derivative == 0:
            return None
        contribution = elementwise_expr(operand(grad) * derivative, [grad, *self.input_nodes, self], f"{self.op_type}_grad")
        return unbroadcast(contribution, self.input_nodes, index)

    def compute(self, *input_values):
        if any(n.dtype is None for n in self.input_nodes):
            # next to a node whose dtype only the run decides (a bare placeholder), a number takes that node's dtype,
            # as a Python number does in NumPy
            input_values = [v.item() if isinstance(n, Constant) and np.ndim(v) == 0 else v
                            for n, v in zip(self.input_nodes, input_values)]
        return evaluate_elementwise(*self.exact_formula(), input_values, self.dtype)


_OUTPUT = sympy.Dummy("y", real=True)


def evaluate_elementwise(expr: sympy.Expr, arguments: Sequence[sympy.Expr], input_values: Sequence,
                         dtype: Any = None) -> np.ndarray:
    """The interpreter's evaluation of an elementwise formula on its arguments' values.

    The formula is printed by the NumPy backend's printer, as the compiled code prints it, with the argument symbols
    named ``a0, a1, ...`` (a node named like a function, ``tanh``, cannot shadow ``numpy.tanh``); a result that no
    array gave a dtype (a formula of numbers only) takes ``dtype``.
    """
    key = (expr, tuple(arguments))
    function = _evaluators.get(key)
    if function is None:
        from .. import runtime
        from ..backends import get_backend

        names = [f"a{k}" for k in range(len(arguments))]
        symbols = {s: n for s, n in zip(arguments, names) if isinstance(s, sympy.Symbol)}
        code = get_backend("numpy").print_code(expr, symbols)
        function = eval(f"lambda {', '.join(names)}: {code}", {"numpy": np, "runtime": runtime})
        if len(_evaluators) > 4096:  # gradient nodes bring formulas of their own: keep the cache bounded
            _evaluators.clear()
        _evaluators[key] = function
    result = function(*input_values)
    if not hasattr(result, "dtype"):
        result = np.asarray(result, dtype=dtype)
    shape = np.broadcast_shapes(*[np.shape(v) for v in input_values]) if input_values else ()
    return np.broadcast_to(result, shape) if np.shape(result) != shape else np.asarray(result)


_evaluators: dict = {}


def _through_output(derivative: sympy.Expr, f: sympy.Expr, x: sympy.Symbol, y: sympy.Symbol) -> sympy.Expr:
    """Rewrite ``derivative`` (a function of ``x``) as a function of ``y = f(x)`` when SymPy finds one."""
    candidate = derivative.subs(f, y)
    if x not in candidate.free_symbols:
        return candidate
    try:
        inverses = sympy.solve(sympy.Eq(y, f), x)
    except (NotImplementedError, ValueError, TypeError):  # SymPy cannot invert f: no form through y
        return derivative
    for inverse in inverses:
        candidate = sympy.factor(sympy.cancel(sympy.expand(derivative.subs(x, inverse))))
        if x not in candidate.free_symbols and sympy.simplify(candidate.subs(y, f) - derivative) == 0:
            return candidate
    return derivative


class ElementwiseExpr(Operation):
    """An elementwise node whose formula is any SymPy expression of its inputs' symbols.

    Gradient nodes of elementwise ops are of this kind (``grad * y * (1 - y)``), so their own derivatives come from
    ``sympy.diff`` as well, and gradients of gradients work.
    """

    op_type = "elementwise"

    def __init__(self, expr: sympy.Expr, input_nodes: Sequence[Node], name: str | None = None):
        self._formula = sympy.sympify(expr)
        super().__init__(input_nodes, name)

    def formula(self, *inputs):
        return self._formula

    def exact_formula(self) -> tuple[sympy.Expr, list[sympy.Symbol]]:
        # in symbols named by position, not by the inputs' names: SymPy orders the terms of a sum or product by the
        # names of its symbols, so that the order of the roundings would otherwise depend on how nodes are named
        exact = getattr(self, "_exact", None)
        if exact is None:
            arguments = argument_symbols(len(self.input_nodes))
            expr = self._formula.xreplace({n.symbol: a for n, a in zip(self.input_nodes, arguments)})
            exact = self._exact = (expr, arguments)
        return exact

    def infer_shape(self, *input_shapes):
        return broadcast_shapes(self.op_type, self.display_name, *input_shapes)

    def infer_dtype(self, *input_dtypes):
        return result_dtype(*input_dtypes, floating=True)

    def gradient(self, grad: Node, index: int) -> Node | None:
        x = self.input_nodes[index]
        derivative = sympy.diff(self.expr, operand(x)) if isinstance(operand(x), sympy.Symbol) else 0
        # d/dx Heaviside(x) (from relu, maximum) is DiracDelta(x): 0 wherever an array can hold a value
        derivative = sympy.sympify(derivative).replace(sympy.DiracDelta, lambda *args: sympy.S.Zero)
        if derivative == 0:
            return None
        contribution = elementwise_expr(operand(grad) * derivative, [grad, *self.input_nodes], f"{self.default_name}_grad")
        return unbroadcast(contribution, self.input_nodes, index)

    def compute(self, *input_values):
        return evaluate_elementwise(*self.exact_formula(), input_values, self.dtype)


def argument_symbols(count: int) -> list[sympy.Symbol]:
    """``count`` symbols standing for a formula's arguments by position (``_0, _1, ...``)."""
    while len(_arguments) < count:
        _arguments.append(sympy.Symbol(f"_{len(_arguments)}", real=True))
    return _arguments[:count]


_arguments: list[sympy.Symbol] = []


def elementwise_expr(expr: sympy.Expr, candidates: Sequence[Node], name: str) -> Node:
    """A node computing ``expr``; its inputs are the candidates whose symbols occur in it.

    Returns the candidate itself when ``expr`` is just its symbol (``grad * 1`` is ``grad``).
    """
    free = expr.free_symbols
    inputs = []
    for node in candidates:
        if node.symbol in free and node not in inputs:
            inputs.append(node)
    for node in inputs:
        if expr == node.symbol:
            return node
    if not inputs:  # a number: a scalar if every candidate is one, else broadcast like the incoming gradient
        if all(node.shape == () for node in candidates):
            dtype = next((n.dtype for n in candidates if n.dtype is not None), np.float64)
            return Constant(np.asarray(float(expr), dtype=dtype), graph=candidates[0].graph, name=name)
        return fill_like(candidates[0], float(expr), name=name)
    return ElementwiseExpr(expr, inputs, name)


def elementwise(name: str, formula: Callable[..., sympy.Expr], *, derivative_through_output: bool = False) -> type:
    """Make a new elementwise op from a scalar SymPy formula alone; use it and train through it at once.

    Args:
        name: the op's name (its op type and the default name of its nodes).
        formula: a function from SymPy symbols to a SymPy expression, one argument per input.
        derivative_through_output: write the derivative through the op's output where SymPy can.

    Example:
        >>> import sympy, symslow as ts
        >>> softplus = ts.elementwise("softplus", lambda x: sympy.log(1 + sympy.exp(x)))
        >>> _ = ts.Graph().as_default()
        >>> x = ts.placeholder(name="x")
        >>> y = softplus(x)
        >>> y.expr
        log(exp(x) + 1)
        >>> (dy,) = ts.gradients(y, [x])
        >>> float(ts.Session().run(dy, {x: 0.0}))
        0.5
    """
    if not isinstance(name, str) or not name:
        raise TypeError(f"elementwise() takes a non-empty name, not {name!r}.")
    if not callable(formula):
        raise TypeError(f"elementwise({name!r}, formula): formula must be a function of SymPy symbols.")
    attributes = {
        "formula": staticmethod(formula),
        "derivative_through_output": derivative_through_output,
        "__doc__": f"Elementwise op {name}: {formula(*_probe_symbols(formula))}.",
        "__module__": getattr(formula, "__module__", __name__),
    }
    return type(name, (ElementwiseOp,), attributes)


def _probe_symbols(formula: Callable) -> list[sympy.Symbol]:
    return [sympy.Symbol(p, real=True) for p in inspect.signature(formula).parameters]
