"""Numerical stability at extreme inputs, against hand-written stable NumPy references, and check_numerics."""

from __future__ import annotations

import numpy as np
import pytest

import symslow as ts
from symslow.backends import available_backends



BACKENDS = available_backends() + ["interpreter"]

LOGITS = np.array([[1000.0, -1000.0, 0.0], [-1000.0, -999.0, -1000.0], [1000.0, 1000.0, 999.0]])
LABELS = np.array([[0.0, 1.0, 0.0], [0.2, 0.3, 0.5], [1.0, 0.0, 0.0]])


def stable_log_softmax(z: np.ndarray) -> np.ndarray:
    """log softmax by the log-sum-exp identity, in plain NumPy."""
    m = z.max(axis=-1, keepdims=True)
    return z - m - np.log(np.sum(np.exp(z - m), axis=-1, keepdims=True))


@pytest.fixture
def graph():
    g = ts.Graph()
    with g.as_default():
        yield g


@pytest.mark.parametrize("backend", BACKENDS)
def test_softmax_and_log_softmax_of_logits_of_magnitude_1000(graph, backend):
    z = ts.placeholder(ts.float64, shape=(None, 3), name="z")
    session = ts.Session(backend=backend)
    p, lp, log_p = session.run([ts.softmax(z), ts.log_softmax(z), ts.log(ts.softmax(z))], {z: LOGITS})
    expected = stable_log_softmax(LOGITS)
    np.testing.assert_allclose(lp, expected, rtol=1e-12, atol=0)
    np.testing.assert_allclose(log_p, expected, rtol=1e-12, atol=0)  # log(softmax) is built as the stable form
    np.testing.assert_allclose(p, np.exp(expected), rtol=1e-12, atol=0)
    assert np.all(np.isfinite(lp)) and lp[0, 1] == -2000.0
    np.testing.assert_allclose(p.sum(axis=-1), 1.0, rtol=1e-15)


@pytest.mark.parametrize("backend", BACKENDS)
def test_tutorial_cross_entropy_and_its_gradient_at_logits_of_magnitude_1000(graph, backend):
    z = ts.placeholder(ts.float64, shape=(None, 3), name="z")
    c = ts.placeholder(ts.float64, shape=(None, 3), name="c")
    J = ts.negative(ts.reduce_sum(ts.reduce_sum(ts.multiply(c, ts.log(ts.softmax(z))), axis=1)))
    (dJ_dz,) = ts.gradients(J, [z])
    loss, grad = ts.Session(backend=backend).run([J, dJ_dz], {z: LOGITS, c: LABELS})
    expected_loss = -np.sum(LABELS * stable_log_softmax(LOGITS))
    expected_grad = np.exp(stable_log_softmax(LOGITS)) * LABELS.sum(axis=1, keepdims=True) - LABELS  # softmax - c
    assert np.isfinite(loss)
    np.testing.assert_allclose(loss, expected_loss, rtol=1e-12)
    assert expected_loss > 2000  # the first row alone costs 2000: the loss really is large, not clipped
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("backend", BACKENDS)
def test_softmax_cross_entropy_with_logits_at_magnitude_1000(graph, backend):
    loss = ts.nn.softmax_cross_entropy_with_logits(labels=LABELS, logits=ts.constant(LOGITS))
    got = ts.Session(backend=backend).run(loss)
    np.testing.assert_allclose(got, -np.sum(LABELS * stable_log_softmax(LOGITS), axis=-1), rtol=1e-12)


