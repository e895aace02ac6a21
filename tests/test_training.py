"""Training ends where hand-written NumPy gradient descent ends; the other optimizers match their update rules."""

import numpy as np
import pytest

import symslow as ts
from symslow.backends import available_backends
from reference import blobs, mlp_loss, mlp_step, perceptron_step, xor_clusters

# every backend present: the tutorial's models end where hand-written NumPy ends, to 1e-10
BACKENDS = available_backends() + ["interpreter"]


def tutorial_mlp(initial, learning_rate=0.03, shape=None):
    """The tutorial's MLP from the initial weights: placeholders (of ``shape``), Variables, loss and training op."""
    dtype = None if shape is None else ts.float64
    X, c = ts.placeholder(dtype, shape=shape), ts.placeholder(dtype, shape=shape)
    W_hidden, b_hidden = ts.Variable(initial[0]), ts.Variable(initial[1])
    p_hidden = ts.sigmoid(ts.add(ts.matmul(X, W_hidden), b_hidden))
    W_output, b_output = ts.Variable(initial[2]), ts.Variable(initial[3])
    p_output = ts.softmax(ts.add(ts.matmul(p_hidden, W_output), b_output))
    J = ts.negative(ts.reduce_sum(ts.reduce_sum(ts.multiply(c, ts.log(p_output)), axis=1)))
    train = ts.train.GradientDescentOptimizer(learning_rate=learning_rate).minimize(J)
    return X, c, [W_hidden, b_hidden, W_output, b_output], J, train


@pytest.mark.parametrize("backend", BACKENDS)
def test_perceptron_100_steps_matches_numpy(backend):
    rng = np.random.default_rng(10)
    X_value, c_value = blobs(rng)
    W0, b0 = rng.standard_normal((2, 2)), rng.standard_normal(2)

    ts.Graph().as_default()
    X, c = ts.placeholder(), ts.placeholder()
    W, b = ts.Variable(W0), ts.Variable(b0)
    p = ts.softmax(ts.add(ts.matmul(X, W), b))
    J = ts.negative(ts.reduce_sum(ts.reduce_sum(ts.multiply(c, ts.log(p)), axis=1)))
    minimization_op = ts.train.GradientDescentOptimizer(learning_rate=0.01).minimize(J)
    session = ts.Session(backend=backend)
    feed_dict = {X: X_value, c: c_value}
    for _ in range(100):
        session.run(minimization_op, feed_dict)

    W_ref, b_ref = W0, b0
    for _ in range(100):
        W_ref, b_ref = perceptron_step(X_value, c_value, W_ref, b_ref, 0.01)
    np.testing.assert_allclose(session.run(W), W_ref, rtol=0, atol=1e-10)
    np.testing.assert_allclose(session.run(b), b_ref, rtol=0, atol=1e-10)


@pytest.mark.parametrize("backend", BACKENDS)
def test_mlp_1000_steps_matches_numpy(backend):
    rng = np.random.default_rng(11)
    X_value, c_value = xor_clusters(rng)
    initial = [rng.standard_normal((2, 2)), rng.standard_normal(2), rng.standard_normal((2, 2)), rng.standard_normal(2)]

    ts.Graph().as_default()
    X, c, variables, J, minimization_op = tutorial_mlp(initial)
    session = ts.Session(backend=backend)
    feed_dict = {X: X_value, c: c_value}
    steps = 150 if backend == "interpreter" else 1000  # the interpreter is slow on purpose
    losses = []
    for _ in range(steps):
        losses.append(session.run(J, feed_dict))
        session.run(minimization_op, feed_dict)

    reference = initial
    reference_losses = []
    for _ in range(steps):
        reference_losses.append(mlp_loss(X_value, c_value, *reference))
        reference = mlp_step(X_value, c_value, *reference, 0.03)
    for variable, expected in zip(variables, reference):
        np.testing.assert_allclose(session.run(variable), expected, rtol=0, atol=1e-10)
    np.testing.assert_allclose(losses, reference_losses, rtol=1e-10)


