"""Static shapes: :class:`TensorShape` (a tuple with TensorFlow 1's methods), a user's shape normalised, a shape
written for messages (``(?, 2)``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .errors import InvalidArgumentError


class TensorShape(tuple):
    """A static shape, as TensorFlow 1 gives it: a tuple of sizes (``None`` for unknown) with TF's methods.

    Example:
        >>> import symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> x = tf.placeholder(tf.float32, shape=[None, 784])
        >>> x.get_shape().as_list(), x.shape[1], x.shape.ndims
        ([None, 784], 784, 2)
    """

    def as_list(self) -> list:
        return list(self)

    @property
    def ndims(self) -> int:
        return len(self)

    rank = ndims

    def is_fully_defined(self) -> bool:
        return None not in self

    def num_elements(self) -> int | None:
        return int(np.prod(self)) if self.is_fully_defined() else None


def as_shape(shape: Any) -> tuple | None:
    """Normalise a user's shape (``None``, an int, a list with ``None`` / -1 for unknown sizes) to a tuple."""
    if shape is None:
        return None
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    dims = []
    for size in shape:
        if size is None or size == -1:
            dims.append(None)
        elif isinstance(size, (int, np.integer)) and size >= 0:
            dims.append(int(size))
        else:
            raise InvalidArgumentError(f"A shape holds sizes (int >= 0) or None, not {size!r} in {shape!r}.")
    return tuple(dims)


def format_shape(shape: tuple | None) -> str:
    """``(None, 2)`` as ``(?, 2)``; an unknown rank as ``<unknown>``."""
    if shape is None:
        return "<unknown>"
    return "(" + ", ".join("?" if d is None else str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"
