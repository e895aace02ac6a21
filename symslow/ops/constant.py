"""Constants of a shape: ``zeros``, ``ones`` and ``fill``, TensorFlow 1's initial values besides the random ops.

Each is a :class:`~symslow.graph.Constant` holding the whole array: its value is known when the graph is built.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InvalidArgumentError
from ..graph import Constant, as_shape, constant, format_shape
from ..dtypes import as_numpy_type


def _full(shape: Any, value: Any, dtype: Any, name: str | None, op: str) -> Constant:
    dims = as_shape(shape)
    if dims is None or None in dims:
        raise InvalidArgumentError(f"{op}: the shape must be fully known, not {format_shape(dims)}.")
    dtype = as_numpy_type(dtype)
    return Constant(np.full(dims, value, dtype=dtype), dtype=dtype, name=name or op)  # dtype: bools stay bools


def zeros(shape: Any, dtype: Any = "float32", name: str | None = None) -> Constant:
    """An array of zeros (float32 unless ``dtype`` says otherwise).

    Example:
        >>> import symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> tf.Session().run(tf.zeros([2, 3], tf.int32))
        array([[0, 0, 0],
               [0, 0, 0]], dtype=int32)
    """
    return _full(shape, 0, dtype, name, "zeros")


def ones(shape: Any, dtype: Any = "float32", name: str | None = None) -> Constant:
    """An array of ones (float32 unless ``dtype`` says otherwise).

    Example:
        >>> import symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> tf.Session().run(tf.ones([2]))
        array([1., 1.], dtype=float32)
    """
    return _full(shape, 1, dtype, name, "ones")


def fill(dims: Any, value: Any, name: str | None = None) -> Constant:
    """An array of shape ``dims`` filled with ``value``, of the value's dtype (a Python float is float32).

    Example:
        >>> import symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> tf.Session().run(tf.fill([2, 2], 9))
        array([[9, 9],
               [9, 9]], dtype=int32)
    """
    if np.ndim(value) != 0:
        raise InvalidArgumentError(f"fill: the value must be a scalar, not one of shape {np.shape(value)}.")
    return constant(value, shape=dims, name=name or "fill")
