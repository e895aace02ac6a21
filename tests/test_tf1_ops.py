"""TensorFlow 1's everyday ops: comparisons, casts, argmax, where, more reductions, elementwise functions, tf.nn losses.

Every case runs on the interpreter and on every compiled backend present (the parametrisation of test_backends.py),
its value against NumPy written out here and its gradient against central finite differences. The accuracy line of
the TensorFlow 1 tutorials is checked inside a small logistic regression trained in TensorFlow 1 style, against the
same training written in NumPy.
"""

import numpy as np
import pytest

import symslow as tf
from test_backends import BACKENDS, WITH_INTERPRETER, _numpy_in_cupys_place, check_value_and_gradient  # noqa: F401

rng = np.random.default_rng(7)
ANY = lambda *shape: rng.uniform(-2.0, 2.0, shape)  # noqa: E731
POS = lambda *shape: rng.uniform(0.5, 2.0, shape)  # noqa: E731
AWAY = lambda *shape: rng.choice([-1, 1], shape) * rng.uniform(0.3, 2.0, shape)  # noqa: E731  (away from kinks)
DISTINCT = lambda *shape: rng.permutation(np.arange(np.prod(shape)) * 0.37 - 2.0).reshape(shape)  # noqa: E731  no ties


def _log_softmax(z, axis=-1):
    m = z.max(axis=axis, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(axis=axis, keepdims=True))


def _softplus(x):
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def _sigmoid(x):
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def _prod_case(values):
    return ("reduce_prod_" + str(int(np.sum(values == 0))) + "_zeros", lambda a: tf.reduce_prod(a, axis=1),
            lambda a: np.prod(a, axis=1), [values])


LABELS = np.array([2, 0, 1])
CONDITION = np.array([[True, False, True], [False, False, True]])

