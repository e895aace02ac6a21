"""TensorFlow 1's initializers, variable scopes and ``tf.layers``.

Initializers are checked by the statistics of large seeded draws against TensorFlow 1's formulas (written out here
from its documentation: the fans of a kernel, Glorot's limit, the variance-scaling rule); variable scopes by the
names, sharing and errors TensorFlow gives; the layers by TF1-style programs trained here and checked against the
same computation in NumPy, started from the initial values read back from the session.
"""

from __future__ import annotations

import math
import threading

import numpy as np
import pytest

import symslow as tf
from symslow.backends import available_backends

BACKENDS = available_backends() + ["interpreter"]
F32_EPS = 1e-6  # a float32 draw may round just past a float64 bound


@pytest.fixture(autouse=True)
def _fresh_graph():
    tf.reset_default_graph()


def draw(initializer, shape, dtype=None):
    """The values of ``initializer`` for ``shape``, as a Variable made from it starts."""
    v = tf.Variable(initializer(shape) if dtype is None else initializer(shape, dtype=dtype))
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        return sess.run(v)


def fans(shape):
    """TensorFlow's fans, from its documentation: a matrix (in, out); a kernel (..., in, out) times its receptive
    field; a vector (n, n); a scalar (1, 1)."""
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    field = int(np.prod(shape[:-2]))
    return shape[-2] * field, shape[-1] * field


def truncated_std():
    """The standard deviation of a standard normal cut to [-2, 2], by numerical integration."""
    x = np.linspace(-2, 2, 200_001)
    p = np.exp(-x * x / 2)
    p[[0, -1]] /= 2  # the trapezoidal rule
    return math.sqrt(np.sum(x * x * p) / np.sum(p))


# -- initializers ---------------------------------------------------------------------------------------------------

def test_zeros_ones_and_constant_fill_the_shape():
    np.testing.assert_array_equal(draw(tf.zeros_initializer(), [2, 3]), np.zeros((2, 3), np.float32))
    ones = draw(tf.ones_initializer(dtype=tf.int32), [4])
    assert ones.dtype == np.int32 and ones.tolist() == [1, 1, 1, 1]
    assert draw(tf.constant_initializer(2.5), [2, 2]).tolist() == [[2.5, 2.5], [2.5, 2.5]]
    laid_out = draw(tf.constant_initializer(np.arange(6)), [2, 3])
    assert laid_out.dtype == np.float32 and laid_out.tolist() == [[0, 1, 2], [3, 4, 5]]
    # TensorFlow 1 continues a short value with its last element
    assert draw(tf.constant_initializer([1, 2, 3]), [2, 3]).tolist() == [[1, 2, 3], [3, 3, 3]]
    assert draw(tf.initializers.constant([1, 2]), [3], dtype=tf.float64).dtype == np.float64


def test_constant_initializer_errors():
    with pytest.raises(ValueError, match="too many elements provided. Needed at most 6, but received 8"):
        tf.constant_initializer(list(range(8)))([2, 3])
    with pytest.raises(TypeError, match=r"expected a value of shape \(3, 4\), got \(8,\)"):
        tf.constant_initializer(list(range(8)), verify_shape=True)([3, 4])
    with pytest.raises(TypeError, match="Python scalar, a list"):
        tf.constant_initializer(tf.constant(1.0))
    with pytest.raises(ValueError, match="not of dtype int32"):
        tf.constant_initializer(0.5)([2], dtype=tf.int32)


def test_random_normal_and_uniform_statistics():
    w = draw(tf.random_normal_initializer(mean=1.0, stddev=2.0, seed=1), [400, 500])
    assert w.dtype == np.float32
    assert abs(w.mean() - 1.0) < 0.02 and abs(w.std() - 2.0) < 0.015
    u = draw(tf.random_uniform_initializer(-3.0, 5.0, seed=2), [400, 500])
    assert u.min() >= -3.0 and u.max() < 5.0 + F32_EPS
    assert abs(u.mean() - 1.0) < 0.025 and abs(u.var() / (8.0**2 / 12) - 1) < 0.01
    unit = draw(tf.random_uniform_initializer(seed=3), [1000])  # maxval 1 for floats
    assert unit.min() >= 0.0 and unit.max() < 1.0 + F32_EPS


def test_truncated_normal_is_cut_at_two_standard_deviations():
    t = draw(tf.truncated_normal_initializer(mean=0.5, stddev=2.0, seed=4), [400, 500])
    assert np.abs(t - 0.5).max() <= 4.0 + F32_EPS
    assert abs(t.mean() - 0.5) < 0.02
    assert abs(t.std() / (2.0 * truncated_std()) - 1) < 0.01  # cutting narrows it to 0.88 stddev
    assert abs(tf.initializers.TRUNCATED_STDDEV - truncated_std()) < 1e-9


