"""@RegisterGradient as the tutorial teaches it: a registration is the gradient of its op type, built-in or the
reader's own, and gradient functions written on NumPy values run on the run's arrays.

The gradient functions below are written the tutorial's way (``op.inputs``, ``op.output``, ``np.ndim``, ``np.tile``);
every result is checked against NumPy computations written out in the test.
"""

import warnings

import numpy as np
import pytest

import symslow as ts
import symslow.viz
from symslow.ops import registered
from symslow.backends import available_backends
from symslow.testing import check_gradients

BACKENDS = ["numpy", "interpreter"] + (["jax"] if "jax" in available_backends() else [])


@pytest.fixture(autouse=True)
def _own_registrations():
    """Each test registers its functions afresh; the built-in rules are back afterwards."""
    before = dict(registered._registry)
    registered._registry.clear()
    yield
    registered._registry.clear()
    registered._registry.update(before)


# the tutorial's gradient functions, written as its reader writes them -------------------------------------------
def register_tutorial_gradients():
    @ts.RegisterGradient("negative")
    def _negative_gradient(op, grad):
        return -grad

    @ts.RegisterGradient("log")
    def _log_gradient(op, grad):
        x = op.inputs[0]
        return grad / x

    @ts.RegisterGradient("sigmoid")
    def _sigmoid_gradient(op, grad):
        sigmoid = op.output
        return grad * sigmoid * (1 - sigmoid)

    @ts.RegisterGradient("multiply")
    def _multiply_gradient(op, grad):
        A = op.inputs[0]
        B = op.inputs[1]
        return [grad * B, grad * A]

    @ts.RegisterGradient("matmul")
    def _matmul_gradient(op, grad):
        A = op.inputs[0]
        B = op.inputs[1]
        return [grad.dot(B.T), A.T.dot(grad)]

    @ts.RegisterGradient("add")
    def _add_gradient(op, grad):
        a, b = op.inputs[0], op.inputs[1]
        grads = []
        for x in (a, b):
            g = grad
            while np.ndim(g) > len(x.shape):  # summed over the axes broadcasting added in front
                g = np.sum(g, axis=0)
            for axis, size in enumerate(x.shape):
                if size == 1:
                    g = np.sum(g, axis=axis, keepdims=True)
            grads.append(g)
        return grads

    @ts.RegisterGradient("reduce_sum")
    def _reduce_sum_gradient(op, grad):
        A = op.inputs[0]
        output_shape = np.array(A.shape)
        output_shape[op.axis] = 1
        tile_scaling = A.shape // output_shape
        grad = np.reshape(grad, output_shape)
        return np.tile(grad, tile_scaling)

    @ts.RegisterGradient("softmax")
    def _softmax_gradient(op, grad):
        softmax = op.output
        return (grad - np.reshape(np.sum(grad * softmax, 1), [-1, 1])) * softmax


def tutorial_op_classes():
    """The tutorial's ops as its reader defines them: compute() on values, nothing else."""

    class add(ts.Operation):
        def __init__(self, x, y):
            super().__init__([x, y])

        def compute(self, x_value, y_value):
            return x_value + y_value

    class matmul(ts.Operation):
        def __init__(self, a, b):
            super().__init__([a, b])

        def compute(self, a_value, b_value):
            return a_value.dot(b_value)

    class sigmoid(ts.Operation):
        def __init__(self, a):
            super().__init__([a])

        def compute(self, a_value):
            return 1 / (1 + np.exp(-a_value))

    class softmax(ts.Operation):
        def __init__(self, a):
            super().__init__([a])

        def compute(self, a_value):
            return np.exp(a_value) / np.sum(np.exp(a_value), axis=1)[:, None]

    class log(ts.Operation):
        def __init__(self, x):
            super().__init__([x])

        def compute(self, x_value):
            return np.log(x_value)

    class multiply(ts.Operation):
        def __init__(self, x, y):
            super().__init__([x, y])

        def compute(self, x_value, y_value):
            return x_value * y_value

    class reduce_sum(ts.Operation):
        def __init__(self, A, axis=None):
            super().__init__([A])
            self.axis = axis

        def compute(self, A_value):
            return np.sum(A_value, self.axis)

    class negative(ts.Operation):
        def __init__(self, x):
            super().__init__([x])

        def compute(self, x_value):
            return -x_value

    return add, matmul, sigmoid, softmax, log, multiply, reduce_sum, negative


