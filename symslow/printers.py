"""The code printers of the backends: one class per array library, holding every spelling of that library.

Formulas reach the generated code through SymPy's own printers (``NumPyPrinter``, ``CuPyPrinter``, ``JaxPrinter``),
with two layers of symslow's on top:

* :class:`ArrayPrinterFixes`, the one place where symslow works around what SymPy's printers do not do for arrays;
* :class:`ArrayCodePrinter`, the words a structural op or the compiler prints itself with: ``reduce``,
  ``expand_dims``, ``matmul``, ``kernel``, ``call`` and the rest. An op states what it computes in these words and
  never a library's function or keyword names; each backend's printer spells them (NumPy's spellings are the
  defaults, JAX's printer writes a transposed product as one ``dot_general``). Adding a backend is adding a printer.

Example:
    >>> printer = NumPyCodePrinter({"fully_qualified_modules": True})
    >>> printer.reduce("sum", "g", axis=(0,), keepdims=True), printer.matmul("a", "b", transpose_a=True)
    ('numpy.sum(g, axis=(0,), keepdims=True)', '(a.T @ b)')
    >>> JaxCodePrinter({"fully_qualified_modules": True}).matmul("a", "b", transpose_a=True)
    'dot_t(a, b, True, False)'
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
import sympy
from sympy.printing.numpy import CuPyPrinter, JaxPrinter, NumPyPrinter
from sympy.printing.precedence import PRECEDENCE


def postfix(text: str) -> str:
    """``text`` ready for a postfix like ``.T`` or ``[i]``: parenthesised unless it is a plain name."""
    return text if text.isidentifier() else f"({text})"


class ArrayPrinterFixes:
    """Where SymPy's array printers fall short for elementwise code on arrays, and what symslow prints instead.

    The printed code computes the formula as it is written, IEEE value for value, the same in every context (a
    NumPy scalar, a 0-d array, an array):

    * a ``Float`` prints as Python's ``repr`` of it, every digit kept (SymPy prints 15 significant digits, so that
      ``0.1 + 0.2`` would become ``0.3``);
    * a power prints as one ufunc: ``x**2`` as ``square(x)``, any other exponent as ``power(x, y)``, because
      ``x ** y`` takes shortcuts for arrays (``x ** 0.5`` is ``sqrt``, which differs from ``power`` at -0 and -inf)
      that a NumPy scalar does not take; ``x**-1`` and ``x**(1/2)`` print as ``1/x`` and ``sqrt(x)``, the formula's
      own spelling of a reciprocal and a square root;
    * ``Max``/``Min`` print as ``maximum(a, b)``, numbers last (``maximum(x, 0)``, which keeps -0 as NumPy's own
      ``maximum(x, 0)`` does), rather than ``functools.reduce`` over a list;
    * ``Heaviside`` prints as one ``heaviside(x, h0)`` call rather than ``select`` over every branch (NumPy's
      printer spells it faster, see :class:`NumPyCodePrinter`).

    A printer given ``symbol_names`` prints each symbol as the text it maps it to, and refuses any other symbol: the
    compiler prints formulas over its own names only.
    """

    symbol_names: dict | None = None

    def _print_Symbol(self, expr):
        if self.symbol_names is None:
            return super()._print_Symbol(expr)
        return self.symbol_names[expr]

    _print_Dummy = _print_Symbol

    def _print_Float(self, expr):
        value = float(expr)
        if math.isfinite(value):
            return repr(value)
        return self._print(sympy.nan if math.isnan(value) else sympy.oo if value > 0 else -sympy.oo)

    def _print_Infinity(self, expr):
        return self._module_format(self._module + ".inf")

    def _print_NaN(self, expr):
        return self._module_format(self._module + ".nan")

    def _print_Max(self, expr):
        return self._fold("maximum", expr.args)

    def _print_Min(self, expr):
        return self._fold("minimum", expr.args)

    def _fold(self, name, args):
        args = sorted(args, key=lambda a: a.is_Number)  # numbers last, the rest in SymPy's order (a stable sort)
        text = self._print(args[0])
        for arg in args[1:]:
            text = f"{self._module_format(self._module + '.' + name)}({text}, {self._print(arg)})"
        return text

    def _print_Heaviside(self, expr):
        h0 = expr.args[1] if len(expr.args) > 1 else sympy.Rational(1, 2)
        return f"{self._module_format(self._module + '.heaviside')}({self._print(expr.args[0])}, {float(h0)!r})"

    def _print_Pow(self, expr, rational=False):
        base, exponent = expr.base, expr.exp
        if exponent is sympy.S.NegativeOne:  # 1/(a*b), but 1/x and 1/exp(x)
            return f"1/{self.parenthesize(base, PRECEDENCE['Mul'], strict=False)}"
        if exponent is sympy.S.Half:
            return f"{self._module_format(self._module + '.sqrt')}({self._print(base)})"
        if exponent == -sympy.S.Half and exponent.is_Rational:
            return f"1/{self._module_format(self._module + '.sqrt')}({self._print(base)})"
        if exponent == 2 and exponent.is_Integer:
            return f"{self._module_format(self._module + '.square')}({self._print(base)})"
        if exponent.is_Integer and exponent.is_negative:  # NumPy takes integers to negative powers only as floats
            exponent = sympy.Float(exponent)
        return f"{self._module_format(self._module + '.power')}({self._print(base)}, {self._print(exponent)})"


class ArrayCodePrinter(ArrayPrinterFixes):
    """The words structural ops and the compiler print code with, spelled as NumPy spells them; a backend's
    printer overrides the words its library spells otherwise.

    Arguments are code already printed (strings); axes, shapes and dtypes are Python values. A structural op in a
    formula and an array expression of the compiler's (:mod:`symslow.printing`) print themselves through
    ``_array_code(printer)``, the print method of every array printer (where SymPy's own printers each have one,
    ``_numpycode``, ``_cupycode``, ``_jaxcode``): an op states its code once, for every backend.
    """

    # whether a sum or maximum over one short axis of a named array is written out elementwise (see ArrayReduce)
    unrolls_short_reductions = False

    def __init__(self, settings: dict | None = None):
        super().__init__(settings)
        self.printmethod = "_array_code"  # SymPy's NumPy printers set theirs when made, so ours is set after

    def module(self) -> str:
        """The array module itself (``numpy``, ``cupy``, ``jax.numpy``), for a function that takes it."""
        return self._module_format(self._module)

    def call(self, name: str, *args: str) -> str:
        """``name(args)`` of the array module, positional arguments only: ``numpy.where(c, x, y)``."""
        return f"{self._module_format(self._module + '.' + name)}({', '.join(args)})"

    def runtime(self, name: str, *args: str) -> str:
        """A function of :mod:`symslow.runtime`, for what no one expression of the array module says."""
        return f"runtime.{name}({', '.join(args)})"

    def kernel(self, name: str, args: Sequence[str], **attrs: Any) -> str:
        """A kernel of :mod:`symslow.runtime` written against the array module it is given (a convolution, a
        softmax), its attributes as keywords."""
        return self.runtime(name, self.module(), *args, *[f"{k}={v}" for k, v in attrs.items()])

    def reduce(self, name: str, x: str, axis: Any = None, keepdims: bool = False) -> str:
        """A reduction (``sum``, ``max``, ``argmax``, ...) of ``x`` over ``axis`` (None: every axis)."""
        if keepdims:
            return self.call(name, x, f"axis={axis!r}", f"keepdims={keepdims}")
        return self.call(name, x, f"axis={axis!r}") if axis is not None else self.call(name, x)

    def reduce_array(self, name: str, x: str, axes: tuple, keepdims: bool) -> str:
        """A reduction of an operand known to be an array, as the array's own method (one call, no wrapper)."""
        return f"{postfix(x)}.{name}(axis={axes!r}, keepdims={keepdims})"

    def expand_dims(self, x: str, axis: Any) -> str:
        """``x`` with size-1 axes inserted at ``axis`` (an int or a tuple)."""
        return self.call("expand_dims", x, repr(axis))

    def squeeze(self, x: str, axis: Any = None) -> str:
        """``x`` without its size-1 axes ``axis`` (None: all of them)."""
        return self.call("squeeze", x) if axis is None else self.call("squeeze", x, f"axis={axis!r}")

    def broadcast_to(self, x: str, shape: str) -> str:
        """``x`` broadcast to ``shape`` (code: a tuple written out, or an expression giving one)."""
        return self.call("broadcast_to", x, shape)

    def shape(self, x: str) -> str:
        """The shape of ``x``, a tuple."""
        return self.call("shape", x)

    def dim(self, x: str, axis: int) -> str:
        """The length of axis ``axis`` of the array ``x``."""
        return f"{postfix(x)}.shape[{axis}]"

    def cast(self, x: str, dtype: str) -> str:
        """``x`` as an array of ``dtype`` (a dtype's name), not copied where it is one already."""
        return self.call("asarray", x, f"dtype={dtype!r}")

    def astype(self, x: str, dtype: str) -> str:
        """The array ``x`` converted to ``dtype``: a dtype's name, or code giving a dtype (``g.dtype``)."""
        return f"{x}.astype({dtype})"

    def dtype_of(self, x: str) -> str:
        """The dtype of the array ``x``, as code."""
        return f"{x}.dtype"

    def index(self, x: str, key: str) -> str:
        """``x[key]``: a basic index (slices, integers, ``None``, ``...``) written out as Python writes it."""
        return f"{x if x.isidentifier() else f'({x})'}[{key}]"

    def transposed(self, x: str) -> str:
        """The transpose of the matrix ``x`` (an array, not a number)."""
        return f"{postfix(x)}.T"

    def matmul(self, a: str, b: str, transpose_a: bool = False, transpose_b: bool = False) -> str:
        """The matrix product of ``a`` and ``b``, either transposed first."""
        a, b = postfix(a), postfix(b)
        # parenthesised: `*` and `@` share one precedence in Python, and the printer sees this as a function call
        return f"({a + '.T' if transpose_a else a} @ {b + '.T' if transpose_b else b})"

    def take(self, params: str, indices: str, axis: int) -> str:
        """The slices of ``params`` along ``axis`` at ``indices``."""
        return self.call("take", params, indices, f"axis={axis}")

    def tensordot(self, a: str, b: str, axes: tuple) -> str:
        """``a`` and ``b`` contracted over the axes ``axes = (of a, of b)``."""
        return self.call("tensordot", a, b, f"axes={axes!r}")

    def concatenate(self, values: Sequence[str], axis: int) -> str:
        """``values`` joined along ``axis``."""
        return self.call("concatenate", f"({', '.join(values)},)", f"axis={axis}")

    def flip(self, x: str, axis: Any) -> str:
        """``x`` reversed along ``axis`` (an int or a tuple)."""
        return self.call("flip", x, f"axis={axis!r}")

    def pad(self, x: str, paddings: Any, value: Any = 0) -> str:
        """``x`` padded by ``paddings`` (before, after) per axis with the constant ``value``."""
        if value:
            return self.call("pad", x, repr(paddings), f"constant_values={value!r}")
        return self.call("pad", x, repr(paddings))

    def literal(self, value: Any) -> tuple[str, str]:
        """A NumPy scalar as code: ``(weak, typed)``. The weak form is a plain Python number, which NumPy and JAX
        convert exactly to the dtype of the array it meets (a float32 ``0.1`` stays float32's 0.1); the typed
        form keeps the value's own dtype where no array gives one.

        Example:
            >>> import numpy as np
            >>> from symslow.backends import get_backend
            >>> get_backend("numpy").code_printer().literal(np.float32(0.1))
            ('0.1', 'numpy.float32(0.1)')
            >>> get_backend("jax").code_printer().literal(np.float64(-np.inf))[1]
            "jax.numpy.float64('-inf')"
        """
        value = np.asarray(value)[()]
        kind, module = value.dtype.kind, self._module
        if kind == "b":
            weak = repr(bool(value))
        elif kind in "iu":
            weak = repr(int(value))
        elif kind == "f":
            number = float(value)
            if not math.isfinite(number):
                weak = f"float({repr(number)!r})"
            else:  # the shortest decimal that reads back as the same value of its own dtype
                weak = str(value) if value.dtype.itemsize < 8 else repr(number)
        else:
            weak = repr(complex(value))
        plain = weak[len("float("):-1] if weak.startswith("float(") else weak
        return weak, f"{module}.{value.dtype.name}({plain})"

    def checked_indices(self, indices: str, size: str) -> str:
        """``indices`` checked to lie in [0, size) before an op indexes with them."""
        return self.runtime("checked_indices", indices, size)