@pytest.mark.parametrize("shape", [(300, 200), (5, 5, 3, 16), (3, 3, 64, 8), (2000,)], ids=str)
def test_glorot_uniform_limit_is_sqrt_6_over_fan_in_plus_fan_out(shape):
    fan_in, fan_out = fans(shape)
    assert tf.initializers.compute_fans(shape) == (fan_in, fan_out)
    limit = math.sqrt(6 / (fan_in + fan_out))
    w = draw(tf.glorot_uniform_initializer(seed=5), shape)
    assert w.shape == shape and w.dtype == np.float32
    assert np.abs(w).max() <= limit * (1 + F32_EPS)
    assert np.abs(w).max() > 0.99 * limit  # the whole interval is used, not a narrower one
    assert abs(w.var() / (limit**2 / 3) - 1) < 0.03


def test_glorot_normal_is_truncated_with_the_glorot_variance():
    shape = (300, 200)
    stddev = math.sqrt(2 / (300 + 200))
    w = draw(tf.glorot_normal_initializer(seed=6), shape)
    assert abs(w.std() / stddev - 1) < 0.01
    assert np.abs(w).max() <= 2 * stddev / truncated_std() * (1 + F32_EPS)


@pytest.mark.parametrize("make, shape, variance, kind", [
    (lambda: tf.variance_scaling_initializer(seed=7), (400, 250), 1 / 400, "truncated"),
    (lambda: tf.variance_scaling_initializer(2.0, "fan_in", "untruncated_normal", seed=7), (400, 250), 2 / 400,
     "normal"),
    (lambda: tf.variance_scaling_initializer(3.0, "fan_out", "uniform", seed=7), (3, 3, 8, 40), 3 / (9 * 40),
     "uniform"),
    (lambda: tf.variance_scaling_initializer(0.5, "fan_avg", "normal", seed=7), (5, 5, 16, 32),
     0.5 / (25 * (16 + 32) / 2), "truncated"),
    (lambda: tf.initializers.he_normal(seed=7), (600, 100), 2 / 600, "truncated"),
    (lambda: tf.initializers.he_uniform(seed=7), (3, 3, 32, 64), 2 / (9 * 32), "uniform"),
    (lambda: tf.initializers.lecun_normal(seed=7), (500, 100), 1 / 500, "truncated"),
    (lambda: tf.initializers.lecun_uniform(seed=7), (500, 100), 1 / 500, "uniform"),
], ids=["default", "untruncated", "uniform-fan-out-kernel", "normal-is-truncated", "he_normal", "he_uniform",
        "lecun_normal", "lecun_uniform"])
def test_variance_scaling_has_the_variance_of_its_formula(make, shape, variance, kind):
    w = draw(make(), shape).astype(np.float64)
    assert abs(w.var() / variance - 1) < 0.03
    stddev = math.sqrt(variance)
    beyond = np.mean(np.abs(w) > 2 * stddev)
    if kind == "uniform":
        assert np.abs(w).max() <= math.sqrt(3 * variance) * (1 + F32_EPS)
    elif kind == "truncated":  # cut at two standard deviations of the widened normal: 2.27 of the final one
        assert np.abs(w).max() <= 2 * stddev / truncated_std() * (1 + F32_EPS)
    else:  # a normal has 4.55% of its values beyond two standard deviations
        assert abs(beyond - 0.0455) < 0.005


def test_seeded_initializers_repeat_and_unseeded_differ():
    init = tf.glorot_uniform_initializer(seed=11)
    a, b = tf.Variable(init([50, 40])), tf.Variable(init([50, 40]))
    c = tf.Variable(tf.glorot_uniform_initializer(seed=12)([50, 40]))
    d = tf.Variable(tf.glorot_uniform_initializer()([50, 40]))
    first, second = tf.Session(), tf.Session()
    a1, b1, c1, d1 = first.run([a, b, c, d])
    a2, d2 = second.run([a, d])
    np.testing.assert_array_equal(a1, b1)  # one op seed: the same values, as in TensorFlow
    np.testing.assert_array_equal(a1, a2)  # and in every new session
    assert not np.array_equal(a1, c1) and not np.array_equal(d1, d2)


def test_graph_seed_makes_unseeded_initializers_reproducible():
    tf.set_random_seed(3)
    a = tf.Variable(tf.random_normal_initializer()([20]))
    b = tf.Variable(tf.random_normal_initializer()([20]))
    a1, b1 = tf.Session().run([a, b])
    a2, b2 = tf.Session().run([a, b])
    np.testing.assert_array_equal(a1, a2)
    np.testing.assert_array_equal(b1, b2)
    assert not np.array_equal(a1, b1)


def test_global_variables_initializer_draws_anew():
    w = tf.Variable(tf.truncated_normal_initializer(seed=1)([10, 10]))
    z = tf.Variable(tf.zeros_initializer()([3]))
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        first = sess.run(w)
        sess.run([tf.assign(z, [1.0, 2.0, 3.0])])
        sess.run(tf.global_variables_initializer())
        assert not np.array_equal(first, sess.run(w))
        assert sess.run(z).tolist() == [0, 0, 0]