def two_clouds():
    rng = np.random.default_rng(0)
    red = rng.standard_normal((50, 2)) - 2
    blue = rng.standard_normal((50, 2)) + 2
    X = np.concatenate((blue, red))
    c = np.array([[1.0, 0.0]] * 50 + [[0.0, 1.0]] * 50)
    return X, c


def numpy_perceptron_training(X, c, W, b, steps, rate):
    """The tutorial's backpropagation on values, as its library runs it: every gradient function in turn."""
    W, b, losses = W.copy(), b.copy(), []
    for _ in range(steps):
        z = X @ W + b
        p = np.exp(z) / np.sum(np.exp(z), axis=1)[:, None]
        losses.append(-np.sum(np.sum(c * np.log(p), axis=1)))
        g_inner = np.tile(np.reshape(-1.0, (1,)), (len(X),))  # reduce_sum of everything, then negative
        g_prod = np.tile(np.reshape(g_inner, (len(X), 1)), (1, 2))  # reduce_sum over axis 1
        g_p = g_prod * c / p  # multiply, then log
        g_z = (g_p - np.reshape(np.sum(g_p * p, 1), [-1, 1])) * p  # softmax
        W = W - rate * X.T.dot(g_z)
        b = b - rate * np.sum(g_z, axis=0)
    return W, b, losses


def build_perceptron(ops, X_value, c_value, W0, b0):
    add, matmul, softmax, log, multiply, reduce_sum, negative = ops
    ts.Graph().as_default()
    X, c = ts.placeholder(), ts.placeholder()
    W, b = ts.Variable(W0), ts.Variable(b0)
    p = softmax(add(matmul(X, W), b))
    J = negative(reduce_sum(reduce_sum(multiply(c, log(p)), axis=1)))
    return J, W, b, {X: X_value, c: c_value}


BUILT_IN = (ts.add, ts.matmul, ts.softmax, ts.log, ts.multiply, ts.reduce_sum, ts.negative)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("classes", ["built-in ops", "the tutorial's op classes"])
def test_the_tutorials_perceptron_trains_to_its_librarys_numbers(backend, classes):
    register_tutorial_gradients()
    if classes == "built-in ops":
        ops = BUILT_IN
    else:
        add, matmul, sigmoid, softmax, log, multiply, reduce_sum, negative = tutorial_op_classes()
        ops = (add, matmul, softmax, log, multiply, reduce_sum, negative)
    X_value, c_value = two_clouds()
    rng = np.random.default_rng(1)
    W0, b0 = rng.standard_normal((2, 2)), rng.standard_normal(2)
    J, W, b, feed = build_perceptron(ops, X_value, c_value, W0, b0)
    train = ts.train.GradientDescentOptimizer(learning_rate=0.01).minimize(J)
    session = ts.Session(backend=backend)
    losses = []
    for _ in range(60):
        losses.append(session.run(J, feed))
        session.run(train, feed)
    W_ref, b_ref, losses_ref = numpy_perceptron_training(X_value, c_value, W0, b0, 60, 0.01)
    np.testing.assert_allclose(losses, losses_ref, rtol=1e-10)
    np.testing.assert_allclose(session.run(W), W_ref, rtol=1e-10)
    np.testing.assert_allclose(session.run(b), b_ref, rtol=1e-10)
    assert losses[-1] < 0.05 * losses[0]


