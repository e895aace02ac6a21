"""Backends: the SymPy printer, the array module and the device transfer of each.

The generated code of every backend comes from the same SymPy formulas through SymPy's own printers
(``NumPyPrinter``, ``CuPyPrinter``, ``JaxPrinter``). :class:`ArrayPrinterFixes` is the one place where symslow works
around what those printers do not do for arrays.
"""

from __future__ import annotations

import importlib
import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import sympy
from sympy.printing.numpy import CuPyPrinter, JaxPrinter, NumPyPrinter
from sympy.printing.precedence import PRECEDENCE


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

    def checked_indices(self, indices: str, size: str) -> str:
        """``indices`` (code) checked to lie in [0, size) before an op indexes with them."""
        return f"runtime.checked_indices({indices}, {size})"

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


class NumPyCodePrinter(ArrayPrinterFixes, NumPyPrinter):
    """NumPy's spellings: :class:`ArrayPrinterFixes`, and ``Heaviside(x, 0)`` as ``sign(maximum(x, 0))`` and
    ``Heaviside(x, 1)`` as ``minimum(sign(x) + 1, 1)``: the values of ``heaviside(x, h0)`` (NaN at NaN, ``h0`` at -0
    and +0, the dtype of ``x``), without its branch per element, which costs 15 ms on 1.6 million float32 values of
    mixed signs where these take 2 to 4 ms.

    Example:
        >>> x = sympy.Symbol("x")
        >>> get_backend("numpy").print_code(sympy.Heaviside(x, 0), {x: "v0"})
        'numpy.sign(numpy.maximum(v0, 0))'
    """

    def _print_Heaviside(self, expr):
        h0 = expr.args[1] if len(expr.args) > 1 else None
        sign = self._module_format(self._module + ".sign")
        if h0 == 0:
            return f"{sign}({self._module_format(self._module + '.maximum')}({self._print(expr.args[0])}, 0))"
        if h0 == 1:
            return f"{self._module_format(self._module + '.minimum')}({sign}({self._print(expr.args[0])}) + 1, 1)"
        return super()._print_Heaviside(expr)


class CuPyCodePrinter(ArrayPrinterFixes, CuPyPrinter):
    pass


class JaxCodePrinter(ArrayPrinterFixes, JaxPrinter):
    """JAX's spellings: :class:`ArrayPrinterFixes`, and indices taken unchecked, because a jit-compiled step cannot
    raise on a value: XLA clamps an out-of-range index of a gather and drops it from the gradient's scatter."""

    def checked_indices(self, indices: str, size: str) -> str:
        return indices


@dataclass
class Backend:
    """How generated code runs on one array library.

    Attributes:
        name: the backend's name ("numpy", "jax", "cupy").
        printer: the SymPy code printer class for this array library.
        modules: names in the generated code's namespace -> modules to import.
        to_device: puts a NumPy array where the backend computes (the GPU for CuPy).
        to_host: brings a computed value back as a NumPy array.
        jit: wraps the generated step function (``jax.jit`` for JAX; nothing for the others).
        array_type: the backend's own array type, fed as it is (``jax.Array``, ``cupy.ndarray``); None for NumPy.
        immutable: whether its arrays cannot be changed in place (JAX's), so that a Variable's value may be a fed
            array itself rather than a copy.
        takes_host_arrays: whether the jit-wrapped step takes NumPy arrays and moves them itself (JAX's does, faster
            than a transfer of each before the call).
        extra: more names for the generated code's namespace (``dot_t`` for JAX).
    """

    name: str
    printer: type
    modules: dict[str, str]
    to_device: Callable[[Any], Any] = np.asarray
    to_host: Callable[[Any], Any] = np.asarray
    jit: Callable[[Callable], Callable] = staticmethod(lambda f: f)
    array_type: type | None = None
    immutable: bool = False
    takes_host_arrays: bool = False
    extra: dict = field(default_factory=dict)

    def is_native(self, value: Any) -> bool:
        """Whether ``value`` is already an array of this backend (fed without a round trip through NumPy)."""
        return self.array_type is not None and isinstance(value, self.array_type)

    def namespace(self) -> dict[str, Any]:
        from . import runtime

        names = {alias: importlib.import_module(module) for alias, module in self.modules.items()}
        names["runtime"] = runtime
        names.update(self.extra)
        return names

    def print_code(self, expr: sympy.Expr, symbol_names: dict | None = None) -> str:
        """``expr`` as code of this backend; with ``symbol_names``, each symbol printed as the text it maps to.

        Example:
            >>> x = sympy.Symbol("x")
            >>> get_backend("numpy").print_code(sympy.Max(x, 0) ** 2, {x: "v0"})
            'numpy.square(numpy.maximum(v0, 0))'
        """
        # order="none": terms in SymPy's own order; sorting them costs more than the rest of printing
        printer = self.printer({"fully_qualified_modules": True, "strict": True, "order": "none"})
        printer.symbol_names = symbol_names
        return printer.doprint(expr)

    def literal(self, value: Any) -> tuple[str, str]:
        """A NumPy scalar as code: ``(weak, typed)``. The weak form is a plain Python number, which NumPy and JAX
        convert exactly to the dtype of the array it meets (a float32 ``0.1`` stays float32's 0.1); the typed
        form keeps the value's own dtype where no array gives one.

        Example:
            >>> get_backend("numpy").literal(np.float32(0.1))
            ('0.1', 'numpy.float32(0.1)')
            >>> get_backend("jax").literal(np.float64(-np.inf))[1]
            "jax.numpy.float64('-inf')"
        """
        value = np.asarray(value)[()]
        kind, module = value.dtype.kind, self.printer._module
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