def test_initializer_dtypes_and_errors():
    assert draw(tf.glorot_uniform_initializer(dtype=tf.float64), [3, 3]).dtype == np.float64
    assert draw(tf.glorot_uniform_initializer(), [3, 3], dtype=tf.float64).dtype == np.float64
    with pytest.raises(ValueError, match="expected a floating point dtype, got int32"):
        tf.random_normal_initializer(dtype=tf.int32)
    with pytest.raises(ValueError, match="expected a floating point dtype, got int32"):
        tf.glorot_uniform_initializer()([2, 2], dtype=tf.int32)
    with pytest.raises(ValueError, match="scale must be a positive float"):
        tf.variance_scaling_initializer(scale=0.0)
    with pytest.raises(ValueError, match="mode must be one of"):
        tf.variance_scaling_initializer(mode="fan_sum")
    with pytest.raises(ValueError, match="distribution must be one of"):
        tf.variance_scaling_initializer(distribution="cauchy")
    with pytest.raises(ValueError, match=r"the shape must be fully known, not \(\?, 3\)"):
        tf.glorot_uniform_initializer()([None, 3])
    with pytest.raises(NotImplementedError, match="partitioned Variables"):
        tf.zeros_initializer()([2], partition_info=object())


def test_initializers_namespace_and_config():
    assert tf.initializers.zeros is tf.zeros_initializer
    assert tf.initializers.glorot_uniform is tf.glorot_uniform_initializer
    assert tf.initializers.global_variables is tf.global_variables_initializer
    init = tf.variance_scaling_initializer(2.0, "fan_out", "uniform", seed=3)
    again = type(init).from_config(init.get_config())
    assert again.get_config() == {"scale": 2.0, "mode": "fan_out", "distribution": "uniform", "seed": 3,
                                  "dtype": "float32"}


# -- variable scopes and get_variable ---------------------------------------------------------------------------------

def test_variable_scopes_name_variables_and_ops():
    with tf.variable_scope("foo"):
        with tf.variable_scope("bar") as scope:
            v = tf.get_variable("v", [1])
            total = v + 1.0
    assert v.name == "foo/bar/v" and scope.name == "foo/bar" and scope.original_name_scope == "foo/bar/"
    assert total.name == "foo/bar/add"
    assert tf.get_variable_scope().name == ""
    # a name scope names ops, not get_variable's Variables; a variable scope inside it nests both
    with tf.name_scope("ns"):
        w = tf.get_variable("w", [2])
        with tf.variable_scope("vs"):
            u = tf.get_variable("u", [2])
            product = u * w
    assert (w.name, u.name, product.name) == ("w", "vs/u", "ns/vs/multiply")
    # the initial-value ops sit under the Variable's name
    assert any(n.name.startswith("foo/bar/v/Initializer/") for n in tf.get_default_graph().nodes)


def test_reuse_true_returns_the_same_variable():
    with tf.variable_scope("foo"):
        v = tf.get_variable("v", [2, 3])
    with tf.variable_scope("foo", reuse=True):
        assert tf.get_variable("v", [2, 3]) is v
        assert tf.get_variable("v") is v  # the shape may be left out when sharing
        with tf.variable_scope("inner") as inner:
            assert inner.reuse is True  # inherited
    with tf.variable_scope("foo") as scope:
        scope.reuse_variables()
        assert tf.get_variable("v", [2, 3]) is v
    assert len(tf.global_variables()) == 1


def test_reuse_false_inside_a_reusing_scope_still_reuses():
    with tf.variable_scope("a"):
        v = tf.get_variable("v", [1])
    with tf.variable_scope("a", reuse=True):
        with tf.variable_scope(tf.get_variable_scope(), reuse=False):
            assert tf.get_variable("v", [1]) is v


def test_auto_reuse_makes_then_returns():
    def shared():
        with tf.variable_scope("foo", reuse=tf.AUTO_REUSE):
            return tf.get_variable("v", [1])
    assert shared() is shared()
    assert [v.name for v in tf.global_variables()] == ["foo/v"]


def test_reentering_a_captured_scope():
    with tf.variable_scope("outer") as captured:
        v = tf.get_variable("v", [1])
    with tf.variable_scope("elsewhere"):
        with tf.variable_scope(captured, reuse=True) as again:
            assert again.name == "outer" and tf.get_variable("v", [1]) is v
            assert again.original_name_scope == "outer/"
        with tf.variable_scope(captured):
            w = tf.get_variable("w", [1])
    assert w.name == "outer/w"


def test_default_names_count_per_scope_and_restart_on_reentry():
    # TensorFlow's own example: counters of default names restart when the scope is entered again
    with tf.variable_scope("foo") as vs:
        with tf.variable_scope(None, default_name="bar"):
            a = tf.get_variable("a", [1])
        with tf.variable_scope(None, default_name="bar"):
            b = tf.get_variable("b", [1])
    with tf.variable_scope(vs):
        with tf.variable_scope(None, default_name="bar"):
            c = tf.get_variable("c", [1])
    assert (a.name, b.name, c.name) == ("foo/bar/a", "foo/bar_1/b", "foo/bar/c")
    with tf.variable_scope("bar"):
        pass
    with tf.variable_scope(None, default_name="bar") as top:
        assert top.name == "bar_1"  # "bar" was used at the top level


