"""Values into and out of a run: a fed value checked and converted to its placeholder's dtype and shape
(:func:`convert_feed`), and a computed value returned in its node's dtype, never sharing memory with a Variable."""

from __future__ import annotations

from typing import Any

import numpy as np

from .errors import InvalidArgumentError
from .graph import format_shape
from .leaves import Placeholder, to_array


def convert_feed(placeholder: Placeholder, value: Any) -> np.ndarray:
    """A fed value as an array of the placeholder's dtype and shape, or a clear error naming the placeholder.

    A bare ``placeholder()`` takes a floating array as it is and anything else as float64."""
    dtype = np.dtype(placeholder.dtype or _bare_feed_dtype(value))
    shape = placeholder.shape
    if type(value) is np.ndarray and value.dtype == dtype and (shape is None or (
        value.ndim == len(shape) and all(d is None or d == s for d, s in zip(shape, value.shape))
    )):
        return value  # already what the placeholder takes
    what = f"The value fed to placeholder {placeholder.name!r}"
    array = to_array(value, what=what)
    if dtype.kind in "iu" and array.dtype.kind == "f":
        if not np.all(np.isfinite(array)) or not np.all(array == np.round(array)):
            raise InvalidArgumentError(f"{what} holds non-integer values but the placeholder is {dtype.name}.")
    if dtype.kind in "iu" or array.dtype != dtype:
        array = array.astype(dtype)
    if shape is not None and (
        array.ndim != len(shape) or any(d is not None and d != s for d, s in zip(shape, array.shape))
    ):
        raise InvalidArgumentError(
            f"{what} has shape {format_shape(array.shape)}, but the placeholder's shape is {format_shape(shape)}."
        )
    return array


# what NumPy computes: arrays, and the scalars a reduction to a number gives
_NUMPY_TYPES = frozenset({np.ndarray, *(np.dtype(c).type for c in "?bhilqBHILQefdgFDG")})


def _unshared(value: Any, held: set[int]) -> Any:
    """``value``, or a copy of it where it is one of the arrays ``held`` (by id) or a view of an array, so that the
    caller changing a fetched value changes no Variable."""
    if getattr(value, "ndim", 0) and (id(value) in held or value.base is not None):
        return value.copy()
    return value


def _same(value: Any) -> Any:
    return value


def _typed(value: Any, dtype: Any) -> Any:
    """A value in its node's dtype where generated code computed it in another: a folded constant is a Python
    number, and a number broadcast to a shape is float64 or int64 (a float node keeps its float dtype, an integer
    node its integer dtype)."""
    if dtype is None:
        return value
    if isinstance(value, (int, float, bool)):
        if isinstance(value, float) and np.dtype(dtype).kind not in "fc":
            # a float where the node's dtype says integer: the dtype was inferred without a bare placeholder's,
            # which the run made floating (x * 3 fed 2.5 is 7.5, as the interpreter computes it)
            return np.asarray(value)
        return np.asarray(value, dtype=dtype)
    value_dtype = getattr(value, "dtype", None)
    if value_dtype is not None and value_dtype != dtype and _family(value_dtype) == _family(np.dtype(dtype)) != "":
        return value.astype(dtype)
    return value


def _family(dtype: np.dtype) -> str:
    """"f" for floating dtypes, "i" for integers, "" for others."""
    return "f" if dtype.kind == "f" else "i" if dtype.kind in "iu" else ""


def _bare_feed_dtype(value: Any) -> type:
    """The dtype a bare ``placeholder()`` takes a value in: a floating array's own, else float64."""
    dtype = getattr(value, "dtype", None)
    return dtype.type if dtype is not None and dtype.kind == "f" else np.float64
