"""Backends: the SymPy printer, the array module and the device transfer of each.

The generated code of every backend comes from the same SymPy formulas through SymPy's own printers
(``NumPyPrinter``, ``CuPyPrinter``, ``JaxPrinter``). :class:`ArrayPrinterFixes` is the one place where symslow works
around what those printers do not do for arrays.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import sympy
from sympy.printing.numpy import CuPyPrinter, JaxPrinter, NumPyPrinter


class ArrayPrinterFixes:
    """Where SymPy's array printers fall short for elementwise code on arrays, and what symslow prints instead.

    * ``Max``/``Min`` print as ``functools.reduce`` over a list: fine, but ``maximum(a, b)`` is direct.
    * ``Heaviside`` prints as ``select`` over every branch; ``heaviside(x, h0)`` is one call.
    * ``x**-1`` prints as ``x**(-1.0)``, slower than ``1/x``.
    """

    def _print_Max(self, expr):
        return self._fold("maximum", expr.args)

    def _print_Min(self, expr):
        return self._fold("minimum", expr.args)

    def _fold(self, name, args):
        text = self._print(args[0])
        for arg in args[1:]:
            text = f"{self._module_format(self._module + '.' + name)}({text}, {self._print(arg)})"
        return text

    def _print_Heaviside(self, expr):
        h0 = expr.args[1] if len(expr.args) > 1 else sympy.Rational(1, 2)
        return f"{self._module_format(self._module + '.heaviside')}({self._print(expr.args[0])}, {float(h0)!r})"

    def _print_Pow(self, expr, rational=False):
        if expr.exp == -1:
            return f"1/{self.parenthesize(expr.base, 1000)}"
        return super()._print_Pow(expr, rational=rational)


class NumPyCodePrinter(ArrayPrinterFixes, NumPyPrinter):
    pass


class CuPyCodePrinter(ArrayPrinterFixes, CuPyPrinter):
    pass


class JaxCodePrinter(ArrayPrinterFixes, JaxPrinter):
    pass


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

    def print_code(self, expr: sympy.Expr) -> str:
        # order="none": terms in SymPy's own order; sorting them costs more than the rest of printing
        return self.printer({"fully_qualified_modules": True, "strict": True, "order": "none"}).doprint(expr)


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


def get_backend(name: str) -> Backend:
    """The backend called ``name`` ("numpy", "jax" or "cupy"); a clear error when its package is missing.

    Example:
        >>> from symslow.backends import get_backend
        >>> get_backend("numpy").print_code(sympy.exp(sympy.Symbol("x")))
        'numpy.exp(x)'
    """
    if name == "numpy":
        return Backend("numpy", NumPyCodePrinter, {"numpy": "numpy"})
    if name == "jax":
        return _jax_backend()
    if name == "cupy":
        return _cupy_backend()
    raise ValueError(f"Unknown backend {name!r}: choose 'numpy', 'jax', 'cupy' or 'interpreter'.")


def available_backends() -> list[str]:
    """The compiled backends that run on this machine: "numpy", then "jax" and "cupy" where their packages (and,
    for CuPy, a GPU) are present. The "interpreter" session needs nothing and always runs.

    Example:
        >>> from symslow.backends import available_backends
        >>> available_backends()[0]
        'numpy'
    """
    names = []
    for name in ("numpy", "jax", "cupy"):
        try:
            get_backend(name)
        except ImportError:
            continue
        names.append(name)
    return names