def test_variable_scope_errors():
    with tf.variable_scope("foo"):
        tf.get_variable("v", [1])
        with pytest.raises(ValueError, match=r"Variable foo/v already exists, disallowed\. Did you mean to set "
                                             r"reuse=True or reuse=tf\.AUTO_REUSE in VarScope\?"):
            tf.get_variable("v", [1])
    with tf.variable_scope("foo", reuse=True):
        with pytest.raises(ValueError, match=r"Variable foo/w does not exist, or was not created with "
                                             r"tf\.get_variable\(\)"):
            tf.get_variable("w", [1])
        with pytest.raises(ValueError, match=r"Trying to share variable foo/v, but specified shape \(2,\) and "
                                             r"found shape \(1,\)"):
            tf.get_variable("v", [2])
        with pytest.raises(ValueError, match="specified dtype float64 and found dtype float32"):
            tf.get_variable("v", [1], dtype=tf.float64)
    plain = tf.Variable(1.0, name="plain")
    with tf.variable_scope(tf.get_variable_scope(), reuse=True):
        with pytest.raises(ValueError, match="was not created with tf.get_variable"):
            tf.get_variable("plain", [])
    assert plain.name == "plain"
    with pytest.raises(ValueError, match=r"Shape of a new variable \(x\) must be fully defined, but instead was "
                                         r"\(\?, 2\)"):
        tf.get_variable("x", [None, 2])
    with pytest.raises(ValueError, match="Shape of a new variable"):
        tf.get_variable("y")
    with pytest.raises(ValueError, match="if initializer is a constant, do not specify shape"):
        tf.get_variable("z", [2], initializer=tf.constant([1.0, 2.0]))
    with pytest.raises(ValueError, match="initializer's dtype float32 and the dtype float64"):
        tf.get_variable("z", initializer=[1.0, 2.0], dtype=tf.float64)
    with pytest.raises(ValueError, match="reuse=True cannot be used without a name_or_scope"):
        with tf.variable_scope(None, default_name="d", reuse=True):
            pass
    with pytest.raises(TypeError, match="name_or_scope is required"):
        with tf.variable_scope(None):
            pass
    with pytest.raises(ValueError, match="reuse must be True, False, None or tf.AUTO_REUSE"):
        with tf.variable_scope("s", reuse="yes"):
            pass
    with pytest.raises(NotImplementedError, match="regularizer= is not supported"):
        tf.get_variable("r", [1], regularizer=lambda w: w)
    with pytest.raises(ValueError, match="initializer gave a value of shape"):
        tf.get_variable("bad", [2, 2], initializer=lambda shape, dtype: np.zeros(3))
    with pytest.raises(ValueError, match="initializer gave a node of dtype float64"):
        tf.get_variable("bad", [2], initializer=lambda shape, dtype: tf.zeros(shape, tf.float64))
    assert tf.get_variable_scope().name == ""  # every failed scope was left


def test_default_initializers_glorot_for_floats_and_zeros_for_integers():
    w = tf.get_variable("w", [60, 40])
    step = tf.get_variable("step", [], dtype=tf.int32)
    flags = tf.get_variable("flags", [3], dtype=tf.bool)
    assert w.dtype == np.float32 and step.dtype == np.int32
    with tf.Session() as sess:
        w_value, step_value, flags_value = sess.run([w, step, flags])
    limit = math.sqrt(6 / (60 + 40))
    assert np.abs(w_value).max() <= limit * (1 + F32_EPS) and np.abs(w_value).max() > 0.95 * limit
    assert step_value == 0 and flags_value.tolist() == [False, False, False]


def test_scope_initializer_and_dtype_are_inherited():
    with tf.variable_scope("model", initializer=tf.constant_initializer(0.25), dtype=tf.float64):
        with tf.variable_scope("layer"):
            w = tf.get_variable("w", [2])
            b = tf.get_variable("b", [2], initializer=tf.ones_initializer())
    assert w.dtype == np.float64
    assert tf.Session().run(w).tolist() == [0.25, 0.25] and tf.Session().run(b).tolist() == [1.0, 1.0]


def test_get_variable_from_a_value_and_a_class_initializer():
    v = tf.get_variable("v", initializer=tf.constant([[1.0, 2.0]]))
    n = tf.get_variable("n", initializer=np.arange(3))
    z = tf.get_variable("z", [2], initializer=tf.zeros_initializer)  # a class is made with its defaults
    custom = tf.get_variable("c", [2, 2], initializer=lambda shape, dtype: tf.fill(shape, 3.0))
    assert v.shape == (1, 2) and n.dtype == np.int64 and z.shape == (2,)
    values = tf.Session().run([v, n, z, custom])
    assert values[0].tolist() == [[1, 2]] and values[1].tolist() == [0, 1, 2] and values[2].tolist() == [0, 0]
    assert values[3].tolist() == [[3, 3], [3, 3]]
    assert not tf.get_variable("frozen", [1], trainable=False).trainable
    assert "frozen" not in [x.name for x in tf.trainable_variables()]


def test_scope_variable_lists():
    with tf.variable_scope("enc") as enc:
        tf.get_variable("w", [1])
        tf.get_variable("frozen", [1], trainable=False)
    with tf.variable_scope("dec"):
        tf.get_variable("w", [1])
    assert [v.name for v in enc.global_variables()] == ["enc/w", "enc/frozen"]
    assert [v.name for v in enc.trainable_variables()] == ["enc/w"]


