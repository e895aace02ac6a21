"""SymPy functions for the array expressions the compiler writes itself.

Each is a small ``sympy.Function`` that SymPy never evaluates and that prints as one expression for every backend
(``_numpycode``, ``_cupycode``, ``_jaxcode``): a sum or maximum as an array method, a transpose as ``.T``, a
broadcast to a shape the compiler knows. Ops use them in :meth:`~symslow.ops.base.Operation.formula_for_shapes`,
the form of their formula once the compiler knows every input's shape.
"""

from __future__ import annotations

import sympy


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


class ArrayReduce(ArrayFunction):
    """``expr.sum(...)`` or ``expr.max(...)`` over ``axes``: a reduction the compiler writes itself, as an array
    method (one call, no Python wrapper around it)."""

    method = "sum"

    def _numpycode(self, printer):
        expr, axes, keepdims = self.args
        axes = tuple(int(a) for a in axes)
        return f"{postfix(printer._print(expr))}.{self.method}(axis={axes!r}, keepdims={bool(keepdims)})"


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


class ArraySum(ArrayReduce):
    method = "sum"


class ArrayMax(ArrayReduce):
    method = "max"


class ExpandDims(ArrayFunction):
    """``expr`` with size-1 axes inserted at ``axes`` (what a reduction removed), before a broadcast."""

    def _numpycode(self, printer):
        expr, axes = self.args
        module = printer._module_format(printer._module)
        return f"{module}.expand_dims({printer._print(expr)}, {tuple(int(a) for a in axes)!r})"

