"""What every op is made of: ``Operation``, elementwise ops defined by a SymPy formula, and broadcasting.

An op is one class holding, in one place, its formula (``formula``), its shape rule (``infer_shape``), its gradient
rule (``gradient``) and its NumPy evaluation for the interpreter (``compute``). Elementwise ops give only a scalar
formula; the rest is derived from it:

* the shape rule is NumPy broadcasting;
* the partial derivatives come from ``sympy.diff``, simplified, once per op class;
* the interpreter evaluates the formula as written, printed as the compiled code prints it
  (:meth:`Operation.exact_formula`): SymPy's simplification is for reading and differentiating, not computing.

Structural ops (matmul, reductions, softmax, ...) appear in formulas as small SymPy functions (:class:`OpFunction`)
that print themselves for each backend and in LaTeX.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any, Iterator, Sequence

import numpy as np
import sympy

from ..errors import InvalidArgumentError, LookupGradientError, ShapeError, describe
from ..graph import Node, format_shape, get_default_graph
from ..leaves import Constant, as_node

class OpFunction(sympy.Function):
    """A structural op inside a SymPy formula: never evaluated by SymPy, printed by its op class.

    Each op class and set of attributes (axes, shapes) gets its own subclass, made by
    :meth:`Operation.function_for`: ``reduce_sum(x)`` in a formula carries its axes with it, and SymPy's printers
    reach the op's ``print_code`` through ``_array_code``, the print method of every backend's printer
    (:class:`~symslow.printers.ArrayCodePrinter`).
    """

    op: type = None  # the Operation class this function stands for
    attrs: dict = {}
    is_real = True

    @classmethod
    def eval(cls, *args):
        return None  # keep the function unevaluated: its meaning is in the op class

    def _array_code(self, printer) -> str:
        return self.op.print_code(printer, *[printer._print(a) for a in self.args], **self.attrs)

    @property
    def precedence(self) -> int:
        """How tightly the op binds in printed formulas: as a function call, unless the op typesets as an operator
        (``x \\star W``) and says less, so that SymPy's printers parenthesise it inside a product."""
        return getattr(self.op, "precedence", sympy.printing.precedence.PRECEDENCE["Func"])

    def _latex(self, printer, exp: str | None = None) -> str:
        text = self.op.print_latex(printer, *[printer._print(a) for a in self.args], **self.attrs)
        return text if exp is None else rf"\left({text}\right)^{{{exp}}}"  # a power of it: (A B)^{2}

    def _sympystr(self, printer) -> str:
        args = [printer._print(a) for a in self.args]
        text = self.op.print_text(args, **self.attrs)
        if text is not None:
            return text
        shown = [f"{k}={v!r}" for k, v in self.attrs.items() if k not in self.op.internal_attrs]
        return f"{self.op.op_type}({', '.join(args + shown)})"

    def _pretty(self, printer):
        from sympy.printing.pretty.stringpict import prettyForm

        forms = [printer._print(a) for a in self.args]
        if all(form.height() == 1 for form in forms):  # one line each: the op's own text, if it has one
            text = self.op.print_text([str(form) for form in forms], **self.attrs)
            if text is not None:
                return prettyForm(text, binding=prettyForm.FUNC)
        return pretty_call(printer, self.op.op_type, self.args)


_functions: dict = {}


class OpaqueFunction(sympy.Function):
    r"""An op defined by ``compute()`` alone, inside a formula: a function of its inputs, named as the op is named
    (``\operatorname{reduce\_sum}``, not ``reduce`` with the subscript ``sum``)."""

    is_real = True
    op_type = "op"

    def _latex(self, printer, exp: str | None = None) -> str:
        name = self.op_type.replace("_", r"\_")
        text = rf"\operatorname{{{name}}}\left({', '.join(printer._print(a) for a in self.args)}\right)"
        return text if exp is None else rf"\left({text}\right)^{{{exp}}}"

    def _pretty(self, printer):
        return pretty_call(printer, self.op_type, self.args)


def opaque_function(op_type: str) -> type:
    r"""The SymPy function standing for the ops of type ``op_type`` defined by ``compute()`` alone.

    Example:
        >>> import sympy
        >>> x = sympy.Symbol("x")
        >>> print(sympy.latex(opaque_function("reduce_sum")(x)))
        \operatorname{reduce\_sum}\left(x\right)
    """
    function = _opaque.get(op_type)
    if function is None:
        function = _opaque[op_type] = type(op_type, (OpaqueFunction,), {"op_type": op_type})
    return function