# (name, builder, NumPy reference, input values): differentiable ops, values and gradients
CASES = [
    ("abs", lambda a: tf.abs(a), np.abs, [AWAY(3, 2)]),
    ("sign", lambda a: tf.sign(a) * a, lambda a: np.sign(a) * a, [AWAY(4)]),
    ("floor", lambda a: tf.floor(a) * a, lambda a: np.floor(a) * a, [np.array([-1.5, -0.25, 0.5, 1.75, 2.6])]),
    ("ceil", lambda a: tf.ceil(a) * a, lambda a: np.ceil(a) * a, [np.array([-1.5, -0.25, 0.5, 1.75, 2.6])]),
    ("sin", lambda a: tf.sin(a), np.sin, [ANY(3, 2)]),
    ("cos", lambda a: tf.cos(a), np.cos, [ANY(3, 2)]),
    ("log1p", lambda a: tf.log1p(a), np.log1p, [POS(3, 2) - 0.4]),
    ("minimum", lambda a, b: tf.minimum(a, b), np.minimum, [ANY(3, 2), ANY(3, 2) + 5 * AWAY(3, 2)]),
    ("minimum_broadcast", lambda a, b: tf.minimum(a, b), np.minimum,
     [DISTINCT(3, 4), np.array([0.05, -0.2, 0.4, 3.0])]),
    ("reciprocal", lambda a: tf.reciprocal(a), lambda a: 1 / a, [AWAY(5)]),
    ("rsqrt", lambda a: tf.rsqrt(a), lambda a: 1 / np.sqrt(a), [POS(5)]),
    ("clip_by_value", lambda t, lo, hi: tf.clip_by_value(t, lo, hi),
     lambda t, lo, hi: np.minimum(np.maximum(t, lo), hi),
     [np.array([[-1.7, -0.3, 0.2], [1.4, 0.9, -1.2]]), np.array(-1.0), np.array(1.0)]),
    ("clip_by_value_arrays", lambda t, lo: tf.clip_by_value(t, lo, 0.5), lambda t, lo: np.clip(t, lo, 0.5),
     [np.array([-1.7, -0.3, 0.2, 1.4]), np.array([-1.0, 0.0, -0.5, 0.0])]),
    ("elu", lambda a: tf.nn.elu(a), lambda a: np.where(a > 0, a, np.expm1(np.minimum(a, 0))), [AWAY(3, 2)]),
    ("softplus", lambda a: tf.nn.softplus(a), lambda a: np.log1p(np.exp(a)), [ANY(3, 2)]),
    ("where", lambda a, b: tf.where(CONDITION, a, b), lambda a, b: np.where(CONDITION, a, b), [ANY(2, 3), ANY(2, 3)]),
    ("where_broadcast", lambda a, b: tf.where(CONDITION, a, b), lambda a, b: np.where(CONDITION, a, b),
     [ANY(3), ANY(2, 1)]),
    ("where_rows", lambda a, b: tf.where(np.array([True, False, True]), a, b),
     lambda a, b: np.where(np.array([True, False, True])[:, None], a, b), [ANY(3, 2), ANY(3, 2)]),
    ("reduce_max_all", lambda a: tf.reduce_max(a), np.max, [DISTINCT(3, 4)]),
    ("reduce_max_axis", lambda a: tf.reduce_max(a, axis=1), lambda a: np.max(a, axis=1), [DISTINCT(3, 4)]),
    ("reduce_max_keep_dims", lambda a: tf.reduce_max(a, reduction_indices=[0], keep_dims=True),
     lambda a: np.max(a, axis=0, keepdims=True), [DISTINCT(3, 4)]),
    ("reduce_max_tuple", lambda a: tf.reduce_max(a, axis=(0, 2)), lambda a: np.max(a, axis=(0, 2)),
     [DISTINCT(2, 3, 4)]),
    ("reduce_min_axis", lambda a: tf.reduce_min(a, axis=-1, keepdims=True), lambda a: np.min(a, axis=-1, keepdims=True),
     [DISTINCT(3, 4)]),
    ("reduce_min_long_axis", lambda a: tf.reduce_min(a, 0), lambda a: np.min(a, axis=0), [DISTINCT(7, 2)]),
    ("reduce_prod_all", lambda a: tf.reduce_prod(a), np.prod, [POS(2, 3)]),
    ("reduce_prod_keepdims", lambda a: tf.reduce_prod(a, 0, keepdims=True), lambda a: np.prod(a, 0, keepdims=True),
     [ANY(3, 2)]),
    _prod_case(np.array([[1.5, 0.0, -2.0], [0.5, 1.2, 0.7]])),  # one zero in a row: only it has a gradient
    _prod_case(np.array([[1.5, 0.0, 0.0], [0.0, 1.2, 0.7]])),  # two zeros in a row: no gradient anywhere in it
    ("reduce_sum_tf1_names", lambda a: tf.reduce_sum(a, reduction_indices=1, keep_dims=True),
     lambda a: np.sum(a, axis=1, keepdims=True), [ANY(3, 2)]),
    ("reduce_mean_tf1_names", lambda a: tf.reduce_mean(a, reduction_indices=[0]), lambda a: np.mean(a, axis=0),
     [ANY(3, 2)]),
    ("bias_add", lambda v, b: tf.nn.bias_add(v, b), lambda v, b: v + b, [ANY(4, 3), ANY(3)]),
    ("l2_loss", lambda t: tf.nn.l2_loss(t), lambda t: np.sum(t**2) / 2, [ANY(3, 2)]),
    ("sparse_softmax_cross_entropy", lambda z: tf.nn.sparse_softmax_cross_entropy_with_logits(labels=LABELS, logits=z),
     lambda z: -_log_softmax(z)[np.arange(3), LABELS], [ANY(3, 4)]),
    ("softmax_cross_entropy_v2", lambda c, z: tf.nn.softmax_cross_entropy_with_logits_v2(labels=c, logits=z),
     lambda c, z: -np.sum(c * _log_softmax(z), axis=-1), [np.exp(_log_softmax(ANY(3, 4))), ANY(3, 4)]),
    ("sigmoid_cross_entropy", lambda z, x: tf.nn.sigmoid_cross_entropy_with_logits(labels=z, logits=x),
     lambda z, x: -z * np.log(_sigmoid(x)) - (1 - z) * np.log(1 - _sigmoid(x)), [rng.uniform(0, 1, (3, 2)), ANY(3, 2)]),
]


@pytest.mark.parametrize("backend", WITH_INTERPRETER)
@pytest.mark.parametrize("static_shapes", [True, False], ids=["static", "unknown"])
@pytest.mark.parametrize("name, builder, reference, values", CASES, ids=[c[0] for c in CASES])
def test_op_value_and_gradient(name, builder, reference, values, static_shapes, backend):
    tf.Graph().as_default()
    inputs = [tf.placeholder(tf.float64, shape=v.shape if static_shapes else None, name=f"in{i}")
              for i, v in enumerate(values)]
    y = builder(*inputs)
    value = check_value_and_gradient(name, tf.Session(backend=backend), y, inputs, values, reference)
    assert np.asarray(value).dtype == np.float64


