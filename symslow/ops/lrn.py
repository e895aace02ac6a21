"""Local response normalisation (``tf.nn.lrn``), built from the ops symslow has: a square, a pad of the channels, a
sum of shifted slices, a power and a division; its gradient, formula and code follow from theirs."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InvalidArgumentError, ShapeError
from ..graph import Node, format_shape
from ..leaves import as_node
from .composed import pad
from .elementwise import add, divide, pow, square


def local_response_normalization(input: Any, depth_radius: int = 5, bias: float = 1.0, alpha: float = 1.0,
                                 beta: float = 0.5, name: str | None = None) -> Node:
    """Each value divided by ``(bias + alpha · Σ x²)^beta``, the sum over the channels within ``depth_radius`` of its
    own (NHWC images, as ``tf.nn.lrn``; zero beyond the first and last channel).

    It is built from ops symslow has: the square, a ``pad`` of the channels by ``depth_radius`` on each side, the
    sum of ``2 · depth_radius + 1`` shifted slices, a power and a division; so its gradient, its formula and its
    code follow from theirs.

    Example:
        >>> import numpy as np, symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> x = tf.constant(np.array([1.0, 2.0, 2.0]).reshape(1, 1, 1, 3), dtype=tf.float64)
        >>> tf.Session().run(tf.nn.lrn(x, depth_radius=1, bias=0.0, alpha=1.0, beta=0.5)).ravel()
        array([0.4472136 , 0.66666667, 0.70710678])
    """

    x = as_node(input)
    if x.shape is None or len(x.shape) != 4 or x.shape[3] is None:
        raise ShapeError(f"lrn: the input must be 4-D images (NHWC) with a known number of channels, not shape "
                         f"{format_shape(x.shape)} ({x.name!r}).")
    if not isinstance(depth_radius, (int, np.integer)) or isinstance(depth_radius, bool) or depth_radius < 0:
        raise InvalidArgumentError(f"lrn: depth_radius is a whole number >= 0, not {depth_radius!r}.")
    for what, number in (("bias", bias), ("alpha", alpha), ("beta", beta)):
        if not isinstance(number, (int, float, np.number)) or isinstance(number, bool) or not np.isfinite(number):
            raise InvalidArgumentError(f"lrn: {what} is a finite number, not {number!r}.")
    r, channels = int(depth_radius), x.shape[3]
    with x.graph.name_scope(name or "LRN"):
        padded = pad(square(x), [[0, 0], [0, 0], [0, 0], [r, r]])
        windows = [padded[:, :, :, k:k + channels] for k in range(2 * r + 1)]
        sqr_sum = windows[0]
        for window in windows[1:]:
            sqr_sum = add(sqr_sum, window)
        scale = pow(add(float(bias), float(alpha) * sqr_sum), float(beta))
    return divide(x, scale, name=name or "LRN")


lrn = local_response_normalization