_opaque: dict[str, type] = {}


def pretty_call(printer, name: str, args) -> Any:
    """``name(args)`` for SymPy's pretty printer, the name as written: SymPy would typeset ``reduce_sum`` as
    ``reduce`` with the subscript ``sum``."""
    from sympy.printing.pretty.stringpict import prettyForm, stringPict

    function, arguments = prettyForm(name), printer._print_seq(args, "(", ")")
    result = prettyForm(*stringPict.next(function, arguments), binding=prettyForm.FUNC)
    result.prettyFunc, result.prettyArgs = function, arguments  # what a power of it needs (f(x)²)
    return result


def broadcast_shapes(op_name: str, node_name: str, *shapes) -> tuple | None:
    """NumPy's broadcasting rule on static shapes with unknown sizes (``None``), or ``ShapeError``."""
    if any(shape is None for shape in shapes):
        return None
    rank = max((len(s) for s in shapes), default=0)
    result = []
    for axis in range(rank):
        sizes = [s[axis - rank + len(s)] for s in shapes if axis - rank + len(s) >= 0]
        known = {d for d in sizes if d is not None and d != 1}
        if len(known) > 1:
            listed = " and ".join(format_shape(s) for s in shapes)
            raise ShapeError(
                f"Op {op_name} (node {node_name!r}): shapes {listed} cannot be broadcast together "
                f"(sizes {sorted(known)} on axis {axis - rank})."
            )
        if known:
            result.append(known.pop())
        elif all(d == 1 for d in sizes):
            result.append(1)
        else:
            result.append(None)  # unknown sizes that might be 1: unknown result
    return tuple(result)


def result_dtype(*dtypes, floating: bool = False):
    """NumPy's promotion of the input dtypes; ``floating`` ops (log, exp, ...) turn integers into float64. Inputs
    whose dtypes are all unknown (bare placeholders: the fed value decides) give an unknown dtype, None; no inputs
    at all, float64."""
    if dtypes and all(d is None for d in dtypes):
        return None
    known = [np.dtype(d) for d in dtypes if d is not None]
    if not known:
        return np.float64
    dtype = np.result_type(*known)
    if floating and dtype.kind not in "fc":
        dtype = np.dtype(np.float64)
    return dtype.type


