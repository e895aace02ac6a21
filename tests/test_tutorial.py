"""The tutorial's programs, written as its reader writes them (``import symslow as ts``), run unchanged."""

import numpy as np
import pytest

import symslow as ts


def test_first_example_affine_map():
    # Create a new graph
    ts.Graph().as_default()

    # Create variables
    A = ts.Variable(np.array([[1, 0], [0, -1]]))
    b = ts.Variable(np.array([1, 1]))

    # Create placeholder
    x = ts.placeholder()

    # Create hidden node y
    y = ts.matmul(A, x)

    # Create output node z
    z = ts.add(y, b)

    session = ts.Session()
    output = session.run(z, {x: [1, 2]})
    np.testing.assert_array_equal(output, [2, -1])


def test_graph_bookkeeping_as_the_tutorial_names_it():
    graph = ts.Graph()
    graph.as_default()
    A = ts.Variable(np.array([[1, 0], [0, -1]]))
    x = ts.placeholder()
    y = ts.matmul(A, x)
    assert graph.operations == [y]
    assert graph.placeholders == [x]
    assert graph.variables == [A]
    assert y.input_nodes == [A, x]
    assert A.consumers == [y] and x.consumers == [y]


def test_hand_set_perceptron():
    ts.Graph().as_default()
    x = ts.placeholder()
    w = ts.Variable(np.array([1, 1]))
    b = ts.Variable(np.array(0))
    p = ts.sigmoid(ts.add(ts.matmul(w, x), b))
    session = ts.Session()
    value = session.run(p, {x: [3, 2]})
    assert value == pytest.approx(1 / (1 + np.exp(-5.0)), rel=1e-15)


def _red_blue(rng):
    red_points = rng.standard_normal((50, 2)) - 2 * np.ones((50, 2))
    blue_points = rng.standard_normal((50, 2)) + 2 * np.ones((50, 2))
    return red_points, blue_points


def test_multiclass_perceptron_and_its_loss():
    red_points, blue_points = _red_blue(np.random.default_rng(1))
    ts.Graph().as_default()
    X = ts.placeholder()
    c = ts.placeholder()
    W = ts.Variable(np.array([[1, -1], [1, -1]]))
    b = ts.Variable(np.array([0, 0]))
    p = ts.softmax(ts.add(ts.matmul(X, W), b))
    J = ts.negative(ts.reduce_sum(ts.reduce_sum(ts.multiply(c, ts.log(p)), axis=1)))
    session = ts.Session()
    points = np.concatenate((blue_points, red_points))
    labels = [[1, 0]] * len(blue_points) + [[0, 1]] * len(red_points)
    p_value, J_value = session.run([p, J], {X: points, c: labels})

    z = points @ np.array([[1, -1], [1, -1]])
    expected_p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(p_value, expected_p, rtol=1e-12)
    assert J_value == pytest.approx(-np.sum(np.array(labels) * np.log(expected_p)), rel=1e-12)


def test_custom_op_pattern_with_registered_gradient():
    """The tutorial's way to add an op: an Operation subclass with compute(), and @RegisterGradient."""

    class cube(ts.Operation):
        def __init__(self, x):
            super().__init__([x])

        def compute(self, x_value):
            self.inputs = [x_value]  # the tutorial's compute stores its inputs
            return x_value**3

    @ts.RegisterGradient("cube")
    def _cube_gradient(op, grad):
        x = op.inputs[0]
        return [grad * 3 * ts.square(x)]

    ts.Graph().as_default()
    x = ts.placeholder()
    w = ts.Variable(np.array([0.5, -1.5]))
    y = cube(ts.multiply(w, x))
    J = ts.reduce_sum(y)
    (grad_w,) = ts.gradients(J, [w])
    x_value = np.array([2.0, 3.0])
    for backend in ("numpy", "interpreter"):
        session = ts.Session(backend=backend)
        y_value, g_value = session.run([y, grad_w], {x: x_value})
        np.testing.assert_allclose(y_value, (np.array([0.5, -1.5]) * x_value) ** 3)
        np.testing.assert_allclose(g_value, 3 * (np.array([0.5, -1.5]) * x_value) ** 2 * x_value)
    assert y.input_nodes[0].op_type == "multiply"  # compute() stored nothing on the node

    # ... and it trains: minimise (w x)^3 summed, from w = [0.5, -1.5], as NumPy would
    train = ts.train.GradientDescentOptimizer(0.01).minimize(J)
    session = ts.Session()
    w_numpy = np.array([0.5, -1.5])
    for _ in range(5):
        session.run(train, {x: x_value})
        w_numpy = w_numpy - 0.01 * 3 * (w_numpy * x_value) ** 2 * x_value
    np.testing.assert_allclose(session.run(w), w_numpy, rtol=1e-13)


