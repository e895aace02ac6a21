"""Dropout: keep each value with probability ``keep_prob`` and scale it by ``1 / keep_prob``, zero it otherwise.

Built as TensorFlow 1 builds it, from a random node and elementwise ops::

    mask = floor(keep_prob + uniform[0, 1))      # 1 with probability keep_prob, else 0
    dropout(x) = x / keep_prob * mask

The mask is a node of its own (:class:`random_uniform_like`), drawn anew on every run and once per run: the
forward value and the gradient, ``mask / keep_prob`` (which ``sympy.diff`` derives from the formula), read the same
draw. Seeds work as for every random op (:mod:`symslow.ops.random`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InvalidArgumentError
from ..graph import Node, as_shape, format_shape
from ..leaves import as_node
from .elementwise import divide, subtract
from .elementwise_math import floor
from .random import RandomOp, uniform


class random_uniform_like(RandomOp):
    """Values drawn uniformly from ``[0, 1)`` in the shape of ``x`` (or ``noise_shape``, where it gives a size),
    anew on every run; the dtype is ``x``'s."""

    op_type = "RandomUniform"
    default_name = "random_uniform"

    def __init__(self, x: Any, noise_shape: Any = None, seed: int | None = None, name: str | None = None):
        x = as_node(x)
        self.noise_shape = as_shape(noise_shape)
        super().__init__(None, x.dtype or np.float64, seed, name, inputs=[x])

    def infer_shape(self, shape):
        if self.noise_shape is None:
            return shape
        if shape is not None and len(shape) != len(self.noise_shape):
            raise self.shape_error(f"noise_shape {format_shape(self.noise_shape)} does not have the rank of x's shape "
                                   f"{format_shape(shape)}.")
        if shape is None:
            return self.noise_shape
        for n, d in zip(self.noise_shape, shape):
            if None not in (n, d) and n not in (1, d):
                raise self.shape_error(f"noise_shape {format_shape(self.noise_shape)} does not broadcast to x's shape "
                                       f"{format_shape(shape)}.")
        return tuple(d if n is None else n for n, d in zip(self.noise_shape, shape))

    def draw(self, generator, x):
        shape = np.shape(x) if self.noise_shape is None else [
            d if n is None else n for n, d in zip(self.noise_shape, np.shape(x))]
        return uniform(generator, 0.0, 1.0, shape, self.numpy_dtype)

    def compute(self, x):
        value = RandomOp.compute(self, x)  # (self may be the view of one run, not the node)
        if type(x) is not np.ndarray and hasattr(x, "__array_namespace__"):  # a CuPy or JAX array: the same kind
            return x.__array_namespace__().asarray(value)
        return value


def _number(value: Any) -> float | None:
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return float(value)
    return None


def dropout(x: Any, keep_prob: Any = None, noise_shape: Any = None, seed: int | None = None, name: str | None = None,
            rate: Any = None) -> Node:
    """Each value of ``x`` kept with probability ``keep_prob`` and multiplied by ``1 / keep_prob``, else set to 0,
    with a fresh random choice on every run (TensorFlow 1's ``tf.nn.dropout``).

    Args:
        x: a floating-point tensor.
        keep_prob: the probability of keeping a value, in (0, 1]: a number, or a scalar node such as a placeholder
            fed 0.5 in training and 1.0 in testing. ``keep_prob=1.0`` returns ``x`` itself.
        noise_shape: the shape of the random mask, broadcast to ``x``'s (``[batch, 1, 1, channels]`` drops whole
            feature maps); ``x``'s shape by default.
        seed: the op seed, with the graph seed (:func:`~symslow.set_random_seed`) making the masks reproducible.
        name: the name scope of the nodes (``dropout``).
        rate: the probability of dropping instead, ``1 - keep_prob`` (give one of the two).

    Example:
        >>> import numpy as np, symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> keep_prob = tf.placeholder(tf.float32)
        >>> y = tf.nn.dropout(tf.ones([4, 1000]), keep_prob, seed=1)
        >>> sess = tf.Session()
        >>> out = sess.run(y, {keep_prob: 0.5})
        >>> sorted(set(out.ravel().tolist())), bool(abs((out == 0).mean() - 0.5) < 0.05)
        ([0.0, 2.0], True)
        >>> bool((sess.run(y, {keep_prob: 1.0}) == 1).all())
        True
    """
    if keep_prob is not None and rate is not None:
        raise ValueError("dropout: give keep_prob or rate, not both.")
    if keep_prob is None and rate is None:
        raise ValueError("dropout: you must give keep_prob (or rate).")
    x = as_node(x)
    if x.dtype is not None and np.dtype(x.dtype).kind != "f":
        raise InvalidArgumentError(f"dropout: x has to be a floating point tensor since it's going to be scaled; "
                                   f"{x.name!r} is {np.dtype(x.dtype).name}.")
    number = _number(keep_prob if rate is None else rate)
    if number is not None:
        if rate is None and not 0 < number <= 1:
            raise InvalidArgumentError(f"dropout: keep_prob must be a scalar tensor or a float in the range (0, 1], "
                                       f"got {number:g}.")
        if rate is not None and not 0 <= number < 1:
            raise InvalidArgumentError(f"dropout: rate must be a scalar tensor or a float in the range [0, 1), got "
                                       f"{number:g}.")
        if (number == 1) if rate is None else (number == 0):
            return x  # nothing dropped, nothing scaled: TensorFlow returns x itself
    graph = x.graph
    with graph.name_scope(name or "dropout"):
        if rate is not None:
            keep = subtract(1.0, as_node(rate, graph, dtype=x.dtype), name="keep_prob")
        else:
            keep = as_node(keep_prob, graph, dtype=x.dtype)
        if keep.shape is not None and keep.shape != ():
            raise InvalidArgumentError(f"dropout: keep_prob must be a scalar, not of shape {format_shape(keep.shape)} "
                                       f"({keep.name!r}).")
        mask = floor(keep + random_uniform_like(x, noise_shape, seed=seed), name="Floor")
        return divide(x, keep) * mask
