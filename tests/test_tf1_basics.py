"""TensorFlow 1's basics as a TF1 program uses them: dtypes, default sessions, random ops and initializers.

Values are checked against NumPy computed here; dtypes against the rules TensorFlow 1 documents.
"""

import numpy as np
import pytest

import symslow as tf
from symslow.backends import available_backends

BACKENDS = available_backends() + ["interpreter"]


@pytest.fixture(autouse=True)
def _fresh_graph():
    tf.reset_default_graph()


# dtypes ---------------------------------------------------------------------------------------------------------
def test_dtype_objects_have_tensorflows_names_and_numpy_types():
    for dtype, numpy_type in [(tf.float16, np.float16), (tf.float32, np.float32), (tf.float64, np.float64),
                              (tf.int8, np.int8), (tf.int16, np.int16), (tf.int32, np.int32), (tf.int64, np.int64),
                              (tf.uint8, np.uint8), (tf.bool, np.bool_), (tf.string, np.bytes_)]:
        assert dtype.as_numpy_dtype is numpy_type
        assert dtype.name == np.dtype(numpy_type).name or dtype is tf.string
        assert tf.as_dtype(dtype.name) is dtype and tf.as_dtype(numpy_type) is dtype
        assert dtype == numpy_type and np.zeros(1, dtype=dtype).dtype.type is numpy_type
    assert tf.as_dtype("float") is tf.float32 and tf.as_dtype("double") is tf.float64
    assert tf.float32.is_floating and tf.int32.is_integer and not tf.float32.is_integer
    with pytest.raises(tf.InvalidArgumentError, match="not a dtype"):
        tf.as_dtype("floaty")


def test_python_literals_get_tensorflows_dtypes_and_numpy_arrays_keep_theirs():
    assert tf.constant(4.0).dtype == tf.float32 and tf.constant([1.0, 2.0]).dtype == tf.float32
    assert tf.constant(4).dtype == tf.int32 and tf.Variable(0.5).dtype == tf.float32
    assert tf.Variable([1, 2]).dtype == tf.int32
    assert tf.Variable(np.zeros(3)).dtype == tf.float64 and tf.constant(np.arange(3)).dtype == tf.int64
    assert tf.placeholder("float").dtype == tf.float32 and tf.placeholder("float32").dtype == tf.float32
    assert tf.constant(True).dtype == tf.bool
    x = tf.placeholder(tf.float32, shape=[None])
    assert (2 * x).dtype == tf.float32 and (x * 0.5).dtype == tf.float32 and (x + 1).dtype == tf.float32


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_float32_graph_computes_and_returns_float32(backend):
    x = tf.placeholder(tf.float32, shape=[None, 3])
    W = tf.Variable(np.full((3, 2), 0.1, dtype=np.float32))
    b = tf.Variable(tf.zeros([2]))
    y = tf.nn.softmax(tf.matmul(x, W) + b)
    loss = tf.reduce_mean(-tf.reduce_sum(y * tf.log(y), axis=1))
    train = tf.train.GradientDescentOptimizer(0.5).minimize(loss)
    feed = {x: np.arange(6, dtype=np.float64).reshape(2, 3) / 10}
    with tf.Session(backend=backend) as sess:
        sess.run(tf.global_variables_initializer())
        y_value, loss_value = sess.run([y, loss], feed)
        sess.run(train, feed)
        assert y_value.dtype == np.float32 and type(loss_value) is np.float32
        assert sess.run(W).dtype == np.float32 and sess.run(b).dtype == np.float32
    z = feed[x].astype(np.float32) @ np.full((3, 2), 0.1, dtype=np.float32)
    p = np.exp(z - z.max(1, keepdims=True))
    p = p / p.sum(1, keepdims=True)
    np.testing.assert_allclose(y_value, p, rtol=1e-6)


def test_mixing_float32_and_float64_is_refused_naming_both_nodes():
    a = tf.placeholder(tf.float32, name="a")
    b = tf.constant(np.ones(2), name="b")
    with pytest.raises(tf.InvalidArgumentError, match=r"'a' is float32 and 'b' is float64"):
        a + b
    with pytest.raises(tf.InvalidArgumentError, match="float32.*float64"):
        tf.matmul(tf.ones([2, 2]), tf.constant(np.ones((2, 2))))


def test_strings_run_and_zero_d_results_are_numpy_scalars():
    hello = tf.constant("Hello, TensorFlow!")
    with tf.Session() as sess:
        assert sess.run(hello) == b"Hello, TensorFlow!"
        total = sess.run(tf.constant(2) + tf.constant(3))
        assert total == 5 and type(total) is np.int32
        assert type(sess.run(tf.constant(2.0) * 3)) is np.float32


def test_the_tutorials_bare_placeholders_keep_float64():
    A = tf.Variable([[1, 0], [0, -1]])
    b = tf.Variable([1, 1])
    x = tf.placeholder()
    z = tf.add(tf.matmul(A, x), b)
    value = tf.Session().run(z, {x: [1, 2]})
    assert value.dtype == np.float64
    np.testing.assert_array_equal(value, [2.0, -1.0])


def test_constant_with_a_shape_and_the_fills():
    with tf.Session() as sess:
        np.testing.assert_array_equal(sess.run(tf.constant(-1.0, shape=[2, 3])), -np.ones((2, 3)))
        np.testing.assert_array_equal(sess.run(tf.constant([1, 2, 3, 4], shape=[2, 2])), [[1, 2], [3, 4]])
        assert sess.run(tf.zeros([3, 2])).dtype == np.float32 and sess.run(tf.ones([2], tf.int64)).dtype == np.int64
        np.testing.assert_array_equal(sess.run(tf.fill([2], 7.5)), [7.5, 7.5])
    with pytest.raises(tf.InvalidArgumentError, match="cannot fill shape"):
        tf.constant([1, 2, 3], shape=[2, 2])


