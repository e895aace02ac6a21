"""Errors a user can act on: each names what it must, and a failed run changes no Variable."""

import numpy as np
import pytest

import symslow as ts


@pytest.fixture(params=["numpy", "interpreter"])
def backend(request):
    return request.param


def test_missing_feed_names_the_placeholder_and_the_fetch(backend):
    ts.Graph().as_default()
    x = ts.placeholder(name="images")
    y = ts.placeholder(name="labels")
    loss = ts.reduce_sum(ts.square(x - y), name="loss")
    with pytest.raises(ts.InvalidArgumentError) as info:
        ts.Session(backend=backend).run(loss, {x: [1.0]})
    message = str(info.value)
    assert "'labels'" in message and "'loss'" in message and "feed" in message


def test_incompatible_shapes_at_graph_building_time():
    ts.Graph().as_default()
    a = ts.placeholder(ts.float64, shape=(None, 3), name="a")
    W = ts.Variable(np.zeros((2, 4)), name="W")
    with pytest.raises(ts.ShapeError) as info:
        ts.matmul(a, W, name="logits")
    message = str(info.value)
    assert "matmul" in message and "'logits'" in message and "(?, 3)" in message and "(2, 4)" in message


def test_incompatible_shapes_at_run_time_name_the_op_and_node(backend):
    ts.Graph().as_default()
    a = ts.placeholder(name="a")
    b = ts.placeholder(name="b")
    total = ts.add(a, b, name="total")
    with pytest.raises(ts.ShapeError) as info:
        ts.Session(backend=backend).run(total, {a: np.zeros((2, 3)), b: np.zeros(4)})
    message = str(info.value)
    assert "add" in message and "'total'" in message and "(2, 3)" in message and "(4,)" in message


def test_fed_value_of_the_wrong_shape_names_the_placeholder():
    ts.Graph().as_default()
    x = ts.placeholder(ts.float64, shape=(None, 2), name="points")
    with pytest.raises(ts.InvalidArgumentError) as info:
        ts.Session().run(x * 2, {x: np.zeros((3, 3))})
    assert "'points'" in str(info.value) and "(3, 3)" in str(info.value) and "(?, 2)" in str(info.value)


def test_feed_key_that_is_not_a_placeholder():
    ts.Graph().as_default()
    v = ts.Variable(np.array(1.0), name="weights")
    with pytest.raises(ts.InvalidArgumentError) as info:
        ts.Session().run(v * 2, {v: 3.0})
    assert "'weights'" in str(info.value) and "placeholder" in str(info.value)
    with pytest.raises(ts.InvalidArgumentError, match="'x'"):
        ts.Session().run(v, {"x": 3.0})


@pytest.mark.parametrize("value", ["abc", None, [[1, 2], [3]], {"a": 1}])
def test_non_numeric_feed(value):
    ts.Graph().as_default()
    x = ts.placeholder(name="x")
    with pytest.raises(ts.InvalidArgumentError) as info:
        ts.Session().run(x, {x: value})
    assert "'x'" in str(info.value) and "numeric" in str(info.value)


def test_fetch_from_another_graph():
    first = ts.Graph()
    with first.as_default():
        x = ts.constant(np.array(1.0), name="stranger")
    ts.Graph().as_default()
    with pytest.raises(ts.GraphMismatchError) as info:
        ts.Session().run(x)
    assert "'stranger'" in str(info.value) and "another graph" in str(info.value)


def test_fetch_that_is_not_a_node():
    ts.Graph().as_default()
    with pytest.raises(TypeError, match="fetch must be a node"):
        ts.Session().run(42)


def test_training_an_integer_variable():
    ts.Graph().as_default()
    count = ts.Variable(np.array(3), name="count")
    with pytest.raises(ts.InvalidArgumentError) as info:
        ts.train.GradientDescentOptimizer(0.1).minimize(ts.square(count * 1.0))
    assert "'count'" in str(info.value) and "int64" in str(info.value)


def test_a_failed_run_changes_no_variable(backend):
    ts.Graph().as_default()
    x = ts.placeholder(name="x")
    a = ts.Variable(np.array([1.0, 2.0]), name="a")
    b = ts.Variable(np.array([3.0, 4.0]), name="b")
    # `a` is updated first in the graph; the update of `b` then fails on the fed value's shape
    step = ts.group(ts.assign(a, a * 10), ts.assign(b, b + ts.reduce_sum(x, axis=1)))
    session = ts.Session(backend=backend)
    with pytest.raises(ts.InvalidArgumentError):
        session.run(step, {x: np.ones((3, 2))})
    np.testing.assert_array_equal(session.run(a), [1.0, 2.0])
    np.testing.assert_array_equal(session.run(b), [3.0, 4.0])
    session.run(step, {x: np.ones((2, 2))})
    np.testing.assert_array_equal(session.run(a), [10.0, 20.0])
    np.testing.assert_array_equal(session.run(b), [5.0, 6.0])


def test_custom_op_without_gradient():
    class mystery(ts.Operation):
        def __init__(self, x):
            super().__init__([x])

        def compute(self, x):
            return x

    ts.Graph().as_default()
    x = ts.placeholder()
    with pytest.raises(ts.LookupGradientError, match="RegisterGradient\\('mystery'\\)"):
        ts.gradients(mystery(x), [x])
