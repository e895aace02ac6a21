"""SymPy functions for the array expressions the compiler writes itself.

Each is a small ``sympy.Function`` that SymPy never evaluates and that prints itself (``print_code``) in the words
of the backend's printer (:class:`~symslow.printers.ArrayCodePrinter`): a sum or maximum as an array method, a
transpose, a broadcast to a shape the compiler knows. Ops use them in
:meth:`~symslow.ops.base.Operation.formula_for_shapes`, the form of their formula once the compiler knows every
input's shape.
"""

from __future__ import annotations

import re

import sympy
from sympy.printing.precedence import PRECEDENCE


class ArrayFunction(sympy.Function):
    """An array expression SymPy never evaluates, printed by its ``print_code(printer)`` for every backend.

    Commutative like a node's symbol: it stands for an array value inside elementwise products.
    """

    is_commutative = True

    @classmethod
    def eval(cls, *args):
        return None

    def _array_code(self, printer) -> str:
        return self.print_code(printer)

    def print_code(self, printer) -> str:
        """This expression in the words of ``printer`` (:class:`~symslow.printers.ArrayCodePrinter`)."""
        raise NotImplementedError


class Step(ArrayFunction):
    """One step of a formula written out in primitives, computed as a whole before what uses it: SymPy would merge
    ``(x - m) - l`` into one sum of three terms, printed in an order of its own, where the op subtracts ``m`` first.

    Example:
        >>> import sympy
        >>> from symslow.backends import get_backend
        >>> x, m, l = sympy.symbols("x m l")
        >>> get_backend("numpy").print_code(Step(x - m) - l), get_backend("numpy").print_code(sympy.exp(Step(x - m)))
        ('-l + (x - m)', 'numpy.exp(x - m)')
    """

    precedence = PRECEDENCE["Add"] - 1  # parenthesised inside any sum or product, bare as a function's argument

    def print_code(self, printer):
        return printer._print(self.args[0])


class KeepShape(ArrayFunction):
    """``expr`` broadcast to the shape of ``refs``: SymPy simplified away an input that decided the shape."""

    def print_code(self, printer):
        expr, *refs = [printer._print(a) for a in self.args]
        return printer.broadcast_to(expr, printer.call("broadcast_shapes", *[printer.shape(r) for r in refs]))


class BroadcastTo(ArrayFunction):
    """``expr`` broadcast to a shape known when the program was compiled."""

    def print_code(self, printer):
        expr, shape = self.args
        return printer.broadcast_to(printer._print(expr), repr(tuple(int(d) for d in shape)))


# The longest axis a NumPy reduction is written out for, element by element (see ArrayReduce).
UNROLLED_AXIS = 4


class ArrayReduce(ArrayFunction):
    """``expr.sum(...)`` or ``expr.max(...)`` over ``axes`` of an operand of known ``shape``: a reduction the compiler
    writes itself, as an array method (one call, no Python wrapper around it).

    Where the printer unrolls short reductions (NumPy's does: ``unrolls_short_reductions``), a reduction over one
    short axis (at most :data:`UNROLLED_AXIS` long) of a named array is written out as elementwise operations on
    its slices, ``numpy.add(numpy.add(x[:, 0:1], x[:, 1:2]), 0)``: NumPy's reduce machinery costs several times an
    elementwise call on the small arrays of a tutorial's network (a softmax over two classes), and the result is the
    same: NumPy's sum adds the elements in order to 0 (the final ``+ 0`` makes a sum of negative zeros +0, as
    NumPy's is; it is left out where a fifth argument, true, says that the operand holds no -0, as an exponential
    does not). (An axis of one element stays a reduction, which makes a new array where a slice would be a view of
    the operand.)
    """

    method: str  # the array method: "sum" or "max"
    elementwise: str  # the NumPy function that combines two slices: "add" or "maximum"
    start: str = ""  # what the combined slices are combined with at the end: the identity NumPy's reduction starts from

    def print_code(self, printer) -> str:
        expr, axes, keepdims, shape, *no_negative_zero = self.args
        axes = tuple(int(a) for a in axes)
        if not (printer.unrolls_short_reductions and len(axes) == 1 and isinstance(expr, sympy.Symbol)
                and 2 <= int(shape[axes[0]]) <= UNROLLED_AXIS):
            return printer.reduce_array(self.method, printer._print(expr), axes, bool(keepdims))
        axis, name = axes[0], printer._print(expr)
        lead = ":, " * axis
        parts = [printer.index(name, f"{lead}{i}:{i + 1}" if keepdims else f"{lead}{i}")
                 for i in range(int(shape[axis]))]
        combined = parts[0]
        for part in parts[1:]:
            combined = printer.call(self.elementwise, combined, part)
        if self.start and not any(no_negative_zero):
            return printer.call(self.elementwise, combined, self.start)
        return combined


class ArraySum(ArrayReduce):
    """A sum over ``axes``, computed as written (Σ(k x) is not k Σ x in floating point)."""

    method = "sum"
    elementwise = "add"
    start = "0"


class ArrayMax(ArrayReduce):
    """A maximum over ``axes``."""

    method = "max"
    elementwise = "maximum"


class ArrayTranspose(ArrayFunction):
    """The transpose of a matrix whose shape the compiler knows (``x.T`` for NumPy: an attribute, not a call)."""

    def print_code(self, printer):
        return printer.transposed(printer._print(self.args[0]))


class MatmulT(ArrayFunction):
    """``a.T @ b`` or ``a @ b.T`` (which operand is transposed in the 0/1 flags), printed as one product: the
    printer decides how (JAX's contracts the right axes rather than transposing first)."""

    def print_code(self, printer):
        a, b, ta, tb = self.args
        return printer.matmul(printer._print(a), printer._print(b), bool(ta), bool(tb))


class ExpandDims(ArrayFunction):
    """``expr`` with size-1 axes inserted at ``axes`` (what a reduction removed), before a broadcast."""

    def print_code(self, printer):
        expr, axes = self.args
        return printer.expand_dims(printer._print(expr), tuple(int(a) for a in axes))


_LATEX_TOKEN = re.compile(r"\\[A-Za-z]+|\\.|.", re.DOTALL)


def latex_operand(text: str) -> str:
    r"""The LaTeX ``text`` as the operand of an operator: parenthesised unless it is one term.

    SymPy's LaTeX puts a space between the terms of a sum and between the factors of a product; a name, a number, a
    power or a function call has none outside its groups (``{...}``, ``\left(...\right)``). A leading minus makes
    a term of its own.

    Example:
        >>> print(latex_operand("W_{1}"), latex_operand(r"\max\left(0, x + 1\right)"), latex_operand("2 x"))
        W_{1} \max\left(0, x + 1\right) \left(2 x\right)
    """
    depth, delimiter = 0, False
    for token in _LATEX_TOKEN.findall(text):
        if delimiter:  # the delimiter after \left or \right: ( [ | . \{ \lfloor ...
            delimiter = False
        elif token in (r"\left", r"\right"):
            depth += 1 if token == r"\left" else -1
            delimiter = True
        elif token in ("{", "("):
            depth += 1
        elif token in ("}", ")"):
            depth -= 1
        elif depth == 0 and token.isspace():
            return rf"\left({text}\right)"
    return rf"\left({text}\right)" if text.startswith("-") else text