def stable_sigmoid(x: np.ndarray) -> np.ndarray:
    """σ(x) without overflow: exp(x) / (1 + exp(x)) for negative x, 1 / (1 + exp(-x)) otherwise."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


@pytest.mark.parametrize("backend", BACKENDS)
def test_sigmoid_and_its_gradient_at_plus_minus_800(graph, backend):
    xs = np.array([-800.0, -700.0, -40.0, -1.0, 0.0, 1.0, 40.0, 700.0, 800.0])
    x = ts.placeholder(ts.float64, shape=(None,), name="x")
    y = ts.sigmoid(x)
    (dy,) = ts.gradients(y, [x])
    with np.errstate(over="ignore"):  # exp(800) overflows to inf inside 1 / (1 + inf) = 0, as in NumPy
        value, grad = ts.Session(backend=backend).run([y, dy], {x: xs})
    expected = stable_sigmoid(xs)
    # the gradient σ(x)(1 - σ(x)), written without cancellation: e^{-|x|} / (1 + e^{-|x|})²
    e = np.exp(-np.abs(xs))
    expected_grad = e / (1 + e) ** 2
    assert np.all(np.isfinite(value)) and np.all(np.isfinite(grad))
    np.testing.assert_allclose(value, expected, rtol=1e-14, atol=0)
    # relative accuracy where σ is small; near σ = 1 the gradient is 1 - σ(x), exact to float64's spacing at 1
    negative = xs <= 0
    np.testing.assert_allclose(grad[negative], expected_grad[negative], rtol=1e-13, atol=0)
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-13, atol=1e-16)
    assert grad[0] == 0.0 and grad[-1] == 0.0  # e^{-800} is below the smallest float64


@pytest.mark.parametrize("backend", BACKENDS)
def test_log_of_zero_gives_what_numpy_gives(graph, backend):
    x = ts.placeholder(ts.float64, shape=(None,), name="x")
    c = ts.constant(np.array([1.0, 1.0, 0.0]))
    loss = -ts.reduce_sum(c * ts.log(x))
    values = np.array([0.0, 0.5, 0.0])
    with np.errstate(divide="ignore", invalid="ignore"):
        got_log, got_loss = ts.Session(backend=backend).run([ts.log(x), loss], {x: values})
        expected_log = np.log(values)
        expected_loss = -np.sum(np.array([1.0, 1.0, 0.0]) * expected_log)  # 0 * -inf is nan in NumPy
    np.testing.assert_array_equal(got_log, expected_log)  # -inf, not a clipped log(1e-12)
    assert got_log[0] == -np.inf
    assert np.isnan(got_loss) and np.isnan(expected_loss)
    (grad,) = ts.gradients(ts.reduce_sum(ts.log(x)), [x])
    with np.errstate(divide="ignore"):
        got_grad = ts.Session(backend=backend).run(grad, {x: values})
        expected_grad = 1 / values  # d/dx log x = 1/x: inf at 0, as NumPy divides
    np.testing.assert_array_equal(got_grad, expected_grad)


# check_numerics ------------------------------------------------------------------------------------------------
def test_check_numerics_names_the_first_bad_node_and_its_input(graph):
    x = ts.placeholder(ts.float64, shape=(None,), name="x")
    w = ts.Variable(np.array(1.0), name="w")
    logged = ts.log(x, name="log_x")
    loss = ts.reduce_sum(ts.square(logged * w), name="loss")
    train = ts.train.GradientDescentOptimizer(0.1).minimize(loss)
    session = ts.Session(check_numerics=True)
    with pytest.raises(ts.InvalidArgumentError) as raised:
        session.run(train, {x: [1.0, 2.0, 0.0]})
    message = str(raised.value)
    assert "'log_x' (log) produced -inf at index (2,)" in message
    assert "'x' (Placeholder) shape (3,)" in message and "element 0.0 there" in message
    assert "No Variable was changed" in message
    assert float(session.run(w)) == 1.0  # the failed run changed nothing
    session.run(train, {x: [1.0, 2.0, 3.0]})  # a finite run passes the check and trains
    assert float(session.run(w)) != 1.0


def test_check_numerics_per_run_and_off_by_default(graph):
    x = ts.placeholder(ts.float64, shape=(None,), name="x")
    y = ts.sqrt(x, name="root")
    session = ts.Session()
    with np.errstate(invalid="ignore"):
        value = session.run(y, {x: [4.0, -1.0]})  # off: NumPy's nan, no error
    assert value[0] == 2.0 and np.isnan(value[1])
    with pytest.raises(ts.InvalidArgumentError, match=r"'root' \(sqrt\) produced nan at index \(1,\)"):
        session.run(y, {x: [4.0, -1.0]}, check_numerics=True)
    quiet = ts.Session(check_numerics=True)
    with np.errstate(invalid="ignore"):
        assert np.isnan(quiet.run(y, {x: [-1.0]}, check_numerics=False)[0])  # the run's choice wins


def test_check_numerics_finds_a_nan_that_a_later_op_hides(graph):
    x = ts.placeholder(ts.float64, shape=(None,), name="x")
    inner = ts.sqrt(x - 2.0, name="root")  # nan for x < 2
    hidden = ts.maximum(ts.zeros_like(x) + 1.0, 1.0)  # does not use inner
    y = ts.multiply(ts.zeros_like(inner), 1.0, name="zeroed") + hidden
    with np.errstate(invalid="ignore"):
        assert np.all(np.isfinite(ts.Session().run(y, {x: [0.0, 1.0]})))  # the nan never reaches the fetch
    with pytest.raises(ts.InvalidArgumentError, match=r"'root' \(sqrt\) produced nan at index \(0,\)"):
        ts.Session().run(y, {x: [0.0, 1.0]}, check_numerics=True)


def test_check_numerics_names_a_bad_feed_and_a_bad_variable(graph):
    x = ts.placeholder(ts.float64, shape=(None,), name="x")
    v = ts.Variable(np.array([1.0, np.inf]), name="v")
    with pytest.raises(ts.InvalidArgumentError, match=r"placeholder 'x' \(Placeholder\) was fed nan at index \(1,\)"):
        ts.Session().run(x * 2, {x: [1.0, np.nan]}, check_numerics=True)
    with pytest.raises(ts.InvalidArgumentError, match=r"Variable 'v' \(Variable\) holds inf at index \(1,\)"):
        ts.Session().run(v * 2, check_numerics=True)
