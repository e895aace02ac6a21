"""Array functions that generated code calls where no single NumPy expression says it.

They use only array methods and the array module they are given, so NumPy, CuPy and JAX arrays all work.
"""

from __future__ import annotations

import numpy as np


def sum_to(g, like):
    """Sum ``g`` down to the shape of ``like``: the gradient of broadcasting (un-broadcast)."""
    shape = np.shape(like)
    g_shape = np.shape(g)
    if g_shape == shape:
        return g
    lead = len(g_shape) - len(shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, d in enumerate(shape) if d == 1 and g_shape[lead + i] != 1)
    return g.sum(axis=axes, keepdims=True).reshape(shape)


def count(x, axis):
    """How many elements of ``x`` a reduction over ``axis`` (None: all) takes together."""
    shape = np.shape(x)
    if axis is None:
        return int(np.prod(shape, dtype=np.int64))
    return int(np.prod([shape[a] for a in axis], dtype=np.int64))


def softmax(xp, x, axis):
    """exp(x) / Σ exp(x) along ``axis``, shifted by the maximum so that large logits do not overflow."""
    e = xp.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax(xp, x, axis):
    """log softmax(x) along ``axis``, as x - max - log Σ exp(x - max): finite for logits of any size."""
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))


def checked_indices(indices, size):
    """``indices``, after checking that each is in [0, size): an index outside makes ``gather`` fail, as the
    interpreter and TensorFlow do, rather than wrap around (-1) or fall out of its gradient.

    Example:
        >>> checked_indices(np.array([2, 0]), 3)
        array([2, 0])
        >>> checked_indices(np.array([3]), 3)
        Traceback (most recent call last):
        ...
        IndexError: index 3 is out of range [0, 3)
    """
    if indices.size:
        low, high = indices.min(), indices.max()
        if low < 0 or high >= size:
            raise IndexError(f"index {low if low < 0 else high} is out of range [0, {size})")
    return indices


def matmul_vjp(g, a, b, index):
    """The gradient of ``a @ b`` for operand ``index`` when the ranks were unknown at graph-building time."""
    a2 = a[None, :] if a.ndim == 1 else a
    b2 = b[:, None] if b.ndim == 1 else b
    g2 = g.reshape(a2.shape[0], b2.shape[1])
    if index == 0:
        return (g2 @ b2.T).reshape(a.shape)
    return (a2.T @ g2).reshape(b.shape)


# convolution and pooling: one strided view each on NumPy and CuPy, one XLA call each on JAX (``lax_``)
from .ops.conv_kernels import (avg_pool, avg_pool_grad, conv2d, conv2d_backprop_filter,  # noqa: E402, F401
                               conv2d_backprop_input, max_pool, max_pool_grad, max_pool_grad_grad)
from .ops.lax_kernels import (lax_avg_pool, lax_avg_pool_grad, lax_conv2d, lax_conv2d_backprop_filter,  # noqa: E402, F401
                              lax_conv2d_backprop_input, lax_max_pool, lax_max_pool_grad, lax_max_pool_grad_grad)
