"""Backends: the code printer, the array module and the device transfer of each, in one registry.

The generated code of every backend comes from the same SymPy formulas through its printer
(:mod:`symslow.printers`), which holds every spelling of its array library; a :class:`Backend` adds how that code
runs. :data:`COMPILED` lists the backends: ``Session``, :func:`available_backends` and the error messages read it.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import sympy

from .printers import ArrayCodePrinter, CuPyCodePrinter, JaxCodePrinter, NumPyCodePrinter

__all__ = ["Backend", "ArrayCodePrinter", "CuPyCodePrinter", "JaxCodePrinter", "NumPyCodePrinter", "COMPILED",
           "INTERPRETER", "session_backends", "register_backend", "get_backend", "available_backends"]


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
        hoists_draws: whether random ops that read only their inputs' shapes (dropout's mask) are drawn before the
            step and passed in with the feeds, so that a step with dropout is still one jitted computation (JAX's);
            elsewhere they are called inside the step.
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
    hoists_draws: bool = False
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
        printer = self.code_printer()
        printer.symbol_names = symbol_names
        return printer.doprint(expr)

    def code_printer(self) -> ArrayCodePrinter:
        """A printer of this backend's code, as the compiler prints with it.

        Example:
            >>> get_backend("numpy").code_printer().cast("v0", "float32")
            "numpy.asarray(v0, dtype='float32')"
        """
        # order="none": terms in SymPy's own order; sorting them costs more than the rest of printing
        return self.printer({"fully_qualified_modules": True, "strict": True, "order": "none"})


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
        hoists_draws=True,
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
COMPILED: dict[str, Callable[[], Backend]] = {"numpy": _numpy_backend, "jax": _jax_backend, "cupy": _cupy_backend}
# the session backend that compiles nothing: symslow.interpreter, the oracle every compiled backend is tested against
INTERPRETER = "interpreter"


def session_backends() -> tuple[str, ...]:
    """What ``Session(backend=...)`` takes: every registered compiled backend, and the interpreter.

    Example:
        >>> session_backends()[:3], session_backends()[-1]
        (('numpy', 'jax', 'cupy'), 'interpreter')
    """
    return (*COMPILED, INTERPRETER)


def register_backend(name: str, make: Callable[[], Backend]) -> None:
    """Make ``Session(backend=name)`` compile with the backend ``make()`` returns (it may raise ImportError with
    how to install what it needs): a printer class and how its code runs, no op changed.

    Example:
        >>> class Calls(NumPyCodePrinter):  # a matrix product as numpy.matmul rather than `@`
        ...     def matmul(self, a, b, transpose_a=False, transpose_b=False):
        ...         return self.call("matmul", self.transposed(a) if transpose_a else a,
        ...                          self.transposed(b) if transpose_b else b)
        >>> register_backend("numpy-calls", lambda: Backend("numpy-calls", Calls, {"numpy": "numpy"}))
        >>> import symslow as ts
        >>> _ = ts.Graph().as_default()
        >>> x = ts.placeholder(ts.float32, name="x")
        >>> y = ts.matmul(x, ts.constant([[1.0, 2.0], [3.0, 4.0]]))
        >>> print(ts.Session(backend="numpy-calls").source(y, {x: [[1.0, 1.0]]}).splitlines()[-2].strip())
        v2 = numpy.matmul(v0, v1)
        >>> ts.Session(backend="numpy-calls").run(y, {x: [[1.0, 1.0]]})
        array([[4., 6.]], dtype=float32)
        >>> del COMPILED["numpy-calls"]
    """
    if name == INTERPRETER:
        raise ValueError(f"{INTERPRETER!r} is the interpreter's name; choose another for a compiled backend.")
    COMPILED[name] = make


def unknown_backend_error(name: str) -> ValueError:
    """The error for a backend name that is not registered, listing those that are.

    Example:
        >>> print(unknown_backend_error("numpyy"))
        Unknown backend 'numpyy': choose one of 'numpy', 'jax', 'cupy', 'interpreter'.
    """
    return ValueError(f"Unknown backend {name!r}: choose one of {', '.join(map(repr, session_backends()))}.")


def get_backend(name: str) -> Backend:
    """The backend called ``name`` ("numpy", "jax" or "cupy"); a clear error when its package is missing.

    Example:
        >>> from symslow.backends import get_backend
        >>> get_backend("numpy").print_code(sympy.exp(sympy.Symbol("x")))
        'numpy.exp(x)'
    """
    make = COMPILED.get(name)
    if make is None:
        raise unknown_backend_error(name)
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