def test_tutorial_gradient_function_style_sigmoid_and_matmul():
    """Gradient functions written with op.output and NumPy calls build graph nodes."""

    class my_sigmoid(ts.Operation):
        def __init__(self, a):
            super().__init__([a])

        def compute(self, a_value):
            return 1 / (1 + np.exp(-a_value))

    @ts.RegisterGradient("my_sigmoid")
    def _sigmoid_gradient(op, grad):
        sigmoid = op.output
        return grad * sigmoid * (1 - sigmoid)

    class my_matmul(ts.Operation):
        def __init__(self, a, b):
            super().__init__([a, b])

        def compute(self, a_value, b_value):
            return a_value.dot(b_value)

    @ts.RegisterGradient("my_matmul")
    def _matmul_gradient(op, grad):
        A = op.inputs[0].output
        B = op.inputs[1].output
        return [grad.dot(B.T), A.T.dot(grad)]

    class my_softmax(ts.Operation):
        def __init__(self, a):
            super().__init__([a])

        def compute(self, a_value):
            return np.exp(a_value) / np.sum(np.exp(a_value), axis=1)[:, None]

    @ts.RegisterGradient("my_softmax")
    def _softmax_gradient(op, grad):
        softmax = op.output
        return (grad - np.reshape(np.sum(grad * softmax, 1), [-1, 1])) * softmax

    rng = np.random.default_rng(3)
    X_value, W_value = rng.standard_normal((4, 3)), rng.standard_normal((3, 2))
    ts.Graph().as_default()
    X = ts.placeholder()
    W = ts.Variable(W_value)
    J = ts.reduce_sum(ts.square(my_softmax(my_sigmoid(my_matmul(X, W)))))
    (grad_W,) = ts.gradients(J, [W])
    value = ts.Session().run(grad_W, {X: X_value})

    def loss(W_):
        h = 1 / (1 + np.exp(-(X_value @ W_)))
        p = np.exp(h) / np.exp(h).sum(axis=1, keepdims=True)
        return np.sum(p**2)

    from symslow.testing import numeric_gradient

    np.testing.assert_allclose(value, numeric_gradient(loss, W_value), rtol=1e-6, atol=1e-9)


def test_cross_entropy_training_prints_decreasing_loss(capsys):
    red_points, blue_points = _red_blue(np.random.default_rng(0))
    ts.Graph().as_default()
    X = ts.placeholder()
    c = ts.placeholder()
    W = ts.Variable(np.random.default_rng(2).standard_normal((2, 2)))
    b = ts.Variable(np.random.default_rng(3).standard_normal(2))
    p = ts.softmax(ts.add(ts.matmul(X, W), b))
    J = ts.negative(ts.reduce_sum(ts.reduce_sum(ts.multiply(c, ts.log(p)), axis=1)))
    minimization_op = ts.train.GradientDescentOptimizer(learning_rate=0.01).minimize(J)
    feed_dict = {
        X: np.concatenate((blue_points, red_points)),
        c: [[1, 0]] * len(blue_points) + [[0, 1]] * len(red_points),
    }
    session = ts.Session()
    losses = []
    for step in range(100):
        J_value = session.run(J, feed_dict)
        if step % 10 == 0:
            print("Step:", step, " Loss:", J_value)
            losses.append(J_value)
        session.run(minimization_op, feed_dict)
    assert capsys.readouterr().out.count("Step:") == 10
    assert losses[-1] < losses[0] / 5