def test_tensor_shapes_read_as_in_tensorflow():
    x = tf.placeholder(tf.float32, shape=[None, 784])
    W = tf.Variable(tf.zeros([784, 10]))
    assert x.get_shape().as_list() == [None, 784] and W.shape.as_list() == [784, 10]
    assert tf.matmul(x, W).get_shape().as_list() == [None, 10]
    assert W.get_shape()[0] == 784 and W.shape.num_elements() == 7840 and not x.shape.is_fully_defined()


# default sessions ------------------------------------------------------------------------------------------------
def test_with_session_makes_it_the_default_for_eval_and_run():
    x = tf.placeholder(tf.float32)
    v = tf.Variable(1.0)
    increment = tf.assign(v, v + x)
    assert tf.get_default_session() is None
    with tf.Session() as sess:
        assert tf.get_default_session() is sess
        tf.global_variables_initializer().run()
        increment.run(feed_dict={x: 2.0})
        assert v.eval() == 3.0 and (v * x).eval(feed_dict={x: 2.0}) == 6.0
    assert tf.get_default_session() is None


def test_eval_without_a_default_session_says_what_to_do():
    c = tf.constant(1.0, name="c")
    with pytest.raises(ValueError, match="no default session.*c.eval\\(session=sess\\)"):
        c.eval()
    sess = tf.Session()
    assert c.eval(session=sess) == 1.0
    with sess.as_default():
        assert c.eval() == 1.0
    assert tf.get_default_session() is None


def test_interactive_session_is_the_default_until_closed():
    a = tf.constant([1.0, 2.0])
    sess = tf.InteractiveSession()
    np.testing.assert_array_equal((a * 3).eval(), [3.0, 6.0])
    sess.close()
    assert tf.get_default_session() is None


# random ops and initializers ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("backend", BACKENDS)
def test_random_ops_draw_fresh_values_each_run_with_their_distribution(backend):
    normal = tf.random_normal([20000], mean=1.0, stddev=2.0)
    uniform = tf.random_uniform([20000], minval=-3, maxval=5)
    truncated = tf.truncated_normal([20000], stddev=0.5)
    with tf.Session(backend=backend) as sess:
        first, second = sess.run(normal), sess.run(normal)
        u, t = sess.run([uniform, truncated])
    assert first.dtype == np.float32 and not np.array_equal(first, second)
    assert abs(first.mean() - 1.0) < 0.1 and abs(first.std() - 2.0) < 0.1
    assert u.min() >= -3 and u.max() < 5 and abs(u.mean() - 1.0) < 0.1
    assert np.abs(t).max() <= 1.0 and 0.35 < t.std() < 0.5  # a normal cut at two sigmas has sigma 0.88 x 0.5


def test_seeds_make_programs_reproducible_from_session_to_session():
    tf.set_random_seed(1234)
    a = tf.random_normal([5])
    b = tf.random_uniform([5], seed=7)
    runs = []
    for _ in range(2):
        with tf.Session() as sess:
            runs.append([sess.run(a), sess.run(a), sess.run(b)])
    for first, second in zip(*runs):
        np.testing.assert_array_equal(first, second)
    assert not np.array_equal(runs[0][0], runs[0][1])  # the next run draws the next values
    tf.reset_default_graph()
    c = tf.random_uniform([5], seed=7)  # an op seed alone is reproducible too
    np.testing.assert_array_equal(tf.Session().run(c), tf.Session().run(c))


def test_random_shuffle_permutes_the_first_axis():
    rows = np.arange(12).reshape(6, 2)
    shuffled = tf.Session().run(tf.random_shuffle(tf.constant(rows), seed=3))
    assert sorted(map(tuple, shuffled)) == sorted(map(tuple, rows))


@pytest.mark.parametrize("backend", BACKENDS)
def test_variables_initialised_from_random_ops_are_drawn_once_and_redrawn_by_the_initializer(backend):
    W = tf.Variable(tf.random_normal([4, 3], seed=5), name="W")
    V = tf.Variable(W.initialized_value() * 2, name="V")
    with tf.Session(backend=backend) as sess:
        sess.run(tf.global_variables_initializer())
        w1, v1 = sess.run([W, V])
        np.testing.assert_array_equal(sess.run(W), w1)  # reading does not draw again
        np.testing.assert_allclose(v1, 2 * w1)
        sess.run(W.initializer)
        assert not np.array_equal(sess.run(W), w1)
        sess.run(tf.variables_initializer([V]))
        np.testing.assert_allclose(sess.run(V), 2 * sess.run(W))
    assert W.shape == (4, 3) and W.dtype == tf.float32
    assert [v.name for v in tf.global_variables()] == ["W", "V"] and tf.trainable_variables() == [W, V]


def test_random_op_arguments_are_checked():
    with pytest.raises(tf.InvalidArgumentError, match="maxval must be given"):
        tf.random_uniform([2], maxval=None, dtype=tf.int32)
    with pytest.raises(tf.InvalidArgumentError, match="stddev must be a finite number"):
        tf.random_normal([2], stddev=float("nan"))
    with pytest.raises(tf.InvalidArgumentError, match="must be known"):
        tf.random_normal([None, 2])
    with pytest.raises(tf.InvalidArgumentError, match="fully known shape"):
        tf.Variable(tf.placeholder(tf.float32, shape=[None]))


def test_a_random_op_is_one_call_in_the_generated_code():
    r = tf.random_uniform([3], seed=1)
    source = tf.Session().source(r * 2)
    assert source.count("call_compute(user_ops[0], ())") == 1