@pytest.mark.parametrize("backend", WITH_INTERPRETER)
def test_max_and_min_split_the_gradient_between_ties(backend):
    tf.Graph().as_default()
    x = tf.placeholder(tf.float64, shape=(None, 4), name="x")
    value = np.array([[1.0, 3.0, 3.0, 3.0], [2.0, 0.0, 2.0, -1.0]])
    g_max, g_min, g_all = tf.gradients([tf.reduce_max(x, axis=1)], [x]) + tf.gradients(
        tf.reduce_min(x, axis=1, keepdims=True), [x]) + tf.gradients(tf.reduce_max(x), [x])
    got = tf.Session(backend=backend).run([g_max, g_min, g_all], {x: value})
    np.testing.assert_allclose(got[0], [[0, 1 / 3, 1 / 3, 1 / 3], [0.5, 0, 0.5, 0]], rtol=1e-15)
    np.testing.assert_allclose(got[1], [[1, 0, 0, 0], [0, 0, 0, 1]], rtol=1e-15)
    np.testing.assert_allclose(got[2], [[0, 1 / 3, 1 / 3, 1 / 3], [0, 0, 0, 0]], rtol=1e-15)


@pytest.mark.parametrize("backend", WITH_INTERPRETER)
def test_bias_add_channels_first(backend):
    tf.Graph().as_default()
    v = tf.placeholder(tf.float64, shape=(None, 3, 2, 2), name="v")
    b = tf.placeholder(tf.float64, shape=(3,), name="b")
    values = {v: ANY(2, 3, 2, 2), b: ANY(3)}
    y = tf.nn.bias_add(v, b, data_format="NCHW")
    session = tf.Session(backend=backend)
    np.testing.assert_allclose(session.run(y, values), values[v] + values[b][:, None, None], rtol=1e-15)
    weights = ANY(2, 3, 2, 2)
    (db,) = session.run(tf.gradients(tf.reduce_sum(y * weights), [b]), values)
    np.testing.assert_allclose(db, weights.sum(axis=(0, 2, 3)), rtol=1e-12)


def _has_no_gradient(node, x, session, feed):
    """The op declares no gradient for any input (``None``, as TensorFlow), so nothing reaches ``x`` through it:
    ``tf.gradients`` gives None or, where ``x`` is connected to the output all the same, zeros."""
    assert all(node.gradient(tf.ones_like(node), i) is None for i in range(len(node.input_nodes)))
    (g,) = tf.gradients(tf.reduce_sum(tf.cast(node, tf.float64)), [x])
    assert g is None or not np.any(session.run(g, feed))


# comparisons, logical ops, argmax, cast: values and dtypes, no gradient -------------------------------------------
A = np.array([[1.0, -2.0, 3.0], [0.5, 0.5, -1.0]])
B = np.array([0.5, -2.0, 4.0])
COMPARISONS = [
    ("equal", tf.equal, np.equal), ("not_equal", tf.not_equal, np.not_equal), ("less", tf.less, np.less),
    ("less_equal", tf.less_equal, np.less_equal), ("greater", tf.greater, np.greater),
    ("greater_equal", tf.greater_equal, np.greater_equal),
]


@pytest.mark.parametrize("backend", WITH_INTERPRETER)
@pytest.mark.parametrize("name, op, reference", COMPARISONS, ids=[c[0] for c in COMPARISONS])
def test_comparisons_give_booleans_and_no_gradient(name, op, reference, backend):
    tf.Graph().as_default()
    a = tf.placeholder(tf.float64, shape=(None, 3), name="a")
    b = tf.placeholder(tf.float64, shape=(3,), name="b")
    result = op(a, b)
    assert result.dtype == np.bool_ and result.shape == (None, 3)
    session = tf.Session(backend=backend)
    got, with_number = session.run([result, op(a, 0.5)], {a: A, b: B})
    assert got.dtype == np.bool_ and with_number.dtype == np.bool_
    np.testing.assert_array_equal(got, reference(A, B))
    np.testing.assert_array_equal(with_number, reference(A, 0.5))
    _has_no_gradient(result, b, session, {a: A, b: B})