class Operation(Node):
    """A node computed from its input nodes.

    Subclass it the tutorial's way, with ``compute()`` and a gradient registered by ``@RegisterGradient``:

    Example:
        >>> import symslow as ts
        >>> class cube(ts.Operation):
        ...     def __init__(self, x):
        ...         super().__init__([x])
        ...     def compute(self, x_value):
        ...         return x_value ** 3
        >>> @ts.RegisterGradient("cube")
        ... def _cube_gradient(op, grad):
        ...     x = op.inputs[0].output
        ...     return [grad * 3 * x * x]
        >>> _ = ts.Graph().as_default()
        >>> x = ts.placeholder(name="x")
        >>> y = cube(x)
        >>> (dy,) = ts.gradients(y, [x])
        >>> ts.Session().run([y, dy], {x: 2.0})
        [np.float64(8.0), np.float64(12.0)]
        >>> ts.unregister_gradient("cube")  # (registrations are global, as in TensorFlow)

    A built-in op also defines ``formula`` (its SymPy expression), ``infer_shape`` and ``gradient`` in the same
    class; see :class:`ElementwiseOp` for the short form of elementwise ops.
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.op_type = cls.__dict__.get("op_type", cls.__name__)
        cls.default_name = cls.__dict__.get("default_name", cls.op_type)

    @classmethod
    def function_for(cls, **attrs) -> type:
        """The SymPy function standing for this op with these attributes (one class per op and attributes)."""
        key = (cls, tuple(sorted(attrs.items())))
        function = _functions.get(key)
        if function is None:
            function = type(cls.op_type, (OpFunction,), {"op": cls, "attrs": dict(attrs)})
            _functions[key] = function
        return function

    @classmethod
    def print_latex(cls, printer, *args: str, **attrs) -> str:
        """How a structural op typesets: ``\\operatorname{name}(args)`` unless the op says better (``X W``, ``Σ_j``)."""
        name = cls.op_type.replace("_", r"\_")
        return rf"\operatorname{{{name}}}\left({', '.join(args)}\right)"

    internal_attrs: tuple[str, ...] = ("plan",)  # attributes saying how it is computed, not what: not in its text

    @classmethod
    def print_text(cls, args: list[str], **attrs) -> str | None:
        """How a structural op reads in plain text (``ts.formula``, ``ts.pretty``), its arguments already printed;
        None (the default): as a call of its name, ``reduce_sum(x, axis=(1,), ...)``."""
        return None

    @classmethod
    def diagram_text(cls, printer, args: list[str], **attrs) -> str:
        """How a structural op reads in a diagram, its arguments already printed: its :meth:`print_text`, else
        ``name(a, b, axis=(1,))``, unless the op says better (``a @ b``, ``Σ(x)``). ``printer`` is the diagrams'
        formula printer: ``printer.escape`` makes text safe for a label, ``printer.number`` writes a number short."""
        shown = [f"{k}={printer.escape(v)}" for k, v in attrs.items() if k not in cls.internal_attrs]
        text = cls.print_text(args, **attrs)
        return text if text is not None else f"{printer.escape(cls.op_type)}({', '.join(args + shown)})"

    # True: the inputs must have one dtype, as TensorFlow demands of arithmetic (float32 + float64 is an error)
    same_dtype_inputs = False

    def __init__(self, input_nodes: Sequence[Any] = (), name: str | None = None):
        graph = next((n.graph for n in input_nodes if isinstance(n, Node)), None) or get_default_graph()
        # a number written in Python takes the dtype of the node it meets (2 * x is float32 when x is)
        # (next to nodes of unknown dtype, as the tutorial's bare placeholders are, it stays NumPy's float64)
        nodes = [n for n in input_nodes if isinstance(n, Node)]
        hint = next((n.dtype for n in nodes if n.dtype is not None), None)
        inputs = [as_node(value, graph, dtype=hint, literal=not nodes) for value in input_nodes]
        self._prospective_name = graph._unique_name(name or self.default_name)
        if self.same_dtype_inputs:
            self._check_same_dtype(inputs)
        self.shape = self.infer_shape(*[n.shape for n in inputs])
        self.dtype = self.infer_dtype(*[n.dtype for n in inputs])
        super().__init__(inputs, name, graph=graph)
        self._expr = None

    def _check_same_dtype(self, inputs: Sequence[Node]) -> None:
        known = [n for n in inputs if n.dtype is not None]
        for other in known[1:]:
            if np.dtype(other.dtype) != np.dtype(known[0].dtype):
                first, second = known[0], other
                raise InvalidArgumentError(
                    f"Op {self.op_type} (node {self.display_name!r}) takes inputs of one dtype, but {first.name!r} is "
                    f"{np.dtype(first.dtype).name} and {second.name!r} is {np.dtype(second.dtype).name}; convert one "
                    "with tf.cast."
                )

    # the formula ---------------------------------------------------------------------------------------------------
    @property
    def expr(self) -> sympy.Expr:
        """The op's formula in its inputs' symbols (scalar constants appear as numbers, but as their symbols inside
        :func:`constants_as_symbols`)."""
        if getattr(_constants, "as_symbols", False):
            return self.formula(*[operand(n) for n in self.input_nodes])
        if self._expr is None:
            self._expr = self.formula(*[operand(n) for n in self.input_nodes])
        return self._expr

    def formula(self, *inputs: sympy.Expr) -> sympy.Expr:
        """The op as a SymPy expression of its inputs; a user op with only ``compute()`` is an opaque function."""
        return opaque_function(self.op_type)(*inputs)

    @property
    def has_formula(self) -> bool:
        """Whether the compiler can print this op (a user op defined by ``compute()`` alone cannot)."""
        return type(self).formula is not Operation.formula

    # the shape and dtype rules -------------------------------------------------------------------------------------
    def infer_shape(self, *input_shapes) -> tuple | None:
        """Static shape of the result; unknown unless an op says otherwise.

        A pure function of the shapes: it also checks actual shapes at run time (the interpreter) and fed shapes
        at compile time, so it must not change the node.
        """
        return None

    def infer_dtype(self, *input_dtypes):
        """NumPy's promotion of the inputs' dtypes; unknown (the run's value decides) for an op defined by
        ``compute()`` alone, whose code may turn integers into floats (the tutorial's sigmoid of ``Variable(5)``)."""
        if not self.has_formula:
            return None
        return result_dtype(*input_dtypes)

    def exact_formula(self) -> tuple[sympy.Expr, list[sympy.Expr]]:
        """``(formula, arguments)``: what the interpreter and the compiled code compute, ``arguments[i]`` standing
        for ``input_nodes[i]``.

        :attr:`expr` is for reading and differentiating: SymPy has folded the inputs' numbers and identities into it
        (``x / x`` is 1 there). The exact formula is the op's formula as written, so that the value is IEEE's (``x /
        x`` is NaN at 0). An elementwise op gives its formula in one symbol per argument; other ops their ``expr``.
        """
        return self.expr, [operand(n) for n in self.input_nodes]

    def formula_for_shapes(self, *input_shapes: tuple) -> sympy.Expr:
        """The formula once the compiler knows every input's shape (it compiles a program per fed shape).

        Ops override it where the shapes decide something: the one sum an un-broadcast is, the ``@`` a matmul
        gradient is, a count as a number. The default is :attr:`expr`.
        """
        return self.expr

    @property
    def display_name(self) -> str:
        """The node's name, also while the op is still being built (for error messages)."""
        return getattr(self, "name", None) or self._prospective_name

    def shape_error(self, message: str) -> ShapeError:
        """A ``ShapeError`` that names this op and node."""
        return ShapeError(f"Op {self.op_type} (node {self.display_name!r}): {message}")

    # the gradient rule -------------------------------------------------------------------------------------------
    def gradient(self, grad: Node, index: int) -> Node | None:
        """The vector-Jacobian product for input ``index``: a node, or ``None`` when there is no contribution.

        A function registered with :class:`~symslow.RegisterGradient` for the op type replaces it (see
        :mod:`symslow.ops.registered`); an op without either has no gradient.
        """
        raise LookupGradientError(
            f"No gradient is defined for op {describe(self)}: register one with @RegisterGradient({self.op_type!r})."
        )

    # evaluation by the interpreter ---------------------------------------------------------------------------------
    def compute(self, *input_values):
        raise NotImplementedError(f"Op {describe(self)} defines no compute().")


class _ComputeView:
    """What a user op's ``compute()`` sees as ``self``: the node's attributes, plus a scratch space of its own.

    The tutorial's ``compute`` stores its inputs (``self.inputs = [x_value, y_value]``); here that lands in the view
    of one run, so the node keeps its input nodes and runs in several threads do not share values.
    """

    def __init__(self, node: Operation):
        object.__setattr__(self, "_node", node)

    def __getattr__(self, name: str):
        return getattr(self._node, name)


def call_compute(node: Operation, values: Sequence) -> Any:
    """Run ``node.compute(*values)`` for one run without storing anything on the node."""
    return type(node).compute(_ComputeView(node), *values)


def operand(node: Node) -> sympy.Expr:
    """What stands for ``node`` in its consumers' formulas: its symbol, or its number if it is a scalar constant
    (but inside :func:`constants_as_symbols`, its symbol)."""
    if isinstance(node, Constant) and not _constants.value:
        number = node.scalar()
        if number is not None:
            return number
    return node.symbol


class ThreadFlag(threading.local):
    """A switch that is on in the current thread inside ``with flag.on():`` (nested uses keep it on), off elsewhere
    and in every other thread."""

    value = False

    @contextlib.contextmanager
    def on(self) -> Iterator[None]:
        before, self.value = self.value, True
        try:
            yield
        finally:
            self.value = before


_constants = ThreadFlag()


def constants_as_symbols() -> contextlib.AbstractContextManager:
    """Formulas built inside stand for scalar constants by their symbols: the compiler prints the constants itself,
    in their dtypes, where a number in a formula would be a Python float.

    Example:
        >>> import symslow as ts
        >>> _ = ts.Graph().as_default()
        >>> c = ts.constant(2.0, name="c")
        >>> operand(c)
        2.00000000000000
        >>> with constants_as_symbols():
        ...     operand(c)
        c
    """
    return _constants.on()