def test_minimize_uses_the_current_feed_not_an_earlier_run():
    ts.Graph().as_default()
    x = ts.placeholder()
    w = ts.Variable(np.array(1.0))
    loss = ts.square(w * x - 1.0)
    train = ts.train.GradientDescentOptimizer(0.1).minimize(loss)
    session = ts.Session()
    session.run(loss, {x: 100.0})  # an unrelated earlier run with another feed
    session.run(train, {x: 2.0})
    # d/dw (w x - 1)^2 = 2 (w x - 1) x = 2 * 1 * 2 at w = 1, x = 2
    assert session.run(w) == pytest.approx(1.0 - 0.1 * 4.0, abs=1e-15)


def test_compute_and_apply_gradients_as_in_tensorflow():
    ts.Graph().as_default()
    w = ts.Variable(np.array([1.0, -2.0]))
    loss = ts.reduce_sum(ts.square(w))
    optimizer = ts.train.GradientDescentOptimizer(0.25)
    grads_and_vars = optimizer.compute_gradients(loss)
    assert [v for _, v in grads_and_vars] == [w]
    halved = [(g * 0.5, v) for g, v in grads_and_vars]
    step = optimizer.apply_gradients(halved)
    session = ts.Session()
    assert session.run(step) is None
    np.testing.assert_allclose(session.run(w), np.array([1.0, -2.0]) * (1 - 0.25 * 0.5 * 2))


def test_var_list_limits_training():
    ts.Graph().as_default()
    a, b = ts.Variable(np.array(1.0)), ts.Variable(np.array(1.0))
    train = ts.train.GradientDescentOptimizer(0.5).minimize(ts.square(a * b), var_list=[a])
    session = ts.Session()
    session.run(train)
    assert session.run(a) == pytest.approx(0.0) and session.run(b) == 1.0


def test_momentum_matches_its_update_rule():
    ts.Graph().as_default()
    w = ts.Variable(np.array([3.0, -1.0]))
    target = np.array([0.5, 0.25])
    loss = ts.reduce_sum(ts.square(w - target))
    train = ts.train.MomentumOptimizer(0.1, momentum=0.9).minimize(loss)
    session = ts.Session()
    w_ref, accumulation = np.array([3.0, -1.0]), np.zeros(2)
    for _ in range(20):
        session.run(train)
        accumulation = 0.9 * accumulation + 2 * (w_ref - target)
        w_ref = w_ref - 0.1 * accumulation
    np.testing.assert_allclose(session.run(w), w_ref, rtol=1e-13)


def test_adam_matches_its_update_rule():
    ts.Graph().as_default()
    w = ts.Variable(np.array([3.0, -1.0]))
    loss = ts.reduce_sum(ts.square(w) * [1.0, 10.0])
    train = ts.train.AdamOptimizer(0.05).minimize(loss)
    session = ts.Session()
    w_ref, m, v = np.array([3.0, -1.0]), np.zeros(2), np.zeros(2)
    for t in range(1, 31):
        session.run(train)
        g = 2 * w_ref * [1.0, 10.0]
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        rate = 0.05 * np.sqrt(1 - 0.999**t) / (1 - 0.9**t)
        w_ref = w_ref - rate * m / (np.sqrt(v) + 1e-8)
    np.testing.assert_allclose(session.run(w), w_ref, rtol=1e-12)


def test_assign_ops_and_initializer():
    ts.Graph().as_default()
    v = ts.Variable(np.array([1.0, 2.0]))
    session = ts.Session()
    np.testing.assert_array_equal(session.run(ts.assign_add(v, [10.0, 10.0])), [11.0, 12.0])
    np.testing.assert_array_equal(session.run(ts.assign_sub(v, 1.0)), [10.0, 11.0])
    np.testing.assert_array_equal(session.run(v), [10.0, 11.0])
    session.run(ts.global_variables_initializer())
    np.testing.assert_array_equal(session.run(v), [1.0, 2.0])


def test_updates_in_one_run_all_read_the_values_the_run_started_with():
    ts.Graph().as_default()
    a, b = ts.Variable(np.array(1.0)), ts.Variable(np.array(10.0))
    swap = ts.group(ts.assign(a, b), ts.assign(b, a))
    session = ts.Session()
    session.run(swap)
    assert (session.run(a), session.run(b)) == (10.0, 1.0)