class NumPyCodePrinter(ArrayCodePrinter, NumPyPrinter):
    """NumPy's spellings: the words of :class:`ArrayCodePrinter` as they are, short reductions written out
    elementwise, and ``Heaviside(x, 0)`` as ``sign(maximum(x, 0))`` and
    ``Heaviside(x, 1)`` as ``minimum(sign(x) + 1, 1)``: the values of ``heaviside(x, h0)`` (NaN at NaN, ``h0`` at -0
    and +0, the dtype of ``x``), without its branch per element, which costs 15 ms on 1.6 million float32 values of
    mixed signs where these take 2 to 4 ms.

    Example:
        >>> from symslow.backends import get_backend
        >>> x = sympy.Symbol("x")
        >>> get_backend("numpy").print_code(sympy.Heaviside(x, 0), {x: "v0"})
        'numpy.sign(numpy.maximum(v0, 0))'
    """

    # NumPy's reduce machinery costs several times an elementwise call on the small arrays of a tutorial's network
    unrolls_short_reductions = True

    def _print_Heaviside(self, expr):
        h0 = expr.args[1] if len(expr.args) > 1 else None
        sign = self._module_format(self._module + ".sign")
        if h0 == 0:
            return f"{sign}({self._module_format(self._module + '.maximum')}({self._print(expr.args[0])}, 0))"
        if h0 == 1:
            return f"{self._module_format(self._module + '.minimum')}({sign}({self._print(expr.args[0])}) + 1, 1)"
        return super()._print_Heaviside(expr)


