"""Convolution, pooling and dropout: ``tf.nn.conv2d``, ``conv2d_transpose``, ``max_pool``, ``avg_pool``, ``dropout``.

Every op runs on the interpreter and on every compiled backend present (the parametrisation of test_backends.py).
Values are checked against convolutions and poolings written out below as direct loops over output pixels and
window positions, with TensorFlow's documented padding rule; gradients against central finite differences of those
loops, for shapes, strides, paddings and dilations drawn by hypothesis; second derivatives against finite
differences of the first. Dropout is checked by its statistics and its seeds, and a small convolutional network
written as TensorFlow 1 programs are trains.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import symslow as tf
from symslow.testing import numeric_gradient
from test_backends import BACKENDS, WITH_INTERPRETER, _numpy_in_cupys_place  # noqa: F401  (the autouse fixture)

# same examples on every backend (derandomized), so that the finite differences of one are computed once
BOUNDED = settings(max_examples=5, deadline=None, derandomize=True,
                   suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


# references: TensorFlow's sizes, and the ops as loops over output pixels and window positions -------------------------
def same_padding(n: int, k: int, stride: int, dilation: int = 1) -> tuple[int, int, int]:
    """TensorFlow's "SAME": ``ceil(n / stride)`` outputs, ``total // 2`` padding before, the rest after."""
    span = (k - 1) * dilation + 1
    out = -(-n // stride)
    total = max((out - 1) * stride + span - n, 0)
    return out, total // 2, total - total // 2


def layout(n, k, stride, dilation, padding):
    """(number of outputs, padding before) along one axis."""
    if padding == "SAME":
        return same_padding(n, k, stride, dilation)[:2]
    return (n - (k - 1) * dilation - 1) // stride + 1, 0


def ref_conv2d(x, w, strides=(1, 1), padding="VALID", dilations=(1, 1)):
    n, h, wd, _ = x.shape
    kh, kw, _, o = w.shape
    (oh, top), (ow, left) = layout(h, kh, strides[0], dilations[0], padding), layout(wd, kw, strides[1], dilations[1],
                                                                                     padding)
    y = np.zeros((n, oh, ow, o))
    for i in range(oh):
        for j in range(ow):
            for a in range(kh):
                for b in range(kw):
                    r, c = i * strides[0] + a * dilations[0] - top, j * strides[1] + b * dilations[1] - left
                    if 0 <= r < h and 0 <= c < wd:
                        y[:, i, j, :] += x[:, r, c, :] @ w[a, b]
    return y


def ref_conv2d_transpose(v, w, out_hw, strides=(1, 1), padding="VALID", dilations=(1, 1)):
    """Each pixel of ``v`` adds its filter-weighted values to the input pixels the convolution read it from."""
    n, vh, vw, _ = v.shape
    kh, kw, c, _ = w.shape
    h, wd = out_hw
    top, left = layout(h, kh, strides[0], dilations[0], padding)[1], layout(wd, kw, strides[1], dilations[1],
                                                                            padding)[1]
    out = np.zeros((n, h, wd, c))
    for i in range(vh):
        for j in range(vw):
            for a in range(kh):
                for b in range(kw):
                    r, q = i * strides[0] + a * dilations[0] - top, j * strides[1] + b * dilations[1] - left
                    if 0 <= r < h and 0 <= q < wd:
                        out[:, r, q, :] += v[:, i, j, :] @ w[a, b].T
    return out


def ref_pool(x, ksize, strides, padding, reduce):
    n, h, wd, c = x.shape
    (oh, top), (ow, left) = layout(h, ksize[0], strides[0], 1, padding), layout(wd, ksize[1], strides[1], 1, padding)
    y = np.zeros((n, oh, ow, c))
    for i in range(oh):
        for j in range(ow):
            r0, c0 = i * strides[0] - top, j * strides[1] - left
            window = x[:, max(r0, 0): r0 + ksize[0], max(c0, 0): c0 + ksize[1], :]  # only the pixels in the image
            y[:, i, j, :] = reduce(window, axis=(1, 2))
    return y


def ref_max_pool(x, ksize, strides, padding):
    return ref_pool(x, ksize, strides, padding, np.max)


def ref_avg_pool(x, ksize, strides, padding):
    return ref_pool(x, ksize, strides, padding, np.mean)


def test_the_references_agree_with_tensorflows_documented_examples():
    # SAME on 5 pixels, a 3-tap window, stride 2: 3 outputs, 1 pixel of padding on each side (and on 4 pixels with
    # stride 3 below: 2 windows, of rows -1..1 and 2..4, each averaging the 4 pixels of the image it covers)
    assert same_padding(5, 3, 2) == (3, 1, 1)
    # an even window pads more after than before
    assert same_padding(4, 2, 1) == (4, 0, 1)
    x = np.arange(16.0).reshape(1, 4, 4, 1)
    np.testing.assert_array_equal(ref_max_pool(x, (2, 2), (2, 2), "VALID")[0, :, :, 0], [[5, 7], [13, 15]])
    np.testing.assert_array_equal(ref_avg_pool(x, (3, 3), (3, 3), "SAME")[0, :, :, 0], [[2.5, 4.5], [10.5, 12.5]])
    ones = np.ones((1, 3, 3, 1))
    np.testing.assert_array_equal(ref_conv2d(ones, np.ones((3, 3, 1, 1)), padding="SAME")[0, :, :, 0],
                                  [[4, 6, 4], [6, 9, 6], [4, 6, 4]])


# forward values -------------------------------------------------------------------------------------------------------
rng = np.random.default_rng(12)
X = rng.uniform(-2, 2, (2, 5, 6, 3))
W = rng.uniform(-1, 1, (3, 2, 3, 4))

FORWARD = [
    ("conv2d_valid", lambda x, w: tf.nn.conv2d(x, w, [1, 1, 1, 1], "VALID"), lambda x, w: ref_conv2d(x, w), [X, W]),
    ("conv2d_same_strided", lambda x, w: tf.nn.conv2d(x, w, strides=[1, 2, 3, 1], padding="SAME"),
     lambda x, w: ref_conv2d(x, w, (2, 3), "SAME"), [X, W]),
    ("conv2d_dilated", lambda x, w: tf.nn.conv2d(x, w, 1, "SAME", dilations=[1, 2, 2, 1]),
     lambda x, w: ref_conv2d(x, w, padding="SAME", dilations=(2, 2)), [X, W]),
    ("conv2d_strided_and_dilated", lambda x, w: tf.nn.conv2d(x, w, [2, 1], "VALID", dilations=[1, 2]),
     lambda x, w: ref_conv2d(x, w, (2, 1), "VALID", (1, 2)), [X, W]),
    ("conv2d_transpose", lambda v, w: tf.nn.conv2d_transpose(v, w, [2, 5, 6, 3], [1, 2, 2, 1], "SAME"),
     lambda v, w: ref_conv2d_transpose(v, w, (5, 6), (2, 2), "SAME"), [rng.uniform(-2, 2, (2, 3, 3, 4)), W]),
    ("max_pool_same", lambda x: tf.nn.max_pool(x, [1, 2, 2, 1], [1, 2, 2, 1], "SAME"),
     lambda x: ref_max_pool(x, (2, 2), (2, 2), "SAME"), [X]),
    ("max_pool_overlapping", lambda x: tf.nn.max_pool(x, [1, 3, 2, 1], [1, 1, 2, 1], "VALID"),
     lambda x: ref_max_pool(x, (3, 2), (1, 2), "VALID"), [X]),
    ("avg_pool_same", lambda x: tf.nn.avg_pool(x, [1, 3, 3, 1], [1, 2, 2, 1], "SAME"),
     lambda x: ref_avg_pool(x, (3, 3), (2, 2), "SAME"), [X]),
    ("avg_pool_valid", lambda x: tf.nn.avg_pool(x, 2, 1, "VALID"), lambda x: ref_avg_pool(x, (2, 2), (1, 1), "VALID"),
     [X]),
    ("bias_add_nhwc", lambda x, b: tf.nn.bias_add(x, b), lambda x, b: x + b, [X, rng.uniform(-1, 1, 3)]),
]


@pytest.mark.parametrize("backend", WITH_INTERPRETER)
@pytest.mark.parametrize("static_shapes", [True, False], ids=["static", "unknown"])
@pytest.mark.parametrize("name, builder, reference, values", FORWARD, ids=[c[0] for c in FORWARD])
def test_forward_value(name, builder, reference, values, static_shapes, backend):
    tf.Graph().as_default()
    inputs = [tf.placeholder(tf.float64, v.shape if static_shapes else None, name=f"in{i}") for i, v in
              enumerate(values)]
    y = builder(*inputs)
    value = tf.Session(backend=backend).run(y, dict(zip(inputs, values)))
    np.testing.assert_allclose(value, reference(*values), rtol=1e-12, atol=1e-12)
    assert value.dtype == np.float64


@pytest.mark.parametrize("backend", WITH_INTERPRETER)
def test_float32_in_float32_out(backend):
    tf.Graph().as_default()
    x = tf.placeholder(tf.float32, [None, 5, 6, 3])
    w = tf.constant(W.astype(np.float32))
    y = tf.nn.avg_pool(tf.nn.max_pool(tf.nn.conv2d(x, w, 1, "SAME"), 2, 1, "SAME"), 2, 2, "VALID")
    assert y.dtype == np.float32
    value = tf.Session(backend=backend).run(y, {x: X.astype(np.float32)})
    assert value.dtype == np.float32
    expected = ref_avg_pool(ref_max_pool(ref_conv2d(X, W, padding="SAME"), (2, 2), (1, 1), "SAME"), (2, 2), (2, 2),
                            "VALID")
    np.testing.assert_allclose(value, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("backend", WITH_INTERPRETER)
def test_max_pool_gradient_goes_to_the_first_maximum_of_a_window(backend):
    # TensorFlow's MaxPoolGrad scans each window row by row and keeps the first of equal maxima
    x_value = np.array([[3.0, 3.0, 1.0, 2.0],
                        [3.0, 0.0, 2.0, 2.0],
                        [5.0, 5.0, 0.0, 0.0],
                        [1.0, 5.0, 0.0, 0.0]]).reshape(1, 4, 4, 1)
    tf.Graph().as_default()
    x = tf.placeholder(tf.float64, [1, 4, 4, 1])
    y = tf.nn.max_pool(x, [1, 2, 2, 1], [1, 2, 2, 1], "VALID")
    (g,) = tf.gradients(y, [x], grad_ys=tf.constant(np.array([1.0, 2.0, 3.0, 4.0]).reshape(1, 2, 2, 1)))
    grad = tf.Session(backend=backend).run(g, {x: x_value})[0, :, :, 0]
    np.testing.assert_array_equal(grad, [[1, 0, 0, 2], [0, 0, 0, 0], [3, 0, 4, 0], [0, 0, 0, 0]])


@pytest.mark.parametrize("backend", WITH_INTERPRETER)
def test_avg_pool_same_gradient_counts_only_the_pixels_in_the_image(backend):
    tf.Graph().as_default()
    x = tf.placeholder(tf.float64, [1, 3, 3, 1])
    (g,) = tf.gradients(tf.nn.avg_pool(x, [1, 2, 2, 1], [1, 2, 2, 1], "SAME"), [x])
    grad = tf.Session(backend=backend).run(g, {x: np.zeros((1, 3, 3, 1))})[0, :, :, 0]
    # windows of 4, 2, 2 and 1 pixels: each pixel gets 1 / (the size of its window)
    np.testing.assert_array_equal(grad, [[0.25, 0.25, 0.5], [0.25, 0.25, 0.5], [0.5, 0.5, 1.0]])


# gradients against finite differences, for drawn shapes, strides, paddings and dilations ------------------------------
@st.composite
def configurations(draw, op: str):
    """(op, shapes and attributes) of one case: small, and with windows that fit where the padding is "VALID"."""
    padding = draw(st.sampled_from(["SAME", "VALID"]))
    n, c = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    k = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    strides = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilations = (draw(st.integers(1, 2)), draw(st.integers(1, 2))) if op.startswith("conv") else (1, 1)
    spans = [(kk - 1) * d + 1 for kk, d in zip(k, dilations)]
    low = spans if padding == "VALID" else [1, 1]
    hw = (draw(st.integers(low[0], low[0] + 4)), draw(st.integers(low[1], low[1] + 4)))
    o = draw(st.integers(1, 2))
    return op, n, hw, c, o, k, strides, dilations, padding, draw(st.integers(0, 2 ** 16))


def _case(config):
    """The inputs' values, the builder and the reference of one configuration."""
    op, n, hw, c, o, k, strides, dilations, padding, seed = config
    r = np.random.default_rng(seed)
    if op == "conv2d":
        values = [r.uniform(-1, 1, (n, *hw, c)), r.uniform(-1, 1, (*k, c, o))]
        return values, (lambda x, w: tf.nn.conv2d(x, w, strides, padding, dilations=dilations)), (
            lambda x, w: ref_conv2d(x, w, strides, padding, dilations))
    if op == "conv2d_transpose":
        out = [layout(size, kk, s, d, padding)[0] for size, kk, s, d in zip(hw, k, strides, dilations)]
        values = [r.uniform(-1, 1, (n, *out, o)), r.uniform(-1, 1, (*k, c, o))]
        return values, (lambda v, w: tf.nn.conv2d_transpose(v, w, [n, *hw, c], strides, padding,
                                                            dilations=dilations)), (
            lambda v, w: ref_conv2d_transpose(v, w, hw, strides, padding, dilations))
    # distinct values, at least 0.1 apart: the maximum of a window does not change under finite differences
    size = n * hw[0] * hw[1] * c
    values = [(r.permutation(size) * 0.1 - size * 0.05).reshape(n, *hw, c)]
    tf_op, ref = (tf.nn.max_pool, ref_max_pool) if op == "max_pool" else (tf.nn.avg_pool, ref_avg_pool)
    return values, (lambda x: tf_op(x, k, strides, padding)), (lambda x: ref(x, k, strides, padding))


@functools.lru_cache(maxsize=None)
def _expected(config):
    """The reference value, the weights of the summed loss, and the loss's gradient by finite differences."""
    values, _, reference = _case(config)
    value = reference(*values)
    weights = np.random.default_rng(config[-1] + 1).uniform(0.5, 1.5, value.shape)
    grads = []
    for i, x in enumerate(values):
        def f(v, i=i):
            args = list(values)
            args[i] = v
            return float(np.sum(reference(*args) * weights))

        grads.append(numeric_gradient(f, x))
    return value, weights, grads


def _check_gradients(config, backend):
    values, builder, _ = _case(config)
    value, weights, expected = _expected(config)
    tf.Graph().as_default()
    inputs = [tf.placeholder(tf.float64, v.shape, name=f"in{i}") for i, v in enumerate(values)]
    y = builder(*inputs)
    assert y.shape == value.shape
    session = tf.Session(backend=backend)
    feed = dict(zip(inputs, values))
    np.testing.assert_allclose(session.run(y, feed), value, rtol=1e-12, atol=1e-12)
    grads = session.run(tf.gradients(tf.reduce_sum(y * weights), inputs), feed)
    for i, (grad, numeric) in enumerate(zip(grads, expected)):
        np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8, err_msg=f"input {i} of {config}")


@pytest.mark.parametrize("backend", WITH_INTERPRETER)
@BOUNDED
@given(configurations("conv2d"))
def test_conv2d_gradients(backend, config):
    _check_gradients(config, backend)


@pytest.mark.parametrize("backend", WITH_INTERPRETER)
@BOUNDED
@given(configurations("conv2d_transpose"))
def test_conv2d_transpose_gradients(backend, config):
    _check_gradients(config, backend)


@pytest.mark.parametrize("backend", WITH_INTERPRETER)
@BOUNDED
@given(configurations("max_pool"))
def test_max_pool_gradients(backend, config):
    _check_gradients(config, backend)


@pytest.mark.parametrize("backend", WITH_INTERPRETER)
@BOUNDED
@given(configurations("avg_pool"))
def test_avg_pool_gradients(backend, config):
    _check_gradients(config, backend)


SECOND = [
    ("conv2d", ("conv2d", 1, (4, 3), 2, 2, (2, 2), (2, 1), (1, 2), "SAME", 7)),
    ("conv2d_transpose", ("conv2d_transpose", 1, (4, 4), 1, 2, (2, 3), (2, 2), (1, 1), "VALID", 8)),
    ("max_pool", ("max_pool", 1, (5, 4), 2, 1, (2, 2), (2, 1), (1, 1), "SAME", 9)),
    ("avg_pool", ("avg_pool", 1, (4, 5), 1, 1, (3, 2), (2, 2), (1, 1), "SAME", 10)),
]


@pytest.mark.parametrize("backend", WITH_INTERPRETER)
@pytest.mark.parametrize("name, config", SECOND, ids=[c[0] for c in SECOND])
def test_second_derivatives_match_finite_differences_of_the_first(name, config, backend):
    # loss = Σ y² ⊙ weights; the derivative of (∂loss/∂x_i · v_i) with respect to every input, against central
    # differences of the first derivative computed by the same session
    values, builder, _ = _case(config)
    tf.Graph().as_default()
    inputs = [tf.placeholder(tf.float64, v.shape, name=f"in{i}") for i, v in enumerate(values)]
    y = builder(*inputs)
    weights = np.random.default_rng(3).uniform(0.5, 1.5, y.shape)
    first = tf.gradients(tf.reduce_sum(y * y * weights), inputs)
    directions = [np.random.default_rng(4 + i).uniform(-1, 1, v.shape) for i, v in enumerate(values)]
    directional = tf.reduce_sum(first[0] * directions[0])
    for g, d in zip(first[1:], directions[1:]):
        directional = directional + tf.reduce_sum(g * d)
    second = tf.gradients(directional, inputs)
    session = tf.Session(backend=backend)
    feed = dict(zip(inputs, values))
    got = session.run(second, feed)
    for i, x in enumerate(values):
        def f(v, i=i):
            return float(session.run(directional, {**feed, inputs[i]: v}))

        np.testing.assert_allclose(got[i], numeric_gradient(f, x), rtol=1e-6, atol=1e-7, err_msg=f"input {i}")


def test_hessians_of_a_convolution_and_pooling():
    tf.Graph().as_default()
    x = tf.placeholder(tf.float64, [1, 4, 4, 1])
    w = tf.constant(np.random.default_rng(1).uniform(-1, 1, (2, 2, 1, 2)))
    y = tf.reduce_sum(tf.square(tf.nn.max_pool(tf.nn.conv2d(x, w, 1, "SAME"), 2, 1, "VALID")))
    (hessian,) = tf.hessians(y, [x])
    (gradient,) = tf.gradients(y, [x])
    session = tf.Session()
    value = np.random.default_rng(2).permutation(16).reshape(1, 4, 4, 1) * 0.1
    got = session.run(hessian, {x: value})
    assert got.shape == (1, 4, 4, 1, 1, 4, 4, 1)
    for index in np.ndindex(value.shape):  # row `index` of the Hessian: the derivative of that gradient element
        numeric = numeric_gradient(lambda v: float(session.run(gradient, {x: v})[index]), value)
        np.testing.assert_allclose(got[index], numeric, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("backend", WITH_INTERPRETER)
def test_bias_add_on_images_sums_the_gradient_over_batch_and_pixels(backend):
    tf.Graph().as_default()
    x = tf.placeholder(tf.float64, [None, 3, 2, 4])
    b = tf.placeholder(tf.float64, [4])
    y = tf.nn.bias_add(x, b)
    c = np.random.default_rng(5).uniform(-1, 1, (2, 3, 2, 4))
    dx, db = tf.gradients(tf.reduce_sum(y * c), [x, b])
    dx_value, db_value = tf.Session(backend=backend).run([dx, db], {x: np.zeros((2, 3, 2, 4)), b: np.zeros(4)})
    np.testing.assert_allclose(dx_value, c, rtol=1e-12)
    np.testing.assert_allclose(db_value, c.sum(axis=(0, 1, 2)), rtol=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
def test_generated_code_calls_one_kernel_per_op(backend):
    tf.Graph().as_default()
    x = tf.placeholder(tf.float32, [None, 8, 8, 1], name="images")
    w = tf.placeholder(tf.float32, [3, 3, 1, 2], name="filters")
    loss = tf.reduce_sum(tf.nn.avg_pool(tf.nn.max_pool(tf.nn.conv2d(x, w, 1, "SAME"), 2, 2, "SAME"), 2, 2, "SAME"))
    session = tf.Session(backend=backend)
    feed = {x: np.zeros((2, 8, 8, 1), np.float32), w: np.zeros((3, 3, 1, 2), np.float32)}
    source = session.source([loss, *tf.gradients(loss, [x, w])], feed)
    prefix = "runtime.lax_" if backend == "jax" else "runtime."
    module = {"numpy": "numpy, ", "cupy": "cupy, ", "jax": ""}[backend]
    for kernel in ("conv2d", "max_pool", "avg_pool", "avg_pool_grad", "max_pool_grad", "conv2d_backprop_input",
                   "conv2d_backprop_filter"):
        assert source.count(f"{prefix}{kernel}({module}") == 1, (kernel, source)


# dropout --------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("backend", WITH_INTERPRETER)
def test_dropout_keeps_the_mean_and_zeroes_a_fraction_of_rate(backend):
    tf.Graph().as_default()
    x = tf.placeholder(tf.float32, [None, 400])
    keep_prob = tf.placeholder(tf.float32)
    y = tf.nn.dropout(x, keep_prob, seed=5)
    session = tf.Session(backend=backend)
    for p in (0.3, 0.8):
        value = session.run(y, {x: np.ones((250, 400), np.float32), keep_prob: p})
        assert value.dtype == np.float32
        kept = value != 0
        np.testing.assert_allclose(kept.mean(), p, atol=0.01)  # 100 000 draws: the standard error is 0.0015
        np.testing.assert_array_equal(value[kept], np.float32(1) / np.float32(p))  # scaled by 1 / keep_prob
        np.testing.assert_allclose(value.mean(), 1.0, atol=0.02)


@pytest.mark.parametrize("backend", WITH_INTERPRETER)
def test_dropout_mask_is_fresh_on_every_run_and_seeded_sessions_repeat_it(backend):
    def masks(op_seed, graph_seed=None):
        tf.Graph().as_default()
        if graph_seed is not None:
            tf.set_random_seed(graph_seed)
        x = tf.placeholder(tf.float64, [None, 50])
        y = tf.nn.dropout(x, 0.5, seed=op_seed)
        session = tf.Session(backend=backend)
        return [session.run(y, {x: np.ones((4, 50))}) != 0 for _ in range(2)]

    first, second = masks(3)
    assert not np.array_equal(first, second)  # 200 coin flips: a repeat has probability 2^-200
    again = masks(3)
    np.testing.assert_array_equal(first, again[0])  # a new session with the same seeds draws the same masks
    np.testing.assert_array_equal(second, again[1])
    assert not np.array_equal(first, masks(4)[0])
    assert not np.array_equal(masks(3, graph_seed=1)[0], masks(3, graph_seed=2)[0])
    np.testing.assert_array_equal(masks(None, graph_seed=6)[0], masks(None, graph_seed=6)[0])


def test_dropout_draws_the_same_mask_on_every_backend():
    results = []
    for backend in ("interpreter", "numpy"):
        tf.Graph().as_default()
        x = tf.placeholder(tf.float64, [3, 20])
        y = tf.nn.dropout(x, 0.5, seed=11)
        results.append(tf.Session(backend=backend).run(y, {x: np.ones((3, 20))}))
    np.testing.assert_array_equal(results[0], results[1])


def test_a_jax_training_step_with_dropout_is_one_jitted_computation_drawing_numpys_masks():
    """On JAX the mask is drawn before the step (it reads only x's shape) and passed in with the feeds, so the step
    with it is still jitted; the masks are the ones the NumPy backend draws from the same seeds, run after run."""
    pytest.importorskip("jax")
    runs = {}
    for backend in ("numpy", "jax"):
        graph = tf.Graph()
        graph.as_default()
        tf.set_random_seed(7)
        x = tf.placeholder(tf.float32, [None, 12], name="x")
        W = tf.Variable(np.linspace(-1, 1, 36, dtype=np.float32).reshape(12, 3))
        h = tf.nn.dropout(tf.nn.relu(tf.matmul(x, W)), keep_prob=0.5, seed=3)
        train = tf.train.GradientDescentOptimizer(0.1).minimize(tf.reduce_sum(h))
        session = tf.Session(backend=backend)
        session.run(tf.global_variables_initializer())
        feed = {x: np.linspace(0, 2, 48, dtype=np.float32).reshape(4, 12)}
        runs[backend] = [session.run([h, train], feed)[0] for _ in range(3)] + [session.run(W)]
        if backend == "jax":
            (step,) = [p for p in graph.compile_cache.values() if p.draws]
            assert not step.user_ops and "call_compute" not in step.source
            assert "drawn before the step" in session.source([h, train], feed)
    assert not np.array_equal(runs["numpy"][0] != 0, runs["numpy"][1] != 0)  # a fresh mask on every run
    for numpy_value, jax_value in zip(runs["numpy"], runs["jax"]):
        np.testing.assert_array_equal(numpy_value != 0, jax_value != 0)
        np.testing.assert_allclose(jax_value, numpy_value, rtol=1e-5, atol=1e-6)  # XLA rounds float32 its own way


@pytest.mark.parametrize("backend", WITH_INTERPRETER)
def test_dropout_gradient_uses_the_mask_of_the_same_run(backend):
    tf.Graph().as_default()
    x = tf.placeholder(tf.float64, [None, 30])
    keep_prob = tf.placeholder(tf.float64, [])
    y = tf.nn.dropout(x, keep_prob, seed=2)
    c = np.random.default_rng(0).uniform(1, 2, (6, 30))
    dx, dk = tf.gradients(tf.reduce_sum(y * c), [x, keep_prob])
    x_value = np.random.default_rng(1).uniform(1, 2, (6, 30))
    session = tf.Session(backend=backend)
    for _ in range(3):  # each run a new mask, the gradient always that run's
        y_value, dx_value, dk_value = session.run([y, dx, dk], {x: x_value, keep_prob: 0.6})
        mask = y_value != 0
        assert 0 < mask.mean() < 1
        np.testing.assert_allclose(dx_value, c * mask / 0.6, rtol=1e-12)
        # y = x ⊙ mask / keep_prob, so ∂Σ c ⊙ y / ∂keep_prob = -Σ c ⊙ y / keep_prob
        np.testing.assert_allclose(dk_value, -np.sum(c * y_value) / 0.6, rtol=1e-12)


@pytest.mark.parametrize("backend", WITH_INTERPRETER)
def test_dropout_with_keep_prob_one_is_the_identity(backend):
    tf.Graph().as_default()
    x = tf.placeholder(tf.float32, [None, 10])
    assert tf.nn.dropout(x, 1.0) is x
    assert tf.nn.dropout(x, rate=0.0) is x
    keep_prob = tf.placeholder(tf.float32)
    y = tf.nn.dropout(x, keep_prob)
    value = np.random.default_rng(0).standard_normal((5, 10)).astype(np.float32)
    np.testing.assert_array_equal(tf.Session(backend=backend).run(y, {x: value, keep_prob: 1.0}), value)


@pytest.mark.parametrize("backend", WITH_INTERPRETER)
def test_dropout_noise_shape_drops_whole_rows_and_rate_is_one_minus_keep_prob(backend):
    tf.Graph().as_default()
    x = tf.placeholder(tf.float64, [None, 8])
    y = tf.nn.dropout(x, noise_shape=[None, 1], rate=0.5, seed=1)
    value = tf.Session(backend=backend).run(y, {x: np.ones((200, 8))})
    assert set(np.unique(value)) <= {0.0, 2.0}
    assert (value == value[:, :1]).all()  # one draw per row
    assert 70 < (value[:, 0] == 0).sum() < 130


def test_dropout_misuse_is_explained():
    tf.Graph().as_default()
    x = tf.placeholder(tf.float32, [2, 3], name="activations")
    with pytest.raises(ValueError, match="keep_prob or rate, not both"):
        tf.nn.dropout(x, 0.5, rate=0.5)
    with pytest.raises(ValueError, match="must give keep_prob"):
        tf.nn.dropout(x)
    with pytest.raises(ValueError, match=r"range \(0, 1\], got 1.5"):
        tf.nn.dropout(x, 1.5)
    with pytest.raises(ValueError, match=r"range \[0, 1\), got 1"):
        tf.nn.dropout(x, rate=1.0)
    with pytest.raises(ValueError, match="'ints' is int32"):
        tf.nn.dropout(tf.placeholder(tf.int32, [2], name="ints"), 0.5)
    with pytest.raises(ValueError, match=r"must be a scalar, not of shape \(3,\)"):
        tf.nn.dropout(x, tf.placeholder(tf.float32, [3]))
    with pytest.raises(ValueError, match=r"noise_shape \(2, 2\) does not broadcast to x's shape \(2, 3\)"):
        tf.nn.dropout(x, 0.5, noise_shape=[2, 2])


# errors: TensorFlow's checks, naming the node and the shapes ----------------------------------------------------------
def test_bad_strides_padding_and_layouts_name_the_node():
    tf.Graph().as_default()
    x = tf.placeholder(tf.float32, [None, 8, 8, 3], name="images")
    w = tf.placeholder(tf.float32, [3, 3, 3, 4], name="filters")
    with pytest.raises(tf.InvalidArgumentError, match=r"Op Conv2D \(node 'conv1'\): strides \[2, 1, 1, 1\]: strides "
                                                      "in the batch and depth dimensions are not supported"):
        tf.nn.conv2d(x, w, [2, 1, 1, 1], "SAME", name="conv1")
    with pytest.raises(tf.InvalidArgumentError, match=r"'Conv2D'\): padding must be \"SAME\" or \"VALID\", not 'same'"):
        tf.nn.conv2d(x, w, 1, "same")
    with pytest.raises(tf.InvalidArgumentError, match="strides must be an int or a list of 1, 2 or 4 ints"):
        tf.nn.conv2d(x, w, [1, 1, 1], "SAME")
    with pytest.raises(tf.InvalidArgumentError, match=r"strides \[1, 0, 1, 1\] must be positive"):
        tf.nn.conv2d(x, w, [1, 0, 1, 1], "SAME")
    with pytest.raises(tf.InvalidArgumentError, match="dilations in the batch and depth dimensions"):
        tf.nn.conv2d(x, w, 1, "SAME", dilations=[1, 1, 1, 2])
    with pytest.raises(tf.InvalidArgumentError, match=r"'MaxPool'\): ksize \[1, 2, 2, 2\]: pooling windows in the "
                                                      "batch and depth"):
        tf.nn.max_pool(x, [1, 2, 2, 2], [1, 2, 2, 1], "SAME")
    with pytest.raises(tf.InvalidArgumentError, match=r"data_format 'NCHW'.*NHWC"):
        tf.nn.avg_pool(x, 2, 2, "SAME", data_format="NCHW")
    with pytest.raises(tf.InvalidArgumentError, match="has dtype int32, not one of float16, float32, float64"):
        tf.nn.conv2d(tf.placeholder(tf.int32, [1, 4, 4, 1]), tf.placeholder(tf.int32, [2, 2, 1, 1]), 1, "SAME")


def test_shape_mismatches_name_the_node_and_both_shapes():
    tf.Graph().as_default()
    x = tf.placeholder(tf.float32, [None, 5, 5, 3], name="images")
    with pytest.raises(tf.ShapeError, match=r"Op Conv2D \(node 'conv'\): the input's channels and the filter's "
                                            r"in-channels must be equal, but are 3 and 2 \(input shapes "
                                            r"\(\?, 5, 5, 3\) and \(3, 3, 2, 4\)\)"):
        tf.nn.conv2d(x, tf.placeholder(tf.float32, [3, 3, 2, 4]), 1, "SAME", name="conv")
    with pytest.raises(tf.ShapeError, match=r"computed output height would be -1 \[input height: 5, effective filter "
                                            r"height: 7, stride: 1\]"):
        tf.nn.conv2d(x, tf.placeholder(tf.float32, [4, 1, 3, 1]), 1, "VALID", dilations=2)
    with pytest.raises(tf.ShapeError, match=r"input must be 4-D, got shape \(5, 5, 3\)"):
        tf.nn.conv2d(tf.placeholder(tf.float32, [5, 5, 3]), tf.placeholder(tf.float32, [3, 3, 3, 4]), 1, "SAME")
    with pytest.raises(tf.ShapeError, match=r"Op MaxPool \(node 'MaxPool'\): value must be 4-D"):
        tf.nn.max_pool(tf.placeholder(tf.float32, [5, 5]), 2, 2, "SAME")
    filters = tf.placeholder(tf.float32, [3, 3, 2, 3])
    with pytest.raises(tf.InvalidArgumentError, match="output_shape does not match the filter's output channels, 4 != "):
        tf.nn.conv2d_transpose(x, filters, [1, 10, 10, 4], [1, 2, 2, 1])
    with pytest.raises(tf.InvalidArgumentError, match="the value's channels do not match the filter's input channels"):
        tf.nn.conv2d_transpose(x, tf.placeholder(tf.float32, [3, 3, 2, 4]), [1, 10, 10, 2], [1, 2, 2, 1])
    with pytest.raises(tf.ShapeError, match=r"Op Conv2DBackpropInput \(node 'up'\): out_backprop's height is 5, but a "
                                            r"convolution of an input of height 7 .* has 4"):
        tf.nn.conv2d_transpose(x, filters, [1, 7, 10, 2], [1, 2, 2, 1], name="up")


@pytest.mark.parametrize("backend", WITH_INTERPRETER)
def test_a_fed_shape_that_does_not_fit_names_the_node(backend):
    tf.Graph().as_default()
    x = tf.placeholder(tf.float64, None, name="images")
    y = tf.nn.conv2d(x, tf.constant(np.ones((3, 3, 2, 1))), 1, "SAME", name="conv")
    with pytest.raises(tf.InvalidArgumentError, match=r"'conv'.*but are 3 and 2"):
        tf.Session(backend=backend).run(y, {x: np.ones((1, 4, 4, 3))})


# a TensorFlow 1 convolutional network ---------------------------------------------------------------------------------
def cnn(dtype):
    """The deep-MNIST shape, small: conv 5x5 + ReLU + 2x2 max pool, dropout, a dense softmax layer."""
    x = tf.placeholder(dtype, [None, 784], name="x")
    y_ = tf.placeholder(dtype, [None, 10], name="y_")
    keep_prob = tf.placeholder(dtype, name="keep_prob")
    x_image = tf.reshape(x, [-1, 28, 28, 1])
    W_conv1 = tf.Variable(tf.truncated_normal([5, 5, 1, 4], stddev=0.1, seed=1, dtype=dtype), name="W_conv1")
    b_conv1 = tf.Variable(tf.constant(0.1, shape=[4], dtype=dtype), name="b_conv1")
    h_conv1 = tf.nn.relu(tf.nn.conv2d(x_image, W_conv1, strides=[1, 1, 1, 1], padding="SAME") + b_conv1)
    h_pool1 = tf.nn.max_pool(h_conv1, ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding="SAME")
    h_flat = tf.reshape(h_pool1, [-1, 14 * 14 * 4])
    h_drop = tf.nn.dropout(h_flat, keep_prob, seed=2)
    W_fc = tf.Variable(tf.truncated_normal([14 * 14 * 4, 10], stddev=0.1, seed=3, dtype=dtype), name="W_fc")
    b_fc = tf.Variable(tf.constant(0.1, shape=[10], dtype=dtype), name="b_fc")
    y_conv = tf.matmul(h_drop, W_fc) + b_fc
    cross_entropy = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=y_, logits=y_conv))
    return x, y_, keep_prob, [W_conv1, b_conv1, W_fc, b_fc], cross_entropy


def _digits_like(n, seed):
    r = np.random.default_rng(seed)
    images = r.uniform(0, 1, (n, 784)).astype(np.float32)
    labels = np.eye(10, dtype=np.float32)[r.integers(0, 10, n)]
    return images, labels


@pytest.mark.parametrize("backend", WITH_INTERPRETER)
def test_a_tf1_cnn_trains(backend):
    tf.Graph().as_default()
    x, y_, keep_prob, _, loss = cnn(tf.float32)
    train_step = tf.train.GradientDescentOptimizer(0.05).minimize(loss)
    images, labels = _digits_like(64, 0)
    with tf.Session(backend=backend) as sess:
        sess.run(tf.global_variables_initializer())
        test = {x: images, y_: labels, keep_prob: 1.0}
        losses = [sess.run(loss, test)]
        for _ in range(4):
            sess.run(train_step, {x: images, y_: labels, keep_prob: 1.0})
            losses.append(sess.run(loss, test))
        sess.run(train_step, {x: images, y_: labels, keep_prob: 0.5})  # a step through dropout runs too
        after_dropout = sess.run(loss, test)
    assert all(np.isfinite(losses)) and np.isfinite(after_dropout)
    assert all(b < a for a, b in zip(losses, losses[1:])), losses


@pytest.mark.parametrize("backend", WITH_INTERPRETER)
def test_the_cnns_first_gradient_matches_finite_differences(backend):
    tf.Graph().as_default()
    x, y_, keep_prob, variables, loss = cnn(tf.float64)
    grads = tf.gradients(loss, variables)
    images, labels = _digits_like(3, 1)
    feed = {x: images.astype(np.float64), y_: labels.astype(np.float64), keep_prob: 1.0}
    sess = tf.Session(backend=backend)
    sess.run(tf.global_variables_initializer())
    values = sess.run(variables)
    got = sess.run(grads, feed)
    r = np.random.default_rng(0)
    for variable, value, grad in zip(variables, values, got):
        new = tf.placeholder(tf.float64, value.shape)
        load = tf.assign(variable, new)
        picked = [tuple(r.integers(0, d) for d in value.shape) for _ in range(3)]  # a few elements of each
        for index in picked:
            def f(v, index=index):
                changed = value.copy()
                changed[index] = v
                sess.run(load, {new: changed})
                return float(sess.run(loss, feed))

            numeric = numeric_gradient(f, np.array(value[index]))
            np.testing.assert_allclose(grad[index], numeric, rtol=1e-5, atol=1e-8,
                                       err_msg=f"{variable.name}{list(index)}")
        sess.run(load, {new: value})