_INSTALL = {"jax": "pip install symslow[jax]", "cupy": "pip install symslow[cupy] (needs a CUDA GPU)"}


def _require(name: str):
    try:
        return importlib.import_module(name)
    except ImportError:
        raise ImportError(f"Backend {name!r} needs the {name} package: {_INSTALL[name]}.") from None


def _jax_backend() -> Backend:
    jax = _require("jax")
    importlib.import_module("jax.numpy")
    jax.config.update("jax_enable_x64", True)  # float64 is symslow's default dtype; float32 stays selectable
    array_type = jax.Array

    def dot_t(a, b, transpose_a, transpose_b):
        """``a.T @ b`` or ``a @ b.T`` as one XLA dot that contracts the right axes (no transpose is made)."""
        lhs = (0,) if transpose_a else (a.ndim - 1,)
        rhs = (b.ndim - 1,) if transpose_b else (0,)
        return jax.lax.dot_general(a, b, ((lhs, rhs), ((), ())))

    def to_device(value):
        return value if isinstance(value, array_type) else jax.numpy.asarray(value)

    return Backend(
        "jax",
        JaxCodePrinter,
        {"jax": "jax"},
        to_device=to_device,
        to_host=np.asarray,
        jit=jax.jit,  # the whole step, forward, backward and updates, as one XLA computation
        array_type=array_type,
        immutable=True,
        takes_host_arrays=True,
        extra={"dot_t": dot_t},
    )


def _cupy_backend() -> Backend:
    cupy = _require("cupy")
    try:
        cupy.cuda.runtime.getDeviceCount()
    except Exception as error:  # installed, but no usable GPU
        raise ImportError(f"Backend 'cupy' needs a CUDA GPU, and CuPy found none: {error}") from None
    return Backend("cupy", CuPyCodePrinter, {"cupy": "cupy"}, to_device=cupy.asarray, to_host=cupy.asnumpy,
                   array_type=cupy.ndarray)


def _numpy_backend() -> Backend:
    return Backend("numpy", NumPyCodePrinter, {"numpy": "numpy"})


# every compiled backend, by name: Session, available_backends() and the error messages read this one table
COMPILED = {"numpy": _numpy_backend, "jax": _jax_backend, "cupy": _cupy_backend}
# what Session(backend=...) takes: the compiled backends, and the interpreter (symslow.interpreter), the oracle
SESSION_BACKENDS = (*COMPILED, "interpreter")


def get_backend(name: str) -> Backend:
    """The backend called ``name`` ("numpy", "jax" or "cupy"); a clear error when its package is missing.

    Example:
        >>> from symslow.backends import get_backend
        >>> get_backend("numpy").print_code(sympy.exp(sympy.Symbol("x")))
        'numpy.exp(x)'
    """
    make = COMPILED.get(name)
    if make is None:
        raise ValueError(f"Unknown backend {name!r}: choose one of {', '.join(map(repr, SESSION_BACKENDS))}.")
    return make()


def available_backends() -> list[str]:
    """The compiled backends that run on this machine: "numpy", then "jax" and "cupy" where their packages (and,
    for CuPy, a GPU) are present. The "interpreter" session needs nothing and always runs.

    Example:
        >>> from symslow.backends import available_backends
        >>> available_backends()[0]
        'numpy'
    """
    names = []
    for name in COMPILED:
        try:
            get_backend(name)
        except ImportError:
            continue
        names.append(name)
    return names