def test_each_thread_starts_at_the_root_scope_and_shares_the_store():
    graph = tf.get_default_graph()
    seen = {}

    def worker():
        with graph.as_default():
            seen["scope"] = tf.get_variable_scope().name
            with tf.variable_scope("foo", reuse=True):
                seen["v"] = tf.get_variable("v", [1])

    with tf.variable_scope("foo"):
        v = tf.get_variable("v", [1])
        thread = threading.Thread(target=worker)
        thread.start()
        thread.join()
    assert seen == {"scope": "", "v": v}


# -- tf.layers --------------------------------------------------------------------------------------------------------

def _digits(n=90, seed=0):
    """Three classes of 16-pixel images, with one-hot labels."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, n)
    images = rng.uniform(0, 1, (3, 16))[labels] + 0.3 * rng.standard_normal((n, 16))
    return images, np.eye(3)[labels]


def test_dense_names_its_variables_as_tensorflow():
    x = tf.placeholder(tf.float32, [None, 5])
    tf.layers.dense(x, 4)
    tf.layers.dense(x, 3, use_bias=False)
    tf.layers.dense(x, 2, name="logits")
    with tf.variable_scope("head"):
        tf.layers.dense(x, 2)
    tf.layers.dense(x, 2, name="logits", reuse=True)  # shared: no new Variables
    with tf.variable_scope("head", reuse=True):
        tf.layers.dense(x, 2)
    names = [(v.name, v.shape) for v in tf.global_variables()]
    assert names == [("dense/kernel", (5, 4)), ("dense/bias", (4,)), ("dense_1/kernel", (5, 3)),
                     ("logits/kernel", (5, 2)), ("logits/bias", (2,)), ("head/dense/kernel", (5, 2)),
                     ("head/dense/bias", (2,))]
    with pytest.raises(ValueError, match="Variable logits/kernel already exists"):
        tf.layers.dense(x, 2, name="logits")


def test_dense_value_of_rank_2_and_3_inputs():
    rng = np.random.default_rng(1)
    x2 = tf.placeholder(tf.float64, [None, 4])
    x3 = tf.placeholder(tf.float64, [None, 3, 4])
    y2 = tf.layers.dense(x2, 5, activation=tf.nn.tanh, bias_initializer=tf.constant_initializer(0.5))
    y3 = tf.layers.dense(x3, 5, name="seq")
    assert y3.shape == (None, 3, 5)
    X2, X3 = rng.standard_normal((6, 4)), rng.standard_normal((2, 3, 4))
    sess = tf.Session()
    out2, out3, k2, b2, k3, b3 = sess.run([y2, y3] + tf.global_variables(), {x2: X2, x3: X3})
    assert k2.dtype == np.float64 and b2.tolist() == [0.5] * 5
    np.testing.assert_allclose(out2, np.tanh(X2 @ k2 + b2), rtol=1e-12)
    np.testing.assert_allclose(out3, np.einsum("bti,io->bto", X3, k3) + b3, rtol=1e-12)


def test_dense_errors():
    with pytest.raises(ValueError, match=r"rank 2 or more and a known last axis, not shape \(\?, \?\)"):
        tf.layers.dense(tf.placeholder(tf.float32, [None, None]), 3)
    with pytest.raises(ValueError, match="int32; a layer computes in floats"):
        tf.layers.dense(tf.placeholder(tf.int32, [None, 3]), 3)
    with pytest.raises(ValueError, match="units must be a positive int"):
        tf.layers.dense(tf.placeholder(tf.float32, [None, 3]), 0)
    with pytest.raises(NotImplementedError, match="kernel_regularizer= is not supported"):
        tf.layers.dense(tf.placeholder(tf.float32, [None, 3]), 2, kernel_regularizer=lambda w: w)


def test_flatten():
    images = tf.placeholder(tf.float32, [None, 2, 3, 4])
    chw = tf.placeholder(tf.float32, [None, 4, 2, 3])
    flat, flat_first = tf.layers.flatten(images), tf.layers.flatten(chw, data_format="channels_first")
    vector = tf.layers.flatten(tf.placeholder(tf.float32, [None]))
    assert flat.shape == (None, 24) and flat_first.shape == (None, 24) and vector.shape == (None, 1)
    X = np.arange(48, dtype=np.float32).reshape(2, 2, 3, 4)
    a, b = tf.Session().run([flat, flat_first], {images: X, chw: X.transpose(0, 3, 1, 2)})
    np.testing.assert_array_equal(a, X.reshape(2, 24))
    np.testing.assert_array_equal(b, X.reshape(2, 24))  # channels-first is flattened in channels-last order
    with pytest.raises(ValueError, match="needs known sizes but for the first axis"):
        tf.layers.flatten(tf.placeholder(tf.float32, [None, None, 3]))


def mlp_numpy_training(X, Y, params, steps, learning_rate):
    """Gradient descent on mean softmax cross-entropy of relu(X K1 + b1) K2 + b2, backpropagated by hand."""
    K1, b1, K2, b2 = [p.copy() for p in params]
    losses = []
    n = len(X)
    for _ in range(steps):
        z1 = X @ K1 + b1
        h = np.maximum(z1, 0)
        logits = h @ K2 + b2
        shifted = logits - logits.max(axis=1, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        losses.append(-np.mean(np.sum(Y * log_p, axis=1)))
        d_logits = (np.exp(log_p) - Y) / n
        d_h = d_logits @ K2.T
        d_z1 = d_h * (z1 > 0)
        K1, b1, K2, b2 = (K1 - learning_rate * X.T @ d_z1, b1 - learning_rate * d_z1.sum(axis=0),
                          K2 - learning_rate * h.T @ d_logits, b2 - learning_rate * d_logits.sum(axis=0))
    return losses, (K1, b1, K2, b2)


@pytest.mark.parametrize("dtype, backend", [(np.float64, b) for b in BACKENDS] + [(np.float32, "numpy")])
def test_a_tf1_mlp_built_with_layers_dense_trains_as_numpy(dtype, backend):
    tf.set_random_seed(2)  # the Glorot draws: training from them is then the same every run
    images, labels = _digits()
    x = tf.placeholder(dtype, [None, 16], name="x")
    y_ = tf.placeholder(dtype, [None, 3], name="y_")
    hidden = tf.layers.dense(x, 12, activation=tf.nn.relu)
    logits = tf.layers.dense(hidden, 3)
    loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits_v2(labels=y_, logits=logits))
    train_step = tf.train.GradientDescentOptimizer(0.5).minimize(loss)
    params = tf.trainable_variables()
    assert [v.name for v in params] == ["dense/kernel", "dense/bias", "dense_1/kernel", "dense_1/bias"]
    feed = {x: images.astype(dtype), y_: labels.astype(dtype)}
    steps = 10 if backend == "interpreter" else 40
    with tf.Session(backend=backend) as sess:
        sess.run(tf.global_variables_initializer())
        initial = sess.run(params)
        losses = []
        for _ in range(steps):
            losses.append(sess.run(loss, feed))
            sess.run(train_step, feed)
        final = sess.run(params)
    assert initial[0].dtype == dtype and not initial[1].any()  # Glorot kernels, zero biases
    reference_losses, reference_final = mlp_numpy_training(images.astype(dtype), labels.astype(dtype), initial,
                                                           steps, dtype(0.5))
    tolerance = 1e-10 if dtype == np.float64 else 2e-4
    np.testing.assert_allclose(losses, reference_losses, rtol=tolerance)
    for value, reference in zip(final, reference_final):
        np.testing.assert_allclose(value, reference, rtol=tolerance, atol=tolerance)
    assert losses[-1] < 0.5 * losses[0]


def test_layers_dropout_training_and_inference():
    x = tf.placeholder(tf.float64, [None, 500])
    training = tf.placeholder(tf.bool, [])
    fixed_on = tf.layers.dropout(x, rate=0.4, training=True, seed=5)
    fixed_off = tf.layers.dropout(x, rate=0.4)  # training=False by default
    switched = tf.layers.dropout(x, rate=0.4, training=training, seed=5)
    assert fixed_on.name.startswith("dropout/") and switched.name.startswith("dropout_2/")
    grads = [tf.gradients(tf.reduce_sum(y * x), x)[0] for y in (fixed_on, fixed_off, switched)]
    X = np.random.default_rng(0).uniform(1, 2, (200, 500))
    sess = tf.Session()
    for y, grad, feed in ((fixed_on, grads[0], {}), (switched, grads[2], {training: True})):
        value, g = sess.run([y, grad], {x: X, **feed})
        kept = value != 0
        assert abs(kept.mean() - 0.6) < 0.005  # each element kept with probability 1 - rate
        np.testing.assert_allclose(value[kept], X[kept] / 0.6, rtol=1e-12)  # and scaled by 1 / (1 - rate)
        # d/dx sum(dropout(x) * x) = 2 x / (1 - rate) where kept, 0 where dropped: one mask for value and gradient
        np.testing.assert_allclose(g, np.where(kept, 2 * X / 0.6, 0.0), rtol=1e-12)
    for y, grad, feed in ((fixed_off, grads[1], {}), (switched, grads[2], {training: False})):
        value, g = sess.run([y, grad], {x: X, **feed})
        np.testing.assert_array_equal(value, X)
        np.testing.assert_allclose(g, 2 * X, rtol=1e-12)


def test_layers_dropout_draws_a_fresh_mask_each_run_reproducibly():
    x = tf.ones([100, 100])
    y = tf.layers.dropout(x, rate=0.5, training=True, seed=3)
    first, second = tf.Session(), tf.Session()
    a1, a2 = first.run(y), first.run(y)
    b1 = second.run(y)
    assert not np.array_equal(a1, a2)  # a new mask every run
    np.testing.assert_array_equal(a1, b1)  # the same sequence in every new session


def test_layers_dropout_errors():
    x = tf.ones([2, 2])
    with pytest.raises(ValueError, match="training must be a bool or a bool node, not the int32 node"):
        tf.layers.dropout(x, training=tf.placeholder(tf.int32, []))
    with pytest.raises(ValueError, match=r"must be a scalar, not of shape \(2,\)"):
        tf.layers.dropout(x, training=tf.placeholder(tf.bool, [2]))
    with pytest.raises(ValueError, match="training must be a bool or a bool node, not 'yes'"):
        tf.layers.dropout(x, training="yes")


# -- convolutional layers -----------------------------------------------------------------------------------------

def conv2d_reference(x, w, stride=1, padding="VALID", dilation=1):
    """TensorFlow's conv2d (a cross-correlation) of NHWC ``x`` with HWIO ``w``, by direct loops: "SAME" pads so
    that there are ceil(size / stride) outputs, the extra zero on the bottom and right."""
    kh, kw = (w.shape[0] - 1) * dilation + 1, (w.shape[1] - 1) * dilation + 1  # the dilated kernel's extent
    n, h, wd, _ = x.shape
    if padding == "SAME":
        out_h, out_w = -(-h // stride), -(-wd // stride)
        pad_h, pad_w = max((out_h - 1) * stride + kh - h, 0), max((out_w - 1) * stride + kw - wd, 0)
        x = np.pad(x, ((0, 0), (pad_h // 2, pad_h - pad_h // 2), (pad_w // 2, pad_w - pad_w // 2), (0, 0)))
    else:
        out_h, out_w = (h - kh) // stride + 1, (wd - kw) // stride + 1
    out = np.zeros((n, out_h, out_w, w.shape[3]))
    for i in range(out_h):
        for j in range(out_w):
            for a in range(w.shape[0]):
                for b in range(w.shape[1]):
                    pixel = x[:, i * stride + a * dilation, j * stride + b * dilation, :]
                    out[:, i, j, :] += pixel @ w[a, b]
    return out


def pool_reference(x, size, stride, reduce):
    """Pooling of ``size`` windows ``stride`` apart ("VALID"), by direct loops."""
    out_h, out_w = (x.shape[1] - size) // stride + 1, (x.shape[2] - size) // stride + 1
    out = np.zeros((x.shape[0], out_h, out_w, x.shape[3]))
    for i in range(out_h):
        for j in range(out_w):
            out[:, i, j, :] = reduce(x[:, i * stride:i * stride + size, j * stride:j * stride + size, :], axis=(1, 2))
    return out


@pytest.mark.parametrize("strides, padding, dilation", [(1, "valid", 1), (2, "same", 1), ((2, 1), "valid", 1),
                                                        (1, "same", 2), (3, "same", 1)])
def test_layers_conv2d_matches_direct_convolution(strides, padding, dilation):
    rng = np.random.default_rng(3)
    images = tf.placeholder(tf.float64, [None, 9, 8, 2])
    out = tf.layers.conv2d(images, 3, (3, 2), strides=strides, padding=padding, dilation_rate=dilation,
                           activation=tf.nn.relu, bias_initializer=tf.random_normal_initializer(seed=1))
    kernel, bias = tf.trainable_variables()
    assert (kernel.name, kernel.shape, bias.name, bias.shape) == ("conv2d/kernel", (3, 2, 2, 3), "conv2d/bias", (3,))
    X = rng.standard_normal((2, 9, 8, 2))
    value, K, B = tf.Session().run([out, kernel, bias], {images: X})
    stride = strides if isinstance(strides, int) else None
    if stride is None:  # rows 2 apart, columns 1: the reference takes one stride, so run it on the rows alone
        reference = conv2d_reference(X, K, 1, padding.upper(), dilation)[:, ::2]
    else:
        reference = conv2d_reference(X, K, stride, padding.upper(), dilation)
    reference = np.maximum(reference + B, 0)
    assert out.shape[1:] == reference.shape[1:]
    np.testing.assert_allclose(value, reference, rtol=1e-12, atol=1e-12)


def test_conv2d_kernel_has_glorot_limit_of_a_kernel():
    images = tf.placeholder(tf.float32, [None, 28, 28, 3])
    tf.layers.conv2d(images, 64, 5)
    kernel = tf.trainable_variables()[0]
    limit = math.sqrt(6 / (5 * 5 * 3 + 5 * 5 * 64))  # fans: the receptive field times the channels
    k = tf.Session().run(kernel)
    assert np.abs(k).max() <= limit * (1 + F32_EPS) and np.abs(k).max() > 0.99 * limit
    assert abs(k.var() / (limit**2 / 3) - 1) < 0.05


def test_pooling_layers_match_direct_pooling():
    X = np.random.default_rng(4).standard_normal((2, 6, 6, 3))
    x = tf.placeholder(tf.float64, [None, 6, 6, 3])
    biggest, mean = tf.layers.max_pooling2d(x, 2, 2), tf.layers.average_pooling2d(x, (3, 3), 3)
    overlapping = tf.layers.max_pooling2d(x, pool_size=3, strides=1)
    same = tf.layers.max_pooling2d(x, 4, 4, padding="same")
    assert biggest.name.startswith("max_pooling2d/") and overlapping.name.startswith("max_pooling2d_1/")
    assert same.shape == (None, 2, 2, 3)
    values = tf.Session().run([biggest, mean, overlapping], {x: X})
    np.testing.assert_array_equal(values[0], pool_reference(X, 2, 2, np.max))
    np.testing.assert_allclose(values[1], pool_reference(X, 3, 3, np.mean), rtol=1e-12)
    np.testing.assert_array_equal(values[2], pool_reference(X, 3, 1, np.max))


def test_convolutional_layer_errors():
    with pytest.raises(ValueError, match=r"must be \(batch, height, width, channels\) with known channels"):
        tf.layers.conv2d(tf.placeholder(tf.float32, [None, 28, 28]), 8, 3)
    with pytest.raises(ValueError, match="padding must be 'valid' or 'same', not 'full'"):
        tf.layers.conv2d(tf.placeholder(tf.float32, [None, 8, 8, 1]), 8, 3, padding="full")
    with pytest.raises(ValueError, match="kernel_size must be an int or a pair of ints"):
        tf.layers.conv2d(tf.placeholder(tf.float32, [None, 8, 8, 1]), 8, (3, 3, 3))
    with pytest.raises(NotImplementedError, match="channels_first"):
        tf.layers.max_pooling2d(tf.placeholder(tf.float32, [None, 1, 8, 8]), 2, 2, data_format="channels_first")


def _bars(n=64, seed=5):
    """8x8 images of a bright horizontal (class 0) or vertical (class 1) bar in noise, and one-hot labels."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    images = 0.3 * rng.standard_normal((n, 8, 8, 1))
    for image, label, position in zip(images, labels, rng.integers(1, 7, n)):
        if label:
            image[:, position, 0] += 1.0
        else:
            image[position, :, 0] += 1.0
    return images, np.eye(2)[labels]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_tf1_cnn_built_with_layers_matches_numpy_and_trains(backend):
    tf.set_random_seed(2)  # the Glorot draws: training from them is then the same every run
    images, labels = _bars()
    x = tf.placeholder(tf.float64, [None, 8, 8, 1], name="x")
    y_ = tf.placeholder(tf.float64, [None, 2], name="y_")
    conv1 = tf.layers.conv2d(x, 4, 3, padding="same", activation=tf.nn.relu)
    pool1 = tf.layers.max_pooling2d(conv1, 2, 2)
    conv2 = tf.layers.conv2d(pool1, 6, (3, 3), activation=tf.nn.relu)
    pool2 = tf.layers.average_pooling2d(conv2, 2, 2)
    logits = tf.layers.dense(tf.layers.flatten(pool2), 2)
    loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits_v2(labels=y_, logits=logits))
    train_step = tf.train.AdamOptimizer(0.05).minimize(loss)
    params = tf.trainable_variables()
    assert [(v.name, v.shape) for v in params] == [
        ("conv2d/kernel", (3, 3, 1, 4)), ("conv2d/bias", (4,)), ("conv2d_1/kernel", (3, 3, 4, 6)),
        ("conv2d_1/bias", (6,)), ("dense/kernel", (6, 2)), ("dense/bias", (2,))]
    feed = {x: images, y_: labels}
    with tf.Session(backend=backend) as sess:
        sess.run(tf.global_variables_initializer())
        K1, b1, K2, b2, W, b = sess.run(params)
        first_logits, first_loss = sess.run([logits, loss], feed)
        losses = [sess.run([train_step, loss], feed)[1] for _ in range(60)]
        accuracy = np.mean(sess.run(logits, {x: images}).argmax(axis=1) == labels.argmax(axis=1))
    # the forward pass in NumPy, from the initial values
    h = pool_reference(np.maximum(conv2d_reference(images, K1, 1, "SAME") + b1, 0), 2, 2, np.max)
    h = pool_reference(np.maximum(conv2d_reference(h, K2, 1, "VALID") + b2, 0), 2, 2, np.mean)
    reference_logits = h.reshape(len(images), -1) @ W + b
    np.testing.assert_allclose(first_logits, reference_logits, rtol=1e-10, atol=1e-12)
    shifted = reference_logits - reference_logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(first_loss, -np.mean(np.sum(labels * log_p, axis=1)), rtol=1e-10)
    assert losses[-1] < 0.3 * first_loss and accuracy > 0.9


def test_cnn_gradients_match_finite_differences():
    rng = np.random.default_rng(6)
    x = tf.placeholder(tf.float64, [2, 6, 6, 1])
    hidden = tf.layers.conv2d(x, 2, 3, strides=2, padding="same", activation=tf.nn.tanh)
    out = tf.layers.dense(tf.layers.flatten(tf.layers.average_pooling2d(hidden, 3, 3, padding="same")), 1)
    loss = tf.reduce_sum(tf.square(out))
    kernel = tf.trainable_variables()[0]
    (grad,) = tf.gradients(loss, [kernel])
    moved = tf.placeholder(tf.float64, kernel.shape)
    move = tf.assign(kernel, moved)
    X = rng.standard_normal((2, 6, 6, 1))
    sess = tf.Session()
    K, symbolic = sess.run([kernel, grad], {x: X})
    numeric = np.zeros_like(K)
    for index in np.ndindex(K.shape):
        values = []
        for step in (1e-6, -1e-6):
            value = K.copy()
            value[index] += step
            sess.run(move, {moved: value})
            values.append(sess.run(loss, {x: X}))
        numeric[index] = (values[0] - values[1]) / 2e-6
    np.testing.assert_allclose(symbolic, numeric, rtol=1e-5, atol=1e-8)