class CuPyCodePrinter(ArrayCodePrinter, CuPyPrinter):
    """CuPy's spellings: NumPy's, with every reduction one kernel on the GPU (none written out elementwise)."""


class JaxCodePrinter(ArrayCodePrinter, JaxPrinter):
    """JAX's spellings: a kernel as its ``lax_`` version where :mod:`symslow.runtime` has one (one XLA call), a
    transposed product as one ``dot_general`` that contracts the right axes (XLA on the CPU would otherwise copy the
    transposed matrix first), and indices taken unchecked, because a jit-compiled step cannot raise on a value: XLA
    clamps an out-of-range index of a gather and drops it from the gradient's scatter."""

    def kernel(self, name: str, args: Sequence[str], **attrs: Any) -> str:
        from . import runtime

        if hasattr(runtime, "lax_" + name):
            return self.runtime("lax_" + name, *args, *[f"{k}={v}" for k, v in attrs.items()])
        return super().kernel(name, args, **attrs)

    def matmul(self, a: str, b: str, transpose_a: bool = False, transpose_b: bool = False) -> str:
        if transpose_a or transpose_b:
            return f"dot_t({a}, {b}, {bool(transpose_a)}, {bool(transpose_b)})"
        return super().matmul(a, b)

    def checked_indices(self, indices: str, size: str) -> str:
        return indices