def test_the_tutorials_multi_layer_perceptron_trains_with_its_gradients():
    """The tutorial's MLP (sigmoid hidden layer) with every gradient the reader's: hand-written backprop agrees."""
    register_tutorial_gradients()
    rng = np.random.default_rng(2)
    X_value = rng.standard_normal((40, 2))
    labels = (X_value[:, 0] * X_value[:, 1] > 0).astype(int)  # the quadrants: not linearly separable
    c_value = np.eye(2)[labels]
    params = [rng.standard_normal(s) for s in ((2, 4), (4,), (4, 2), (2,))]
    ts.Graph().as_default()
    X, c = ts.placeholder(), ts.placeholder()
    W_h, b_h, W_o, b_o = (ts.Variable(v) for v in params)
    hidden = ts.sigmoid(ts.add(ts.matmul(X, W_h), b_h))
    p = ts.softmax(ts.add(ts.matmul(hidden, W_o), b_o))
    J = ts.negative(ts.reduce_sum(ts.reduce_sum(ts.multiply(c, ts.log(p)), axis=1)))
    train = ts.train.GradientDescentOptimizer(learning_rate=0.03).minimize(J)
    session = ts.Session()
    feed = {X: X_value, c: c_value}
    for _ in range(30):
        session.run(train, feed)

    Wh, bh, Wo, bo = (v.copy() for v in params)
    for _ in range(30):
        h = 1 / (1 + np.exp(-(X_value @ Wh + bh)))
        z = h @ Wo + bo
        q = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
        g_z = q - c_value  # the closed form of the cross-entropy's gradient through the softmax
        g_h = g_z @ Wo.T * h * (1 - h)
        Wo, bo = Wo - 0.03 * h.T @ g_z, bo - 0.03 * g_z.sum(axis=0)
        Wh, bh = Wh - 0.03 * X_value.T @ g_h, bh - 0.03 * g_h.sum(axis=0)
    for variable, expected in zip((W_h, b_h, W_o, b_o), (Wh, bh, Wo, bo)):
        np.testing.assert_allclose(session.run(variable), expected, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("op_type, build, true_gradient", [
    ("matmul", lambda x: ts.matmul(x, ts.constant(np.array([[1.0], [2.0]]))), lambda x: np.array([[1.0, 2.0]] * 3)),
    ("softmax", lambda x: ts.softmax(x) * np.array([1.0, 3.0]), None),
    ("reduce_sum", lambda x: 2.0 * ts.reduce_sum(x, axis=1), lambda x: np.full((3, 2), 2.0)),
    ("log", lambda x: ts.log(x), lambda x: 1 / x),
])
def test_a_registration_replaces_the_built_in_gradient(op_type, build, true_gradient):
    """Registered: the function's gradient (here 3x the true one); unregistered: symslow's own again."""
    x_value = np.array([[0.5, 1.5], [2.0, 0.25], [1.0, 1.0]])
    ts.Graph().as_default()
    x = ts.placeholder(name="x")
    y = build(x)
    (builtin,) = ts.gradients(y, [x])
    expected = ts.Session().run(builtin, {x: x_value})
    if true_gradient is not None:
        np.testing.assert_allclose(expected, true_gradient(x_value))

    @ts.RegisterGradient(op_type)
    def _three_times(op, grad):
        shares = [op.gradient(grad, i) for i in range(len(op.inputs))]
        return [None if s is None else 3.0 * s for s in shares]

    (replaced,) = ts.gradients(y, [x])
    np.testing.assert_allclose(ts.Session().run(replaced, {x: x_value}), 3 * expected)
    ts.unregister_gradient(op_type)
    (again,) = ts.gradients(y, [x])
    np.testing.assert_allclose(ts.Session().run(again, {x: x_value}), expected)


def test_log_of_softmax_stays_two_ops_when_either_has_a_registered_gradient():
    ts.Graph().as_default()
    z = ts.placeholder(name="z")
    assert ts.log(ts.softmax(z)).op_type == "log_softmax"

    @ts.RegisterGradient("log")
    def _log_gradient(op, grad):
        return grad / op.inputs[0]

    assert ts.log(ts.softmax(z)).op_type == "log"


def test_registering_again_warns_and_names_both_functions():
    def first(op, grad):
        return grad

    def second(op, grad):
        return 2 * grad

    ts.RegisterGradient("identity")(first)
    with pytest.warns(UserWarning, match=r"RegisterGradient\('identity'\): .*second replaces .*first"):
        ts.RegisterGradient("identity")(second)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ts.RegisterGradient("identity")(second)  # the same function again: nothing replaced
    with pytest.raises(KeyError, match="never_registered"):
        ts.unregister_gradient("never_registered")
    with pytest.raises(ValueError, match="on is one of"):
        ts.RegisterGradient("identity", on="arrays")


# gradient functions on values ---------------------------------------------------------------------------------
def test_a_function_on_values_runs_on_the_runs_arrays_inside_the_compiled_program():
    seen = []

    @ts.RegisterGradient("add")
    def _add_gradient(op, grad):
        a, b = op.inputs
        seen.append((type(grad), np.shape(grad), np.shape(a), np.shape(b.output), np.shape(op.output)))
        return [grad, np.sum(grad, axis=0) if np.ndim(grad) > np.ndim(b) else grad]

    ts.Graph().as_default()
    x = ts.placeholder(name="x")  # no shape: only the run knows it
    b = ts.Variable(np.array([1.0, -2.0, 0.5]), name="b")
    J = ts.reduce_sum(ts.square(x + b), name="J")
    gx, gb = ts.gradients(J, [x, b])
    assert [type(g).__name__ for g in (gx, gb)] == ["value_gradient", "value_gradient"]
    assert "numpy.shape" in gb.reason and "TypeError" in gb.reason
    x_value = np.arange(6.0).reshape(2, 3)
    session = ts.Session()
    assert "call_compute(user_ops[" in session.source([gx, gb], {x: x_value})
    gx_value, gb_value = session.run([gx, gb], {x: x_value})
    np.testing.assert_allclose(gx_value, 2 * (x_value + [1.0, -2.0, 0.5]))
    np.testing.assert_allclose(gb_value, (2 * (x_value + [1.0, -2.0, 0.5])).sum(axis=0))
    assert seen[-1][0] is np.ndarray and seen[-1][1:] == ((2, 3), (2, 3), (3,), (2, 3))
    for backend in BACKENDS:
        values = ts.Session(backend=backend).run([gx, gb], {x: x_value})
        np.testing.assert_allclose(values[0], gx_value)
        np.testing.assert_allclose(values[1], gb_value)


def test_the_failed_attempt_on_nodes_leaves_nothing_in_the_graph():
    @ts.RegisterGradient("square")
    def _square_gradient(op, grad):
        x = op.inputs[0]
        partial = 2 * x  # builds a node before the line that needs values
        return [grad * partial * np.ones(np.shape(x.output))]

    graph = ts.Graph()
    with graph.as_default():
        x = ts.placeholder(name="x")
        J = ts.reduce_sum(ts.square(x))
        before = {n.name for n in graph.nodes}
        (gx,) = ts.gradients(J, [x])
    made = {n.name for n in graph.nodes} - before
    assert type(gx).__name__ == "value_gradient"
    assert not any(n.op_type == "multiply" for n in graph.nodes if n.name in made)
    assert all(id(c) in set(map(id, graph.nodes)) for n in graph.nodes for c in n.consumers)
    np.testing.assert_allclose(ts.Session(graph=graph).run(gx, {x: [1.0, -3.0]}), [2.0, -6.0])


def test_on_says_which_way_a_function_runs():
    def _sigmoid_gradient(op, grad):
        s = op.output
        return grad * s * (1 - s)

    ts.RegisterGradient("sigmoid", on="values")(_sigmoid_gradient)
    ts.Graph().as_default()
    x = ts.placeholder(name="x")
    (g,) = ts.gradients(ts.sigmoid(x), [x])
    assert type(g).__name__ == "value_gradient" and g.reason == "registered with on='values'"
    np.testing.assert_allclose(ts.Session().run(g, {x: [0.0, 2.0]}), [0.25, np.exp(-2) / (1 + np.exp(-2)) ** 2])

    @ts.RegisterGradient("tanh", on="nodes")
    def _needs_values(op, grad):
        return grad * np.tile(op.output, 1)

    with pytest.raises(TypeError, match="numpy.tile"):
        ts.gradients(ts.tanh(x), [x])


def test_a_user_op_with_compute_alone_gets_its_shapes_from_the_run():
    class row_max(ts.Operation):
        """max over each row: only compute(), as the tutorial's reader writes ops"""

        def __init__(self, a):
            super().__init__([a])

        def compute(self, a_value):
            return a_value.max(axis=1, keepdims=True)

    @ts.RegisterGradient("row_max")
    def _row_max_gradient(op, grad):
        A = op.inputs[0]
        rows, cols = A.shape  # the run's shape
        return np.tile(grad, (1, cols)) * (A == op.output)

    ts.Graph().as_default()
    x = ts.placeholder(name="x")
    y = row_max(x)
    assert y.shape is None
    x_value = np.array([[1.0, 5.0, 2.0], [7.0, -1.0, 0.0]])
    check_gradients(3.0 * y, [x], {x: x_value})
    (g,) = ts.gradients(ts.reduce_sum(3.0 * y), [x])
    np.testing.assert_allclose(ts.Session().run(g, {x: x_value}), [[0, 3, 0], [3, 0, 0]])


def test_a_wrong_shape_from_a_function_on_values_is_an_error_and_changes_nothing():
    @ts.RegisterGradient("add")
    def _forgets_to_sum(op, grad):
        np.ndim(grad)  # on values only
        return [grad, grad]

    ts.Graph().as_default()
    x = ts.placeholder(name="x")
    b = ts.Variable(np.array([1.0, 2.0]), name="b")
    J = ts.reduce_sum(x + b)
    train = ts.train.GradientDescentOptimizer(0.1).minimize(J)
    session = ts.Session()
    with pytest.raises(ts.SymslowError, match=r"_forgets_to_sum.*input 1 \('b', shape \(2,\)\).*shape \(3, 2\)"):
        session.run(train, {x: np.ones((3, 2))})
    np.testing.assert_array_equal(session.run(b), [1.0, 2.0])


def test_a_wrong_shape_from_a_function_on_nodes_is_an_error_when_the_gradient_is_built():
    @ts.RegisterGradient("multiply")
    def _transposed(op, grad):
        return [ts.transpose(grad * op.inputs[1]), grad * op.inputs[0]]

    ts.Graph().as_default()
    a = ts.Variable(np.ones((2, 3)), name="a")
    with pytest.raises(ts.ShapeError, match=r"_transposed.*input 0 \('a', shape \(2, 3\)\).*shape \(3, 2\)"):
        ts.gradients(ts.reduce_sum(a * a), [a])


def test_nodes_on_values_print_draw_and_refuse_a_second_derivative():
    @ts.RegisterGradient("exp")
    def _exp_gradient(op, grad):
        assert isinstance(op.output, np.ndarray)  # values only
        return grad * op.output

    ts.Graph().as_default()
    x = ts.placeholder(name="x")
    J = ts.reduce_sum(ts.exp(x), name="J")
    (g,) = ts.gradients(J, [x])
    text = ts.latex(g)
    assert r"\texttt{\_exp\_gradient}" in text and "your function, on values" in text
    assert str(g.expr).startswith("_exp_gradient(")
    pretty = ts.pretty(g).splitlines()[-1]  # the function's name as written (not "_exp" with subscript "gradient")
    assert pretty.startswith("_exp_gradient") and pretty.rstrip().endswith("[0]")
    source = symslow.viz.draw_gradients(J, [x]).source
    assert "_exp_gradient" in source
    with pytest.raises(ts.LookupGradientError, match="computed on values by .*_exp_gradient"):
        ts.gradients(ts.reduce_sum(g), [x])


# TensorFlow 1's way: a gradient under a new name, chosen per op with gradient_override_map ------------------------
def test_gradient_override_map_gives_the_ops_made_inside_the_named_gradient():
    @ts.RegisterGradient("StraightThroughSign")
    def _straight_through(op, grad):
        return [grad * ts.cast(ts.abs(op.inputs[0]) <= 1.0, ts.float64)]  # the gradient of clip(x, -1, 1)

    g = ts.Graph()
    with g.as_default():
        x = ts.placeholder(ts.float64, shape=[4], name="x")
        w = ts.Variable(np.array([0.5, -2.0, 0.25, 3.0]), name="w")
        with g.gradient_override_map({"Sign": "StraightThroughSign"}):
            quantized = ts.sign(w * x)
        plain = ts.sign(w * x)
        loss = ts.reduce_sum(quantized * x) + ts.reduce_sum(plain)
        (gw,) = ts.gradients(loss, [w])
    x_value = np.array([1.0, 0.25, -2.0, 0.1])
    z = np.array([0.5, -2.0, 0.25, 3.0]) * x_value
    expected = x_value * (np.abs(z) <= 1.0) * x_value  # the sign outside the map has its own gradient, zero
    np.testing.assert_allclose(ts.Session(graph=g).run(gw, {x: x_value}), expected)


def test_gradient_override_map_takes_tensorflows_op_type_names_and_the_innermost_map():
    @ts.RegisterGradient("Twice")
    def _twice(op, grad):
        return [2.0 * grad * op.inputs[1], 2.0 * ts.transpose(op.inputs[0]) @ grad]

    @ts.RegisterGradient("Thrice")
    def _thrice(op, grad):
        return [3.0 * grad * op.inputs[1], 3.0 * ts.transpose(op.inputs[0]) @ grad]

    g = ts.Graph()
    with g.as_default():
        a = ts.Variable(np.array([[1.0, 2.0]]), name="a")
        b = ts.Variable(np.array([[3.0], [4.0]]), name="b")
        with g.gradient_override_map({"MatMul": "Twice"}):
            with g.gradient_override_map({"MatMul": "Thrice"}):
                inner = ts.matmul(a, b)
            outer = ts.matmul(a, b)
        (gb_inner,) = ts.gradients(inner, [b])
        (gb_outer,) = ts.gradients(outer, [b])
    session = ts.Session(graph=g)
    np.testing.assert_allclose(session.run(gb_inner), 3.0 * np.array([[1.0], [2.0]]))
    np.testing.assert_allclose(session.run(gb_outer), 2.0 * np.array([[1.0], [2.0]]))


def test_gradient_override_map_to_a_name_never_registered_is_an_error_naming_both():
    g = ts.Graph()
    with g.as_default():
        x = ts.placeholder(ts.float64, name="x")
        with g.gradient_override_map({"Tanh": "NoSuchGradient"}):
            y = ts.tanh(x, name="y")
        with pytest.raises(ts.LookupGradientError, match=r"'y' \(tanh\) takes its gradient from 'NoSuchGradient'"):
            ts.gradients(y, [x])
        with pytest.raises(TypeError, match="maps op type names"):
            with g.gradient_override_map({"Tanh": 3}):
                pass


# the reader's ops and checks ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("backend", BACKENDS)
def test_a_compute_op_of_integers_keeps_the_float_its_compute_returns(backend):
    class sigmoid(ts.Operation):
        def __init__(self, a):
            super().__init__([a])

        def compute(self, a_value):
            return 1 / (1 + np.exp(-a_value))

    ts.Graph().as_default()
    w = ts.Variable(5)  # an int32 Variable, as the tutorial's Variable(0) biases are
    y = sigmoid(w)
    assert y.dtype is None  # only the run knows what compute() returns
    np.testing.assert_allclose(ts.Session(backend=backend).run(y), 1 / (1 + np.exp(-5.0)))
    np.testing.assert_allclose(ts.Session(backend=backend).run(sigmoid(ts.Variable([1, 2]))),
                               1 / (1 + np.exp(-np.array([1.0, 2.0]))))


def test_check_gradients_checks_a_registered_function_against_symslows_own_rule():
    @ts.RegisterGradient("sigmoid")
    def _twice_too_big(op, grad):
        s = op.output
        return 2 * grad * s * (1 - s)

    ts.Graph().as_default()
    z = ts.placeholder(ts.float64, name="z")
    with pytest.raises(AssertionError, match="symslow's gradient of the reference"):
        check_gradients(ts.sigmoid(z), [z], {z: [0.5, -1.0]}, reference=ts.sigmoid(z))
    ts.unregister_gradient("sigmoid")
    check_gradients(ts.sigmoid(z), [z], {z: [0.5, -1.0]}, reference=1 / (1 + ts.exp(-z)))


def test_a_compute_op_named_with_underscores_typesets_its_name_whole():
    class reduce_sum(ts.Operation):
        def __init__(self, a):
            super().__init__([a])

        def compute(self, a_value):
            return np.sum(a_value)

    ts.Graph().as_default()
    x = ts.placeholder(name="x")
    assert ts.latex(reduce_sum(x)) == r"\operatorname{reduce\_sum}\left(x\right)"
    assert ts.pretty(reduce_sum(x)) == "reduce_sum(x)"
