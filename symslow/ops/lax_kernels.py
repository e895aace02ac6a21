"""The kernels of :mod:`~symslow.ops.conv_kernels` for JAX, called by generated code (through
:mod:`symslow.runtime`) as ``lax_<name>``: JAX has no strided views, so each is one ``jax.lax.conv_general_dilated``
or ``jax.lax.reduce_window`` (or a gather and scatter of the windows), which XLA compiles with the rest of the step.
Sizes and paddings are TensorFlow's, computed by the same functions as the NumPy kernels'.
"""

from __future__ import annotations

from .conv_kernels import Pair, _lowest, _pads_2d, counts, output_size, span


def _lax():
    import jax

    return jax.lax


_NHWC = ("NHWC", "HWIO", "NHWC")


def lax_conv2d(x, w, strides: Pair, padding: str, dilations: Pair):
    """:func:`conv2d` as one XLA convolution."""
    widths = _pads_2d(x.shape[1:3], w.shape[:2], strides, dilations, padding)
    return _lax().conv_general_dilated(x, w, strides, widths, rhs_dilation=dilations, dimension_numbers=_NHWC,
                                       precision="highest")


def lax_conv2d_backprop_input(g, w, size: Pair, strides: Pair, padding: str, dilations: Pair):
    """:func:`conv2d_backprop_input` as one XLA convolution: ``g`` spread out by the strides (``stride - 1`` zeros
    between pixels, XLA's input dilation) and padded so that each input pixel sees every output pixel it fed,
    correlated with the filter turned by 180 degrees, its channel axes swapped."""
    forward = _pads_2d(size, w.shape[:2], strides, dilations, padding)
    widths = [(span(k, d) - 1 - before, n + before - (o - 1) * s - 1)
              for n, o, k, s, d, (before, _) in zip(size, g.shape[1:3], w.shape[:2], strides, dilations, forward)]
    turned = w[::-1, ::-1].transpose(0, 1, 3, 2)
    return _lax().conv_general_dilated(g, turned, (1, 1), widths, lhs_dilation=strides, rhs_dilation=dilations,
                                       dimension_numbers=_NHWC, precision="highest")


def lax_conv2d_backprop_filter(x, g, k_hw: Pair, strides: Pair, padding: str, dilations: Pair):
    """:func:`conv2d_backprop_filter` as one XLA convolution: the batch is contracted, the filter's taps are the
    output pixels (the dilations become the strides and the strides the dilation of ``g``)."""
    widths = []
    for n, o, k, s, d, (before, _) in zip(x.shape[1:3], g.shape[1:3], k_hw, strides, dilations,
                                          _pads_2d(x.shape[1:3], k_hw, strides, dilations, padding)):
        widths.append((before, (k - 1) * d + (o - 1) * s + 1 - before - n))  # the input rows the windows read
    return _lax().conv_general_dilated(x, g, dilations, widths, rhs_dilation=strides,
                                       dimension_numbers=("CHWN", "IHWO", "HWNC"), precision="highest")


def _window(ksize: Pair, strides: Pair, size: Pair, padding: str):
    widths = ((0, 0), *_pads_2d(size, ksize, strides, (1, 1), padding), (0, 0))
    return (1, *ksize, 1), (1, *strides, 1), widths


def lax_max_pool(x, ksize: Pair, strides: Pair, padding: str):
    """:func:`max_pool` as one ``reduce_window``."""
    import jax.numpy as jnp

    lax = _lax()
    return lax.reduce_window(x, _lowest(jnp, x.dtype), lax.max, *_window(ksize, strides, x.shape[1:3], padding))


def lax_avg_pool(x, ksize: Pair, strides: Pair, padding: str):
    """:func:`avg_pool` as one ``reduce_window`` sum, divided by the counts."""
    import jax.numpy as jnp

    lax = _lax()
    total = lax.reduce_window(x, jnp.zeros((), x.dtype), lax.add, *_window(ksize, strides, x.shape[1:3], padding))
    return total / jnp.asarray(counts(x.shape[1:3], ksize, strides, padding), dtype=x.dtype)


def _lax_windows(x, ksize: Pair, strides: Pair, padding: str, value):
    """The windows of ``x``, ``(N, OH, OW, KH * KW, C)``: one strided slice per position in the window."""
    import jax.numpy as jnp

    (top, bottom), (left, right) = _pads_2d(x.shape[1:3], ksize, strides, (1, 1), padding)
    padded = jnp.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)), constant_values=value)
    oh, ow = (output_size(n, k, s, 1, padding) for n, k, s in zip(x.shape[1:3], ksize, strides))
    (sh, sw) = strides
    return jnp.stack([padded[:, i: i + (oh - 1) * sh + 1: sh, j: j + (ow - 1) * sw + 1: sw, :]
                      for i in range(ksize[0]) for j in range(ksize[1])], axis=3)


def _lax_scatter_windows(cols, size: Pair, ksize: Pair, strides: Pair, padding: str):
    """The transpose of :func:`_lax_windows`: each window's values ``(N, OH, OW, KH * KW, C)`` added back where
    they were read, the padding cut off."""
    import jax.numpy as jnp

    n, oh, ow, _, c = cols.shape
    (top, bottom), (left, right) = _pads_2d(size, ksize, strides, (1, 1), padding)
    (sh, sw) = strides
    out = jnp.zeros((n, size[0] + top + bottom, size[1] + left + right, c), dtype=cols.dtype)
    for i in range(ksize[0]):
        for j in range(ksize[1]):
            index = (slice(None), slice(i, i + (oh - 1) * sh + 1, sh), slice(j, j + (ow - 1) * sw + 1, sw))
            out = out.at[index].add(cols[:, :, :, i * ksize[1] + j, :])
    return out[:, top: top + size[0], left: left + size[1], :]


def lax_max_pool_grad(x, g, ksize: Pair, strides: Pair, padding: str):
    """:func:`max_pool_grad` for JAX arrays."""
    import jax.numpy as jnp

    first = _lax_windows(x, ksize, strides, padding, _lowest(jnp, x.dtype)).argmax(axis=3)
    hit = jnp.arange(ksize[0] * ksize[1]).reshape(1, 1, 1, -1, 1) == first[:, :, :, None, :]
    routed = jnp.where(hit, g[:, :, :, None, :], jnp.zeros((), g.dtype))
    return _lax_scatter_windows(routed, x.shape[1:3], ksize, strides, padding)


def lax_max_pool_grad_grad(x, h, ksize: Pair, strides: Pair, padding: str):
    """:func:`max_pool_grad_grad` for JAX arrays."""
    import jax.numpy as jnp

    first = _lax_windows(x, ksize, strides, padding, _lowest(jnp, x.dtype)).argmax(axis=3)
    cols = _lax_windows(h, ksize, strides, padding, 0)
    return jnp.take_along_axis(cols, first[:, :, :, None, :], axis=3)[:, :, :, 0, :]


def lax_avg_pool_grad(g, size: Pair, ksize: Pair, strides: Pair, padding: str):
    """:func:`avg_pool_grad` for JAX arrays."""
    import jax.numpy as jnp

    share = g / jnp.asarray(counts(size, ksize, strides, padding), dtype=g.dtype)
    n, oh, ow, c = g.shape
    spread = jnp.broadcast_to(share[:, :, :, None, :], (n, oh, ow, ksize[0] * ksize[1], c))
    return _lax_scatter_windows(spread, size, ksize, strides, padding)
