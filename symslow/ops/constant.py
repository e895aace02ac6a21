"""Constants of a shape: ``zeros``, ``ones`` and ``fill``, TensorFlow 1's initial values besides the random ops;
and ``zeros_like``, ``ones_like``, of another node's shape.

Each of the first is a :class:`~symslow.leaves.Constant` holding the whole array: its value is known when the graph
is built. ``zeros_like(x)`` is an op (``fill_like``): ``x``'s shape may be known only when the graph runs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InvalidArgumentError
from ..graph import Node, as_shape, format_shape
from ..leaves import Constant, as_node, constant
from ..dtypes import as_numpy_type
from .compare import cast
from .reduce import fill_like


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


# ops of another node's shape -------------------------------------------------------------------------------------
def _like(x: Any, dtype: Any) -> Node:
    x = as_node(x)
    return x if dtype is None else cast(x, dtype)


def ones_like(x: Any, dtype: Any = None, name: str | None = None, optimize: bool = True) -> Node:
    """Ones in the shape of ``x``, of its dtype unless ``dtype`` says otherwise.

    Example:
        >>> import numpy as np, symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> tf.Session().run(tf.ones_like(tf.constant([[1, 2, 3]])))
        array([[1, 1, 1]], dtype=int32)
    """
    return fill_like(_like(x, dtype), 1.0, name=name or "ones_like")


def zeros_like(x: Any, dtype: Any = None, name: str | None = None, optimize: bool = True) -> Node:
    """Zeros in the shape of ``x``, of its dtype unless ``dtype`` says otherwise."""
    return fill_like(_like(x, dtype), 0.0, name=name or "zeros_like")