@pytest.mark.parametrize("backend", WITH_INTERPRETER)
def test_logical_ops_and_boolean_reductions(backend):
    tf.Graph().as_default()
    p = tf.placeholder(tf.bool, shape=(2, 3), name="p")
    q = tf.placeholder(tf.bool, shape=(3,), name="q")
    pv = np.array([[True, False, True], [False, False, True]])
    qv = np.array([True, True, False])
    fetches = [tf.logical_and(p, q), tf.logical_or(p, q), tf.logical_xor(p, q), tf.logical_not(p),
               tf.reduce_any(p), tf.reduce_all(p, axis=0), tf.reduce_any(p, reduction_indices=1, keep_dims=True),
               tf.reduce_all(tf.logical_or(p, tf.logical_not(p)))]
    got = tf.Session(backend=backend).run(fetches, {p: pv, q: qv})
    expected = [pv & qv, pv | qv, pv ^ qv, ~pv, np.any(pv), np.all(pv, axis=0), np.any(pv, axis=1, keepdims=True), True]
    for node, value, reference in zip(fetches, got, expected):
        assert node.dtype == np.bool_ and np.asarray(value).dtype == np.bool_, node.name
        np.testing.assert_array_equal(value, reference, err_msg=node.name)
        assert np.shape(value) == np.shape(reference)


@pytest.mark.parametrize("backend", WITH_INTERPRETER)
def test_argmax_argmin_axis_names_and_output_types(backend):
    tf.Graph().as_default()
    x = tf.placeholder(tf.float64, shape=(None, 4), name="x")
    value = np.array([[0.1, 0.9, 0.9, -1.0], [2.0, -3.0, 1.0, 2.0], [0.0, 0.0, 0.0, 5.0]])
    fetches = [tf.argmax(x, 1), tf.argmax(x, axis=-1), tf.argmax(x, dimension=1), tf.argmax(x), tf.argmin(x, 0),
               tf.arg_max(x, 1), tf.arg_min(x, 1), tf.argmax(x, 1, output_type=tf.int32),
               tf.argmin(x, axis=1, output_type=np.int32)]
    expected = [np.argmax(value, 1), np.argmax(value, 1), np.argmax(value, 1), np.argmax(value, 0),
                np.argmin(value, 0), np.argmax(value, 1), np.argmin(value, 1), np.argmax(value, 1), np.argmin(value, 1)]
    dtypes = [np.int64] * 7 + [np.int32] * 2
    assert fetches[0].shape == (None,) and fetches[3].shape == (4,)
    session = tf.Session(backend=backend)
    got = session.run(fetches, {x: value})
    for node, v, reference, dtype in zip(fetches, got, expected, dtypes):
        assert node.dtype == dtype and np.asarray(v).dtype == dtype, node.name
        np.testing.assert_array_equal(v, reference, err_msg=node.name)
    _has_no_gradient(fetches[0], x, session, {x: value})
    _has_no_gradient(fetches[4], x, session, {x: value})


class _NumpyDtypeHolder:
    as_numpy_dtype = np.float32


@pytest.mark.parametrize("backend", WITH_INTERPRETER)
@pytest.mark.parametrize("dtype, expected", [
    (np.float32, np.float32), ("float", np.float32), ("float32", np.float32), ("double", np.float64),
    ("int32", np.int32), (tf.int64, np.int64), (tf.float32, np.float32), (_NumpyDtypeHolder(), np.float32),
    (np.bool_, np.bool_), ("bool", np.bool_),
], ids=lambda v: getattr(v, "__name__", repr(v)))
def test_cast_to_each_spelling_of_a_dtype(dtype, expected, backend):
    tf.Graph().as_default()
    x = tf.placeholder(tf.float64, shape=(4,), name="x")
    value = np.array([1.7, -1.7, 0.0, 2.0])
    y = tf.cast(x, dtype)
    assert y.dtype == expected
    got = tf.Session(backend=backend).run(y, {x: value})
    assert np.asarray(got).dtype == expected
    np.testing.assert_array_equal(got, value.astype(expected))  # float to int truncates toward zero, as in TF


