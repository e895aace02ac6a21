"""The array code of convolution and pooling, called by generated code (through :mod:`symslow.runtime`) and by the
interpreter.

NumPy and CuPy share one implementation, written against the array module ``xp`` they pass. A convolution is a
strided view of the padded input (every window of every image side by side, no data copied), its reshape into rows
(im2col, the one copy) and a matrix product with the filter, a block of a few images at a time on NumPy (see
:data:`BLOCK_BYTES`); the gradient with respect to the filter is the same rows times the incoming gradient, the
blocks' products added. The gradient with respect to the input is, for strides of 1, the convolution of the padded
incoming gradient with the filter turned around; for larger strides, and for a max pool, it goes the other way, one
position of the window (one tap) at a time: each tap's share of every output pixel (for a convolution one matrix
product with that tap's filter, for a max pool the gradient where the tap holds the window's first maximum) is added
to the strided slice of the padded input that the tap read. A pooling is the strided view and an elementwise
``maximum`` per tap, or a ``sum``. No Python loop runs over pixels: the loops run over the taps (25 for a 5x5 filter,
4 for a 2x2 pool) and the blocks.

JAX has no strided views; its kernels are in :mod:`~symslow.ops.lax_kernels`.

Sizes follow TensorFlow: "VALID" keeps the windows that fit, "SAME" gives ``ceil(size / stride)`` outputs and pads
the input with ``total // 2`` before and the rest after. A dilated window of ``k`` taps spans ``(k - 1) d + 1``.

Example:
    >>> import numpy as np
    >>> from symslow.ops import conv_kernels
    >>> x = np.arange(16.0).reshape(1, 4, 4, 1)
    >>> conv_kernels.max_pool(np, x, (2, 2), (2, 2), "VALID")[0, :, :, 0]
    array([[ 5.,  7.],
           [13., 15.]])
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

Pair = tuple[int, int]


# sizes ---------------------------------------------------------------------------------------------------------------
def span(k: int, dilation: int) -> int:
    """How many input positions a window of ``k`` taps ``dilation`` apart covers."""
    return (k - 1) * dilation + 1


def output_size(size: int, k: int, stride: int, dilation: int, padding: str) -> int:
    """TensorFlow's number of windows along one axis (below 1 when a "VALID" window does not fit)."""
    if padding == "SAME":
        return -(-size // stride)
    return (size - span(k, dilation)) // stride + 1


def pads(size: int, k: int, stride: int, dilation: int, padding: str) -> Pair:
    """The padding before and after one axis: none for "VALID"; for "SAME" what makes ``ceil(size / stride)``
    windows, the odd one after."""
    if padding == "VALID":
        return 0, 0
    total = max((output_size(size, k, stride, dilation, "SAME") - 1) * stride + span(k, dilation) - size, 0)
    return total // 2, total - total // 2


def _pads_2d(hw, k_hw, strides, dilations, padding) -> tuple[Pair, Pair]:
    return tuple(pads(n, k, s, d, padding) for n, k, s, d in zip(hw, k_hw, strides, dilations))


# NumPy and CuPy ------------------------------------------------------------------------------------------------------
def _pad(xp, x, spatial: tuple[Pair, Pair], value=0):
    """``x`` padded (or, for a negative width, cut) on its two spatial axes."""
    (top, bottom), (left, right) = spatial
    cut = (slice(None), slice(max(-top, 0), x.shape[1] - max(-bottom, 0)),
           slice(max(-left, 0), x.shape[2] - max(-right, 0)), slice(None))
    x = x[cut]
    widths = ((0, 0), (max(top, 0), max(bottom, 0)), (max(left, 0), max(right, 0)), (0, 0))
    if not any(any(w) for w in widths):
        return x
    return xp.pad(x, widths, constant_values=value)


def windows(xp, x, k_hw: Pair, strides: Pair, dilations: Pair):
    """Every window of a padded NHWC ``x`` as a view of shape ``(N, OH, OW, KH, KW, C)``: no data is copied."""
    n, h, w, c = x.shape
    (kh, kw), (sh, sw), (dh, dw) = k_hw, strides, dilations
    oh, ow = (h - span(kh, dh)) // sh + 1, (w - span(kw, dw)) // sw + 1
    bn, bh, bw, bc = x.strides
    return xp.lib.stride_tricks.as_strided(
        x, (n, oh, ow, kh, kw, c), (bn, bh * sh, bw * sw, bh * dh, bw * dw, bc), writeable=False
    )


# NumPy builds a convolution's rows a few images at a time, about this many bytes of them (half a core's L2 cache),
# and multiplies each block as it is built: the block is still in the cache when the product reads it, where the rows
# of a whole batch (40 MB for the second convolution of bench/'s CNN) go to fresh memory and back, which took about
# as long as their product.
BLOCK_BYTES = 2**20


def _blocks(xp, n: int, per_image: int) -> list[slice]:
    """Slices of a batch of ``n`` images whose rows take about :data:`BLOCK_BYTES` (``per_image`` bytes an image);
    on a GPU (an array module other than NumPy) the whole batch at once."""
    step = n if xp is not np else BLOCK_BYTES // max(per_image, 1)
    step = max(step, 1)
    return [slice(s, min(s + step, n)) for s in range(0, n, step)]


def _windows_padded(xp, x, k_hw: Pair, strides: Pair, padding: str, dilations: Pair):
    """The windows of ``x``, padded as the convolution pads it: a view ``(N, OH, OW, KH, KW, C)``."""
    padded = _pad(xp, x, _pads_2d(x.shape[1:3], k_hw, strides, dilations, padding))
    return windows(xp, padded, k_hw, strides, dilations)


def _row_blocks(xp, cols):
    """For each block of images (see :data:`BLOCK_BYTES`), its slice of the batch and its windows as the rows of a
    matrix ``(pixels, KH * KW * C)`` (im2col), the one copy a convolution makes.

    An image of one channel (a grayscale input) would have its rows copied ``KW`` values at a time; they are built
    instead one tap at a time, each a copy of whole image rows, as the columns of a transposed matrix (twice as
    fast)."""
    n, oh, ow, kh, kw, c = cols.shape
    for block in _blocks(xp, n, oh * ow * kh * kw * c * cols.itemsize):
        part = cols[block]
        if c > 1:
            yield block, part.reshape(-1, kh * kw * c)
            continue
        columns = xp.empty((kh, kw, *part.shape[:3]), dtype=part.dtype)
        for i in range(kh):
            for j in range(kw):
                columns[i, j] = part[:, :, :, i, j, 0]
        yield block, columns.reshape(kh * kw, -1).T


def _correlate(xp, cols, w):
    """Each window of ``cols`` (a view as :func:`windows` gives) times the HWIO filter ``w``: ``(N, OH, OW, O)``,
    one matrix product per block of images."""
    n, oh, ow = cols.shape[:3]
    o = w.shape[3]
    w2 = w.reshape(-1, o)
    out = xp.empty((n, oh, ow, o), dtype=xp.result_type(cols.dtype, w.dtype))
    for block, rows in _row_blocks(xp, cols):
        xp.matmul(rows, w2, out=out[block].reshape(-1, o))
    return out


def conv2d(xp, x, w, strides: Pair, padding: str, dilations: Pair):
    """TensorFlow's ``conv2d`` (a cross-correlation) of NHWC ``x`` with an HWIO filter ``w``: im2col, then one
    matrix product (a few images at a time)."""
    return _correlate(xp, _windows_padded(xp, x, w.shape[:2], strides, padding, dilations), w)


def conv2d_backprop_input(xp, g, w, size: Pair, strides: Pair, padding: str, dilations: Pair):
    """The gradient of ``conv2d`` with respect to an input of spatial ``size``, the transposed convolution of ``g``.

    With strides of 1 it is a convolution itself (as :func:`lax_conv2d_backprop_input` says), computed as
    :func:`conv2d` is. With larger strides, for each tap of the filter one matrix product (every output pixel's share
    for the input pixel the tap read) is added to the tap's strided slice of the padded input."""
    n, oh, ow, o = g.shape
    kh, kw, c, _ = w.shape
    if tuple(strides) == (1, 1):
        forward = _pads_2d(size, (kh, kw), strides, dilations, padding)
        widths = tuple((span(k, d) - 1 - before, m + before - out_size)
                       for m, out_size, k, d, (before, _) in zip(size, (oh, ow), (kh, kw), dilations, forward))
        cols = windows(xp, _pad(xp, g, widths), (kh, kw), (1, 1), dilations)
        return _correlate(xp, cols, w[::-1, ::-1].transpose(0, 1, 3, 2))
    out, unpad = _padded_zeros(xp, n, size, c, xp.result_type(g.dtype, w.dtype), (kh, kw), strides, padding,
                               dilations)
    rows = g.reshape(-1, o)
    share = xp.empty((rows.shape[0], c), dtype=out.dtype)  # one buffer for every tap's product
    for i in range(kh):
        for j in range(kw):
            xp.matmul(rows, w[i, j].T, out=share)
            out[_tap(i, j, (oh, ow), strides, dilations)] += share.reshape(n, oh, ow, c)
    return out[unpad]


def conv2d_backprop_filter(xp, x, g, k_hw: Pair, strides: Pair, padding: str, dilations: Pair):
    """The gradient of ``conv2d`` with respect to a filter of spatial size ``k_hw``: each window of ``x``, weighted
    by the gradient of the output pixel it made, summed over the batch and the pixels (one matrix product per block
    of images, the blocks' products added)."""
    cols = _windows_padded(xp, x, k_hw, strides, padding, dilations)
    o = g.shape[3]
    total = None
    for block, rows in _row_blocks(xp, cols):
        part = rows.T @ g[block].reshape(-1, o)
        if total is None:
            total = part
        else:
            total += part
    if total is None:  # an empty batch
        total = xp.zeros((k_hw[0] * k_hw[1] * x.shape[3], o), dtype=xp.result_type(x.dtype, g.dtype))
    return total.reshape(*k_hw, x.shape[3], o)


def _padded_zeros(xp, n: int, size: Pair, c: int, dtype, k_hw: Pair, strides: Pair, padding: str,
                  dilations: Pair = (1, 1), zeros: bool = True):
    """Zeros of the padded input's shape ``(N, H + pads, W + pads, C)``, into which the taps add their shares, and
    the index that cuts the padding off again (not zeroed where every pixel is to be written)."""
    (top, bottom), (left, right) = _pads_2d(size, k_hw, strides, dilations, padding)
    out = (xp.zeros if zeros else xp.empty)((n, size[0] + top + bottom, size[1] + left + right, c), dtype=dtype)
    return out, (slice(None), slice(top, top + size[0]), slice(left, left + size[1]), slice(None))


def _tap(i: int, j: int, out_hw: Pair, strides: Pair, dilations: Pair = (1, 1)) -> tuple[slice, slice, slice]:
    """The index of the padded input that tap ``(i, j)`` of every window reads: the transpose of
    ``windows(...)[:, :, :, i, j]``."""
    (oh, ow), (sh, sw), (dh, dw) = out_hw, strides, dilations
    return slice(None), slice(i * dh, i * dh + (oh - 1) * sh + 1, sh), slice(j * dw, j * dw + (ow - 1) * sw + 1, sw)


def _lowest(xp, dtype) -> Any:
    return -xp.inf if xp.dtype(dtype).kind == "f" else xp.iinfo(dtype).min


def _pool_windows(xp, x, ksize: Pair, strides: Pair, padding: str, value):
    padded = _pad(xp, x, _pads_2d(x.shape[1:3], ksize, strides, (1, 1), padding), value)
    return windows(xp, padded, ksize, strides, (1, 1))


def counts(size: Pair, ksize: Pair, strides: Pair, padding: str) -> np.ndarray:
    """How many input pixels (padding left out) each window of an average pool takes, shape ``(OH, OW, 1)``."""
    per_axis = []
    for n, k, s in zip(size, ksize, strides):
        before, _ = pads(n, k, s, 1, padding)
        start = np.arange(output_size(n, k, s, 1, padding)) * s - before
        per_axis.append(np.minimum(start + k, n) - np.maximum(start, 0))
    return (per_axis[0][:, None] * per_axis[1][None, :])[:, :, None]


def _taps(cols, ksize: Pair) -> list:
    """``((i, j), the pixel at tap (i, j) of every window)`` for each tap of the windows ``cols``, row by row."""
    return [((i, j), cols[:, :, :, i, j, :]) for i in range(ksize[0]) for j in range(ksize[1])]


def _window_max(xp, taps: list):
    """The maximum of each window from its taps: one elementwise ``maximum`` per tap (a NaN wins, as in ``max``),
    faster than ``max`` over the middle axes of the strided view."""
    if len(taps) == 1:
        return taps[0].copy()  # a new array, not a view of the input
    return functools.reduce(xp.maximum, taps)


def max_pool(xp, x, ksize: Pair, strides: Pair, padding: str):
    """The maximum of each window (padding never wins: it is the dtype's lowest value)."""
    cols = _pool_windows(xp, x, ksize, strides, padding, _lowest(xp, x.dtype))
    return _window_max(xp, [tap for _, tap in _taps(cols, ksize)])


def avg_pool(xp, x, ksize: Pair, strides: Pair, padding: str):
    """The mean of each window over the input pixels it covers (padding is not counted)."""
    total = _pool_windows(xp, x, ksize, strides, padding, 0).sum(axis=(3, 4))
    return total / xp.asarray(counts(x.shape[1:3], ksize, strides, padding), dtype=x.dtype)


def _first_max(xp, x, ksize: Pair, strides: Pair, padding: str):
    """For each tap ``(i, j)`` of the window, row by row: where it holds the window's first maximum (TensorFlow's
    choice at a tie), a boolean ``(N, OH, OW, C)``. A window holding a NaN has NaN as its maximum (as ``max``), at
    its first NaN. Each window has exactly one such tap, which may be a pixel of the padding (when the window's
    maximum is the lowest value)."""
    cols = _pool_windows(xp, x, ksize, strides, padding, _lowest(xp, x.dtype))
    taps = _taps(cols, ksize)
    top = _window_max(xp, [tap for _, tap in taps])  # ``==`` does not tell which of -0.0 and 0.0 it kept
    # a maximum that is NaN equals no tap: only then are the NaNs looked for
    nan = xp.dtype(x.dtype).kind == "f" and bool(xp.isnan(top).any())
    taken = None  # the windows whose first maximum has come
    for k, (position, tap) in enumerate(taps):
        hit = tap == top
        if nan:
            hit |= xp.isnan(tap)
        if taken is not None:
            hit = xp.greater(hit, taken)  # on booleans, ``a > b`` is ``a and not b``
        if k < len(taps) - 1:
            taken = hit if taken is None else taken | hit
        yield position, hit


def max_pool_grad(xp, x, g, ksize: Pair, strides: Pair, padding: str):
    """The gradient of ``max_pool``: each output pixel's ``g`` goes to the first maximum of its window, and ``0 * g``
    to the window's other pixels, each added to the zeros of the padded input.

    Where the windows tile the padded input (the window is the stride and covers it to the end, as a 2 x 2 pool of
    stride 2 on an even size), each pixel is one tap of one window: its tap's ``hit * g`` is written there directly
    and the zero added once at the end (``0 + y`` is ``y``, but +0.0 where ``y`` is -0.0)."""
    n, oh, ow, c = g.shape
    (top, bottom), (left, right) = _pads_2d(x.shape[1:3], ksize, strides, (1, 1), padding)
    tiles = tuple(ksize) == tuple(strides) and (x.shape[1] + top + bottom, x.shape[2] + left + right) == (
        oh * strides[0], ow * strides[1])
    out, unpad = _padded_zeros(xp, n, x.shape[1:3], c, g.dtype, ksize, strides, padding, zeros=not tiles)
    for (i, j), hit in _first_max(xp, x, ksize, strides, padding):
        if tiles:
            xp.multiply(hit, g, out=out[_tap(i, j, (oh, ow), strides)])
        else:
            out[_tap(i, j, (oh, ow), strides)] += hit * g
    if tiles:
        out += 0
    return out[unpad]


def max_pool_grad_grad(xp, x, h, ksize: Pair, strides: Pair, padding: str):
    """The gradient of ``max_pool_grad`` with respect to its ``g``: ``h`` read at each window's first maximum."""
    cols = _pool_windows(xp, h, ksize, strides, padding, 0)
    out = xp.zeros(cols.shape[:3] + cols.shape[5:], dtype=h.dtype)
    for (i, j), hit in _first_max(xp, x, ksize, strides, padding):
        out = xp.where(hit, cols[:, :, :, i, j, :], out)
    return out


def avg_pool_grad(xp, g, size: Pair, ksize: Pair, strides: Pair, padding: str):
    """The gradient of ``avg_pool`` for an input of spatial ``size``: each window's ``g`` shared evenly among the
    input pixels it covers."""
    share = g / xp.asarray(counts(size, ksize, strides, padding), dtype=g.dtype)
    n, oh, ow, c = g.shape
    out, unpad = _padded_zeros(xp, n, size, c, share.dtype, ksize, strides, padding)
    for i in range(ksize[0]):
        for j in range(ksize[1]):
            out[_tap(i, j, (oh, ow), strides)] += share
    return out[unpad]
