"""SymPy functions for the array expressions the compiler writes itself.

Each is a small ``sympy.Function`` that SymPy never evaluates and that prints as one expression for every backend
(``_numpycode``, ``_cupycode``, ``_jaxcode``): a sum or maximum as an array method, a transpose as ``.T``, a
broadcast to a shape the compiler knows. Ops use them in :meth:`~symslow.ops.base.Operation.formula_for_shapes`,
the form of their formula once the compiler knows every input's shape.
"""

from __future__ import annotations

import re

import sympy
from sympy.printing.precedence import PRECEDENCE


def postfix(text: str) -> str:
    """``text`` ready for a postfix like ``.T``: parenthesised unless it is a plain name."""
    return text if text.isidentifier() else f"({text})"


class ArrayFunction(sympy.Function):
    """An array expression SymPy never evaluates, printed by ``_numpycode`` for every backend unless one overrides.

    Commutative like a node's symbol: it stands for an array value inside elementwise products.
    """

    is_commutative = True

    @classmethod
    def eval(cls, *args):
        return None

    def _cupycode(self, printer) -> str:
        return self._numpycode(printer)

    def _jaxcode(self, printer) -> str:
        return self._numpycode(printer)


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

    def _numpycode(self, printer):
        return printer._print(self.args[0])


class KeepShape(ArrayFunction):
    """``expr`` broadcast to the shape of ``refs``: SymPy simplified away an input that decided the shape."""

    def _numpycode(self, printer):
        expr, *refs = [printer._print(a) for a in self.args]
        module = printer._module_format(printer._module)
        shapes = ", ".join(f"{module}.shape({r})" for r in refs)
        return f"{module}.broadcast_to({expr}, {module}.broadcast_shapes({shapes}))"


class BroadcastTo(ArrayFunction):
    """``expr`` broadcast to a shape known when the program was compiled."""

    def _numpycode(self, printer):
        expr, shape = self.args
        module = printer._module_format(printer._module)
        return f"{module}.broadcast_to({printer._print(expr)}, {tuple(int(d) for d in shape)!r})"


# The longest axis a NumPy reduction is written out for, element by element (see ArrayReduce).
UNROLLED_AXIS = 4


class ArrayReduce(ArrayFunction):
    """``expr.sum(...)`` or ``expr.max(...)`` over ``axes`` of an operand of known ``shape``: a reduction the compiler
    writes itself, as an array method (one call, no Python wrapper around it).

    For NumPy, a reduction over one short axis (at most :data:`UNROLLED_AXIS` long) of a named array is written out
    as elementwise operations on its slices, ``numpy.add(numpy.add(x[:, 0:1], x[:, 1:2]), 0)``: NumPy's reduce
    machinery costs several times an elementwise call on the small arrays of a tutorial's network (a softmax over
    two classes), and the result is the same: NumPy's sum adds the elements in order to 0 (the final ``+ 0`` makes
    a sum of negative zeros +0, as NumPy's is; it is left out where a fifth argument, true, says that the operand
    holds no -0, as an exponential does not). (An axis of one element stays a reduction, which makes a new array
    where a slice would be a view of the operand.)
    """

    method: str  # the array method: "sum" or "max"
    elementwise: str  # the NumPy function that combines two slices: "add" or "maximum"
    start: str = ""  # what the combined slices are combined with at the end: the identity NumPy's reduction starts from

    def _method_code(self, printer) -> str:
        expr, axes, keepdims, *_ = self.args
        axes = tuple(int(a) for a in axes)
        return f"{postfix(printer._print(expr))}.{self.method}(axis={axes!r}, keepdims={bool(keepdims)})"

    def _numpycode(self, printer) -> str:
        expr, axes, keepdims, shape, *no_negative_zero = self.args
        if len(axes) != 1 or not isinstance(expr, sympy.Symbol) or not 2 <= int(shape[int(axes[0])]) <= UNROLLED_AXIS:
            return self._method_code(printer)
        axis, name = int(axes[0]), printer._print(expr)
        lead = ":, " * axis
        parts = [f"{name}[{lead}{i}:{i + 1}]" if keepdims else f"{name}[{lead}{i}]" for i in range(int(shape[axis]))]
        module = printer._module_format(printer._module)
        combined = parts[0]
        for part in parts[1:]:
            combined = f"{module}.{self.elementwise}({combined}, {part})"
        if self.start and not any(no_negative_zero):
            return f"{module}.{self.elementwise}({combined}, {self.start})"
        return combined

    def _cupycode(self, printer) -> str:  # one reduction kernel on a GPU, rather than several elementwise ones
        return self._method_code(printer)

    def _jaxcode(self, printer) -> str:  # XLA fuses the reduction itself
        return self._method_code(printer)


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
    """``x.T`` of an array whose shape the compiler knows (an attribute, not a call)."""

    def _numpycode(self, printer):
        return f"{postfix(printer._print(self.args[0]))}.T"


class MatmulT(ArrayFunction):
    """``a.T @ b`` or ``a @ b.T`` (which operand is transposed in the 0/1 flags): for JAX one dot that contracts
    the right axes, since XLA on the CPU would otherwise copy the transposed matrix first."""

    def _numpycode(self, printer):
        a, b, ta, tb = self.args
        a_text, b_text = postfix(printer._print(a)), postfix(printer._print(b))
        return f"({a_text + '.T' if ta else a_text} @ {b_text + '.T' if tb else b_text})"  # `@` binds like `*`

    def _jaxcode(self, printer):
        a, b, ta, tb = self.args
        return f"dot_t({printer._print(a)}, {printer._print(b)}, {bool(ta)}, {bool(tb)})"


class ExpandDims(ArrayFunction):
    """``expr`` with size-1 axes inserted at ``axes`` (what a reduction removed), before a broadcast."""

    def _numpycode(self, printer):
        expr, axes = self.args
        module = printer._module_format(printer._module)
        return f"{module}.expand_dims({printer._print(expr)}, {tuple(int(a) for a in axes)!r})"


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