@pytest.mark.parametrize("backend", WITH_INTERPRETER)
def test_cast_gradient_passes_between_floats_only(backend):
    tf.Graph().as_default()
    x = tf.placeholder(tf.float64, shape=(3,), name="x")
    (through,) = tf.gradients(tf.reduce_sum(tf.cast(x, tf.float32) * np.float32(3.0)), [x])
    assert through.dtype == np.float64
    got = tf.Session(backend=backend).run(through, {x: [1.0, 2.0, 3.0]})
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, [3.0, 3.0, 3.0])
    for target in (tf.int32, tf.bool):
        _has_no_gradient(tf.cast(x, target), x, tf.Session(backend=backend), {x: [1.0, 2.0, 3.0]})


# the accuracy line in a TensorFlow 1 program ------------------------------------------------------------------------
def _clusters(rng, n=30):
    centres = np.array([[2.0, 0.0, 0.0, 1.0], [0.0, 2.0, 1.0, 0.0], [0.0, 0.0, 2.0, 2.0]])
    X = np.concatenate([c + 1.1 * rng.standard_normal((n, 4)) for c in centres]).astype(np.float32)
    Y = np.repeat(np.eye(3), n, axis=0).astype(np.float32)
    return X, Y


def _numpy_logistic_regression(X, Y, steps, rate):
    """The same training by hand: softmax regression, mean cross-entropy, plain gradient descent, float64."""
    X, Y = X.astype(np.float64), Y.astype(np.float64)
    W, b = np.zeros((4, 3)), np.zeros(3)
    for _ in range(steps):
        z = X @ W + b
        p = np.exp(z - z.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        dz = (p - Y) / len(X)
        W, b = W - rate * X.T @ dz, b - rate * dz.sum(axis=0)
    z = X @ W + b
    accuracy = np.mean(np.argmax(z, axis=1) == np.argmax(Y, axis=1))
    return W, b, accuracy


@pytest.mark.parametrize("backend", WITH_INTERPRETER)
def test_accuracy_of_a_trained_logistic_regression(backend):
    X_value, Y_value = _clusters(np.random.default_rng(3))
    tf.reset_default_graph()
    x = tf.placeholder(tf.float32, [None, 4])
    y_ = tf.placeholder(tf.float32, [None, 3])
    W = tf.Variable(np.zeros((4, 3), dtype=np.float32))
    b = tf.Variable(np.zeros(3, dtype=np.float32))
    y = tf.nn.softmax(tf.matmul(x, W) + b)
    cross_entropy = tf.reduce_mean(-tf.reduce_sum(y_ * tf.log(y), reduction_indices=[1]))
    train_step = tf.train.GradientDescentOptimizer(0.5).minimize(cross_entropy)
    correct_prediction = tf.equal(tf.argmax(y, 1), tf.argmax(y_, 1))
    accuracy = tf.reduce_mean(tf.cast(correct_prediction, tf.float32))

    sess = tf.Session(backend=backend)
    sess.run(tf.global_variables_initializer())
    for _ in range(30):
        sess.run(train_step, feed_dict={x: X_value, y_: Y_value})
    got = sess.run(accuracy, feed_dict={x: X_value, y_: Y_value})

    W_ref, b_ref, accuracy_ref = _numpy_logistic_regression(X_value, Y_value, 30, 0.5)
    np.testing.assert_allclose(sess.run(W), W_ref, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(sess.run(b), b_ref, rtol=1e-4, atol=1e-5)
    assert np.asarray(got).dtype == np.float32 and accuracy.dtype == np.float32
    assert 0.5 < accuracy_ref < 1.0  # overlapping clusters: the accuracy says something
    assert float(got) == pytest.approx(accuracy_ref, abs=1e-6)


# stability at logits of magnitude 1000 ------------------------------------------------------------------------------
EXTREME = np.array([[1000.0, -1000.0, 0.0], [-1000.0, -999.0, -1000.0]])


@pytest.mark.parametrize("backend", WITH_INTERPRETER)
def test_losses_and_activations_at_logits_of_magnitude_1000(backend):
    tf.Graph().as_default()
    z = tf.placeholder(tf.float64, shape=(None, 3), name="z")
    labels = np.array([1, 2])
    probabilities = np.array([[0.2, 0.3, 0.5], [1.0, 0.0, 0.0]])
    targets = np.array([[1.0, 0.0, 0.5], [0.0, 1.0, 0.25]])
    losses = [tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=z),
              tf.nn.softmax_cross_entropy_with_logits_v2(labels=probabilities, logits=z),
              tf.nn.sigmoid_cross_entropy_with_logits(labels=targets, logits=z), tf.nn.softplus(z), tf.nn.elu(z)]
    grads = [tf.gradients(tf.reduce_sum(loss), [z])[0] for loss in losses]
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        got = tf.Session(backend=backend).run(losses + grads, {z: EXTREME})
    ls, sig, sp = _log_softmax(EXTREME), _sigmoid(EXTREME), _softplus(EXTREME)
    expected = [-ls[np.arange(2), labels], -np.sum(probabilities * ls, axis=-1),
                np.maximum(EXTREME, 0) - EXTREME * targets + np.log1p(np.exp(-np.abs(EXTREME))), sp,
                np.where(EXTREME > 0, EXTREME, np.expm1(np.minimum(EXTREME, 0)))]
    expected += [np.exp(ls) - np.eye(3)[labels], np.exp(ls) * probabilities.sum(axis=1, keepdims=True) - probabilities,
                 sig - targets, sig, np.where(EXTREME > 0, 1.0, np.exp(np.minimum(EXTREME, 0)))]
    for value, reference in zip(got, expected):
        assert np.all(np.isfinite(value))
        np.testing.assert_allclose(value, reference, rtol=1e-12, atol=1e-300)
    assert got[0][0] == 2000.0  # a large loss, not clipped


# errors -------------------------------------------------------------------------------------------------------------
def test_bad_arguments_are_refused_with_clear_messages():
    tf.Graph().as_default()
    x = tf.placeholder(tf.float64, shape=(None, 3), name="x")
    with pytest.raises(tf.ShapeError, match=r"argmax .*'am'.*axis 2 is out of range .*\(\?, 3\)"):
        tf.argmax(x, 2, name="am")
    with pytest.raises(ValueError, match="both 'axis' and 'dimension'"):
        tf.argmax(x, axis=1, dimension=1)
    with pytest.raises(tf.InvalidArgumentError, match="output_type must be int32 or int64, not float32"):
        tf.argmax(x, 1, output_type=tf.float32)
    with pytest.raises(TypeError, match="axis must be an int"):
        tf.argmin(x, axis=[0, 1])
    with pytest.raises(tf.InvalidArgumentError, match="cast .*'c'.*'complex64' is not a numeric or boolean dtype"):
        tf.cast(x, "complex64", name="c")
    with pytest.raises(ValueError, match="reduce_max: cannot specify both 'axis' and 'reduction_indices'"):
        tf.reduce_max(x, axis=1, reduction_indices=1)
    with pytest.raises(ValueError, match="reduce_mean|reduce_sum: cannot specify both 'keepdims' and 'keep_dims'"):
        tf.reduce_mean(x, keepdims=True, keep_dims=True)
    with pytest.raises(tf.ShapeError, match=r"reduce_prod .*axis 2 is out of range"):
        tf.reduce_prod(x, axis=2)
    with pytest.raises(tf.ShapeError, match=r"Op equal .*\(\?, 3\) and \(4,\) cannot be broadcast"):
        tf.equal(x, tf.placeholder(tf.float64, shape=(4,)))
    with pytest.raises(tf.InvalidArgumentError, match="Op less .*one dtype.*float64.*int64"):
        tf.less(x, tf.placeholder(tf.int64, shape=(3,), name="i"))


def test_bad_where_clip_and_loss_arguments_are_refused():
    tf.Graph().as_default()
    x = tf.placeholder(tf.float64, shape=(None, 3), name="x")
    with pytest.raises(ValueError, match="x and y must both be given"):
        tf.where(tf.greater(x, 0.0), x)
    with pytest.raises(NotImplementedError, match="where\\(condition\\) alone"):
        tf.where(tf.greater(x, 0.0))
    with pytest.raises(tf.ShapeError, match=r"where .*condition of shape \(2,\) picks rows.*\(5, 3\)"):
        tf.where(tf.placeholder(tf.bool, shape=(2,)), tf.placeholder(tf.float64, shape=(5, 3)), 0.0)
    with pytest.raises(tf.InvalidArgumentError, match="where .*x is float64 but y is int32"):
        tf.where(tf.greater(x, 0.0), x, tf.placeholder(tf.int32, shape=(3,)))
    with pytest.raises(tf.InvalidArgumentError, match="clip_value_min 2.0 is greater than clip_value_max 1.0"):
        tf.clip_by_value(x, 2.0, 1.0)
    with pytest.raises(tf.InvalidArgumentError, match="labels must be integer class indices.*float32"):
        tf.nn.sparse_softmax_cross_entropy_with_logits(labels=[0.0, 1.0], logits=[[1.0, 2.0], [3.0, 4.0]])
    with pytest.raises(tf.ShapeError, match=r"labels of shape \(3,\) do not fit logits of shape \(2, 2\)"):
        tf.nn.sparse_softmax_cross_entropy_with_logits(labels=[0, 1, 1], logits=[[1.0, 2.0], [3.0, 4.0]])
    with pytest.raises(TypeError, match="labels= and logits="):
        tf.nn.sigmoid_cross_entropy_with_logits([1.0], [2.0])
    with pytest.raises(tf.ShapeError, match=r"logits and labels must have the same shape, not \(\?, 3\) and \(3,\)"):
        tf.nn.sigmoid_cross_entropy_with_logits(labels=np.ones(3), logits=x)
    with pytest.raises(tf.ShapeError, match=r"bias_add: a bias of 4 elements does not fit value of shape \(\?, 3\)"):
        tf.nn.bias_add(x, np.zeros(4))
    with pytest.raises(tf.ShapeError, match=r"bias must be a vector, not of shape \(1, 3\)"):
        tf.nn.bias_add(x, np.zeros((1, 3)))
    with pytest.raises(ValueError, match="data_format must be 'NHWC' or 'NCHW'"):
        tf.nn.bias_add(x, np.zeros(3), data_format="HWCN")


def test_a_label_out_of_range_is_an_error_in_the_interpreter():
    tf.Graph().as_default()
    labels = tf.placeholder(tf.int64, shape=(None,), name="labels")
    loss = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=np.zeros((2, 3)))
    with pytest.raises(tf.InvalidArgumentError, match=r"label value of 3 which is outside the valid range of \[0, 3\)"):
        tf.Session(backend="interpreter").run(loss, {labels: [0, 3]})


