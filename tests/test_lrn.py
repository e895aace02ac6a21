"""``tf.nn.lrn`` (local response normalization) against a loop over channels, and its gradient against finite
differences, on every backend."""

from __future__ import annotations

import numpy as np
import pytest

import symslow as tf
from symslow.testing import numeric_gradient
from test_backends import WITH_INTERPRETER, _numpy_in_cupys_place  # noqa: F401  (the autouse fixture)


def ref_lrn(x, depth_radius=5, bias=1.0, alpha=1.0, beta=0.5):
    """TensorFlow's documented definition, one channel at a time."""
    out = np.empty_like(x)
    channels = x.shape[3]
    for d in range(channels):
        lo, hi = max(0, d - depth_radius), min(channels, d + depth_radius + 1)
        sqr_sum = np.sum(x[..., lo:hi] ** 2, axis=-1)
        out[..., d] = x[..., d] / (bias + alpha * sqr_sum) ** beta
    return out


rng = np.random.default_rng(11)
X = rng.uniform(-2, 2, (2, 3, 4, 6))
SETTINGS = [dict(), dict(depth_radius=2, bias=2.0, alpha=0.5, beta=0.75), dict(depth_radius=0, bias=1.0, alpha=3.0),
            dict(depth_radius=9, bias=0.5, alpha=0.1, beta=1.0)]


@pytest.mark.parametrize("backend", WITH_INTERPRETER)
@pytest.mark.parametrize("kwargs", SETTINGS, ids=range(len(SETTINGS)))
def test_lrn_values_and_gradient(kwargs, backend):
    tf.Graph().as_default()
    x = tf.placeholder(tf.float64, [None, 3, 4, 6], name="x")
    weights = rng.standard_normal(X.shape)
    y = tf.nn.lrn(x, **kwargs)
    loss = tf.reduce_sum(y * weights)
    (grad,) = tf.gradients(loss, [x])
    session = tf.Session(backend=backend)
    value, grad_value = session.run([y, grad], {x: X})
    np.testing.assert_allclose(value, ref_lrn(X, **kwargs), rtol=1e-12, atol=1e-14)
    expected = numeric_gradient(lambda v: np.sum(ref_lrn(v, **kwargs) * weights), X)
    np.testing.assert_allclose(grad_value, expected, rtol=1e-6, atol=1e-8)


def test_lrn_float32_and_its_other_name():
    tf.Graph().as_default()
    x = tf.placeholder(tf.float32, [1, 2, 2, 6])
    y = tf.nn.local_response_normalization(x, depth_radius=1, alpha=1e-3, beta=0.75, name="norm1")
    assert y.name == "norm1" and y.dtype == np.float32
    value = tf.Session().run(y, {x: X[:1, :2, :2].astype(np.float32)})
    assert value.dtype == np.float32
    np.testing.assert_allclose(value, ref_lrn(X[:1, :2, :2], 1, 1.0, 1e-3, 0.75), rtol=1e-6)


def test_lrn_refuses_what_it_cannot_normalize():
    tf.Graph().as_default()
    with pytest.raises(tf.ShapeError, match=r"4-D images .* shape \(2, 3\) \('m'\)"):
        tf.nn.lrn(tf.placeholder(tf.float64, [2, 3], name="m"))
    with pytest.raises(tf.ShapeError, match="known number of channels"):
        tf.nn.lrn(tf.placeholder(tf.float64, [1, 2, 2, None]))
    image = tf.placeholder(tf.float64, [1, 2, 2, 3])
    with pytest.raises(tf.InvalidArgumentError, match="depth_radius is a whole number"):
        tf.nn.lrn(image, depth_radius=-1)
    with pytest.raises(tf.InvalidArgumentError, match="beta is a finite number"):
        tf.nn.lrn(image, beta=float("nan"))
