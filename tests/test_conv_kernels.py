"""The array kernels of convolution and pooling gradients (``symslow.ops.conv_kernels``), called directly with NumPy.

Each gradient is checked against a loop over output pixels and window positions written out below: the transposed
convolution for strides, dilations and both paddings, and the max-pool gradient at ties (the first maximum of a
window, row by row, takes it), at NaN (a window holding one has NaN as its maximum, at its first NaN), at -inf
(the padding holds the lowest value, so a window of -inf may give its gradient to the padding) and with windows
that overlap. Values are small integers, so that every sum is exact whatever its order.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from symslow.ops import conv_kernels

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NumPy's warnings of NaNs in comparisons


def layout(n: int, k: int, stride: int, dilation: int, padding: str) -> tuple[int, int]:
    """TensorFlow's number of windows along one axis and the padding before them."""
    span = (k - 1) * dilation + 1
    if padding == "VALID":
        return (n - span) // stride + 1, 0
    out = -(-n // stride)
    return out, max((out - 1) * stride + span - n, 0) // 2


def ref_backprop_input(g, w, size, strides, padding, dilations):
    """Each output pixel's gradient, times the filter's tap, added to the input pixel the tap read."""
    n, oh, ow, _ = g.shape
    kh, kw, c, _ = w.shape
    top = layout(size[0], kh, strides[0], dilations[0], padding)[1]
    left = layout(size[1], kw, strides[1], dilations[1], padding)[1]
    out = np.zeros((n, *size, c), dtype=g.dtype)
    for i, j, a, b in itertools.product(range(oh), range(ow), range(kh), range(kw)):
        r, q = i * strides[0] + a * dilations[0] - top, j * strides[1] + b * dilations[1] - left
        if 0 <= r < size[0] and 0 <= q < size[1]:
            out[:, r, q, :] += g[:, i, j, :] @ w[a, b].T
    return out


def ref_conv2d(x, w, strides, padding, dilations):
    """Each output pixel: the sum over the filter's taps of the input pixel the tap reads (zero in the padding)
    times the tap."""
    n, h, wd, _ = x.shape
    kh, kw, _, o = w.shape
    (oh, top), (ow, left) = (layout(s, k, st, d, padding) for s, k, st, d in zip((h, wd), (kh, kw), strides, dilations))
    out = np.zeros((n, oh, ow, o), dtype=x.dtype)
    for i, j, a, b in itertools.product(range(oh), range(ow), range(kh), range(kw)):
        r, q = i * strides[0] + a * dilations[0] - top, j * strides[1] + b * dilations[1] - left
        if 0 <= r < h and 0 <= q < wd:
            out[:, i, j, :] += x[:, r, q, :] @ w[a, b]
    return out


def ref_backprop_filter(x, g, k_hw, strides, padding, dilations):
    """Each tap of the filter: the input pixels it read, weighted by the gradients of the output pixels they made."""
    n, h, wd, c = x.shape
    _, oh, ow, o = g.shape
    top = layout(h, k_hw[0], strides[0], dilations[0], padding)[1]
    left = layout(wd, k_hw[1], strides[1], dilations[1], padding)[1]
    out = np.zeros((*k_hw, c, o), dtype=x.dtype)
    for i, j, a, b in itertools.product(range(oh), range(ow), range(k_hw[0]), range(k_hw[1])):
        r, q = i * strides[0] + a * dilations[0] - top, j * strides[1] + b * dilations[1] - left
        if 0 <= r < h and 0 <= q < wd:
            out[a, b] += x[:, r, q, :].T @ g[:, i, j, :]
    return out


def ref_first_max(x, ksize, strides, padding):
    """For every window and channel: the (row, column) of its first maximum, row by row, padding pixels being the
    dtype's lowest value; a window holding a NaN gives its first NaN. May lie in the padding."""
    n, h, wd, c = x.shape
    lowest = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
    (oh, top), (ow, left) = (layout(s, k, st, 1, padding) for s, k, st in zip((h, wd), ksize, strides))
    first = {}
    for b, i, j, ch in itertools.product(range(n), range(oh), range(ow), range(c)):
        best = None
        for a, e in itertools.product(range(ksize[0]), range(ksize[1])):
            r, q = i * strides[0] + a - top, j * strides[1] + e - left
            value = x[b, r, q, ch] if 0 <= r < h and 0 <= q < wd else lowest
            if best is None or np.isnan(value) and not np.isnan(best[0]) or value > best[0]:
                best = (value, r, q)
        first[b, i, j, ch] = best[1:]
    return first


def ref_max_pool_grad(x, g, ksize, strides, padding):
    out = np.zeros(x.shape, dtype=g.dtype)
    for (b, i, j, ch), (r, q) in ref_first_max(x, ksize, strides, padding).items():
        if 0 <= r < x.shape[1] and 0 <= q < x.shape[2]:
            out[b, r, q, ch] += g[b, i, j, ch]
    return out


def ref_max_pool_grad_grad(x, h, ksize, strides, padding):
    n, oh, ow, c = conv_kernels.max_pool(np, x, ksize, strides, padding).shape
    out = np.zeros((n, oh, ow, c), dtype=h.dtype)
    for (b, i, j, ch), (r, q) in ref_first_max(x, ksize, strides, padding).items():
        if 0 <= r < x.shape[1] and 0 <= q < x.shape[2]:
            out[b, i, j, ch] = h[b, r, q, ch]
    return out


def assert_identical(got, expected):
    """The same dtype, shape and values: NaN where NaN, the sign of every zero."""
    assert got.dtype == expected.dtype and got.shape == expected.shape
    nan = np.isnan(expected)
    assert np.array_equal(np.isnan(got), nan), f"\n{got}\n{expected}"
    assert np.array_equal(got[~nan], expected[~nan]), f"\n{got}\n{expected}"
    assert np.array_equal(np.signbit(got[~nan]), np.signbit(expected[~nan]))


CONV_CASES = [  # size, kernel, strides, dilations, padding
    ((5, 6), (3, 2), (1, 1), (1, 1), "SAME"),
    ((5, 6), (3, 2), (1, 1), (1, 1), "VALID"),
    ((7, 5), (3, 3), (2, 3), (1, 1), "SAME"),
    ((7, 8), (3, 3), (2, 3), (1, 1), "VALID"),  # the last input row and columns are read by no window
    ((8, 7), (2, 3), (1, 1), (3, 2), "SAME"),
    ((9, 9), (3, 2), (1, 1), (2, 3), "VALID"),
    ((9, 10), (3, 3), (2, 3), (2, 2), "SAME"),
    ((10, 9), (2, 2), (3, 2), (2, 3), "VALID"),
    ((4, 4), (5, 5), (1, 1), (1, 1), "SAME"),  # a filter larger than the image
    ((3, 5), (1, 1), (2, 2), (1, 1), "VALID"),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("size, k, strides, dilations, padding", CONV_CASES)
def test_conv2d_backprop_input_is_the_transposed_convolution(size, k, strides, dilations, padding, dtype):
    rng = np.random.default_rng(sum(size) + 10 * sum(k) + 100 * sum(strides) + 1000 * sum(dilations))
    out_hw = [layout(s, kk, st, d, padding)[0] for s, kk, st, d in zip(size, k, strides, dilations)]
    g = rng.integers(-3, 4, (2, *out_hw, 3)).astype(dtype)
    w = rng.integers(-3, 4, (*k, 2, 3)).astype(dtype)
    got = conv_kernels.conv2d_backprop_input(np, g, w, size, strides, padding, dilations)
    np.testing.assert_array_equal(got, ref_backprop_input(g, w, size, strides, padding, dilations))
    assert got.dtype == dtype


@pytest.mark.parametrize("block_bytes", [1, conv_kernels.BLOCK_BYTES])  # one image a block; the whole batch
@pytest.mark.parametrize("channels", [1, 3])  # one channel: the rows are built tap by tap
@pytest.mark.parametrize("size, k, strides, dilations, padding", CONV_CASES)
def test_convolution_and_its_gradients_block_by_block(size, k, strides, dilations, padding, channels, block_bytes,
                                                      monkeypatch):
    monkeypatch.setattr(conv_kernels, "BLOCK_BYTES", block_bytes)
    rng = np.random.default_rng(sum(size) + 10 * sum(k) + 100 * sum(strides) + 1000 * channels)
    out_hw = [layout(s, kk, st, d, padding)[0] for s, kk, st, d in zip(size, k, strides, dilations)]
    x = rng.integers(-3, 4, (3, *size, channels)).astype(np.float32)
    w = rng.integers(-3, 4, (*k, channels, 2)).astype(np.float32)
    g = rng.integers(-3, 4, (3, *out_hw, 2)).astype(np.float32)
    args = strides, padding, dilations
    np.testing.assert_array_equal(conv_kernels.conv2d(np, x, w, *args), ref_conv2d(x, w, *args))
    np.testing.assert_array_equal(conv_kernels.conv2d_backprop_filter(np, x, g, k, *args),
                                  ref_backprop_filter(x, g, k, *args))
    np.testing.assert_array_equal(conv_kernels.conv2d_backprop_input(np, g, w, size, *args),
                                  ref_backprop_input(g, w, size, *args))


def test_convolution_of_an_empty_batch():
    x, w, g = np.zeros((0, 5, 5, 2)), np.ones((3, 3, 2, 4)), np.zeros((0, 5, 5, 4))
    assert conv_kernels.conv2d(np, x, w, (1, 1), "SAME", (1, 1)).shape == (0, 5, 5, 4)
    np.testing.assert_array_equal(conv_kernels.conv2d_backprop_filter(np, x, g, (3, 3), (1, 1), "SAME", (1, 1)),
                                  np.zeros((3, 3, 2, 4)))


def _pool_input(rng, shape, dtype):
    """Small integers, so that windows tie often; with NaN, -inf and -0.0 among them where the dtype has them."""
    x = rng.integers(-2, 3, shape).astype(dtype)
    if np.dtype(dtype).kind == "f":
        u = rng.random(shape)
        x[u < 0.1] = np.nan
        x[(u >= 0.1) & (u < 0.25)] = -np.inf
        x[(u >= 0.25) & (u < 0.35)] = -0.0
    return x


POOL_CASES = [  # size, ksize, strides, padding
    ((6, 6), (2, 2), (2, 2), "SAME"),
    ((5, 7), (2, 2), (2, 2), "SAME"),  # the padding after the last row and column
    ((5, 7), (3, 2), (1, 2), "VALID"),  # windows that overlap along the rows
    ((6, 5), (3, 3), (1, 1), "SAME"),  # overlapping in both directions, padding on every side
    ((7, 7), (3, 3), (2, 2), "SAME"),
    ((4, 6), (2, 3), (3, 1), "VALID"),  # rows that no window reads
    ((3, 3), (1, 1), (1, 1), "VALID"),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16, np.int32])
@pytest.mark.parametrize("size, ksize, strides, padding", POOL_CASES)
def test_max_pool_gradient_goes_to_each_windows_first_maximum(size, ksize, strides, padding, dtype):
    rng = np.random.default_rng(sum(size) + 10 * sum(ksize) + 100 * sum(strides))
    x = _pool_input(rng, (2, *size, 3), dtype)
    out_hw = [layout(s, k, st, 1, padding)[0] for s, k, st in zip(size, ksize, strides)]
    g = rng.integers(1, 9, (2, *out_hw, 3)).astype(np.float64)  # distinct sources, exact sums
    assert_identical(conv_kernels.max_pool_grad(np, x, g, ksize, strides, padding),
                     ref_max_pool_grad(x, g, ksize, strides, padding))
    h = rng.integers(1, 9, x.shape).astype(np.float64)
    assert_identical(conv_kernels.max_pool_grad_grad(np, x, h, ksize, strides, padding),
                     ref_max_pool_grad_grad(x, h, ksize, strides, padding))


@pytest.mark.parametrize("size, padding", [((6, 6), "SAME"), ((6, 8), "VALID"), ((5, 7), "SAME"), ((5, 7), "VALID")])
def test_max_pool_gradient_of_either_sign_leaves_positive_zeros(size, padding):
    # 2 x 2 windows of stride 2 tile 6 x 6 and 6 x 8 (every pixel is written once); on 5 x 7 they are padded ("SAME")
    # or leave a row and a column unread ("VALID")
    rng = np.random.default_rng(sum(size))
    x = _pool_input(rng, (2, *size, 3), np.float32)
    out_hw = [layout(s, 2, 2, 1, padding)[0] for s in size]
    g = rng.integers(-4, 5, (2, *out_hw, 3)).astype(np.float32)
    g[rng.random(g.shape) < 0.3] = -0.0
    assert_identical(conv_kernels.max_pool_grad(np, x, g, (2, 2), (2, 2), padding),
                     ref_max_pool_grad(x, g, (2, 2), (2, 2), padding))


def test_max_pool_gradient_at_ties_nan_and_minus_infinity_by_hand():
    # windows of 2 x 2, stride 2, "SAME" on 3 x 4: the last row of windows reads one row of padding (-inf)
    x = np.array([[1.0, 1.0, np.nan, 2.0],
                  [0.0, 1.0, 3.0, np.nan],
                  [-np.inf, -np.inf, -0.0, 0.0]]).reshape(1, 3, 4, 1)
    g = np.array([[10.0, 20.0], [30.0, 40.0]]).reshape(1, 2, 2, 1)
    grad = conv_kernels.max_pool_grad(np, x, g, (2, 2), (2, 2), "SAME")[0, :, :, 0]
    # a tie goes to the first; a NaN is the maximum, at the first NaN; a window of -inf gives its gradient to its
    # first pixel; -0.0 and 0.0 tie, and the first takes it
    expected = [[10.0, 0.0, 20.0, 0.0],
                [0.0, 0.0, 0.0, 0.0],
                [30.0, 0.0, 40.0, 0.0]]
    np.testing.assert_array_equal(grad, expected)
    # a window of -inf whose first pixel is padding gives its gradient to the padding: it is lost. Windows of 3 rows,
    # "SAME" on 2 rows: rows -1..1 (padding first) and 0..2 (row 0 first)
    y = np.full((1, 2, 1, 1), -np.inf)
    grad = conv_kernels.max_pool_grad(np, y, np.ones((1, 2, 1, 1)), (3, 1), (1, 1), "SAME")
    np.testing.assert_array_equal(grad[0, :, 0, 0], [1.0, 0.0])