# printing ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("backend", BACKENDS)
def test_the_accuracy_line_prints_as_array_calls(backend):
    tf.Graph().as_default()
    y = tf.placeholder(tf.float64, shape=(None, 3), name="y")
    y_ = tf.placeholder(tf.float64, shape=(None, 3), name="y_")
    accuracy = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(y, 1), tf.argmax(y_, 1)), tf.float32))
    feed = {y: np.eye(3)[[0, 1, 2, 0]], y_: np.eye(3)[[0, 1, 1, 1]]}
    session = tf.Session(backend=backend)
    source = session.source(accuracy, feed)
    module = {"numpy": "numpy", "jax": "jax.numpy", "cupy": "cupy"}[session.backend_name]
    for call in ("argmax(", "equal(", "asarray("):
        assert f"{module}.{call}" in source, source
    assert float(session.run(accuracy, feed)) == 0.5


def test_latex_of_the_new_ops():
    tf.Graph().as_default()
    x = tf.placeholder(tf.float64, shape=(None, 3), name="x")
    assert r"\operatorname{argmax}_{1} x" in tf.latex(tf.argmax(x, 1))
    assert r"x \leq 0" in tf.latex(tf.less_equal(x, 0.0))
    assert r"\max_{j} x" in tf.latex(tf.reduce_max(x, axis=1))
    assert r"\prod" in tf.latex(tf.reduce_prod(x)) and r"\operatorname{float32}" in tf.latex(tf.cast(x, "float"))
    assert r"\left|{x}\right|" in tf.latex(tf.abs(x))


def test_float32_uniform_draws_stay_below_maxval():
    """A float64 draw just below 1 rounds to 1.0 in float32; the draw must stay in [minval, maxval)."""
    from symslow.ops.random import uniform

    class Highest:  # a generator whose every draw is the largest float64 below the top
        def uniform(self, low, high, shape):
            return np.full(shape, np.nextafter(high, low))

    values = uniform(Highest(), 0.0, 1.0, (3,), np.float32)
    assert values.dtype == np.float32 and np.all(values < 1.0)
    assert np.all(values == np.nextafter(np.float32(1.0), np.float32(0.0)))
    assert np.all(uniform(Highest(), -2.0, 3.0, (2,), np.float64) == np.nextafter(3.0, -2.0))
