"""Gradients as graph nodes: accumulation over consumers, un-broadcasting, second derivatives."""

import numpy as np
import pytest
import sympy

import symslow as ts
from symslow.gradients import backprop_order
from symslow.testing import numeric_gradient


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def test_consumers_at_different_depths():
    """J = Σ (x - σ(x)): breadth-first order would ask for ∂J/∂σ before it has it; the result is 1 - σ'(x)."""
    ts.Graph().as_default()
    x = ts.placeholder(name="x")
    s = ts.sigmoid(x)
    J = ts.reduce_sum(ts.subtract(x, s))
    order = backprop_order([J])
    assert order.index(s) < order.index(x)  # x after every one of its consumers
    x_value = np.array([-1.0, 0.0, 2.0])
    for backend in ("numpy", "interpreter"):
        (grad,) = ts.Session(backend=backend).run(ts.gradients(J, [x]), {x: x_value})
        np.testing.assert_allclose(grad, 1 - sigmoid(x_value) * (1 - sigmoid(x_value)), rtol=1e-14)


def test_compute_gradients_gives_every_node_on_a_path():
    ts.Graph().as_default()
    x = ts.placeholder(name="x")
    s = ts.sigmoid(x)
    d = ts.subtract(x, s)
    J = ts.reduce_sum(d)
    table = ts.compute_gradients(J)
    assert set(table) == {J, d, s, x}
    x_value = np.array([0.3, -0.7])
    values = ts.Session().run(table, {x: x_value})
    np.testing.assert_allclose(values[J], 1.0)
    np.testing.assert_allclose(values[d], [1.0, 1.0])
    np.testing.assert_allclose(values[s], [-1.0, -1.0])
    np.testing.assert_allclose(values[x], 1 - sigmoid(x_value) * (1 - sigmoid(x_value)))


def test_gradients_of_unconnected_nodes_are_none():
    ts.Graph().as_default()
    x, y = ts.placeholder(), ts.placeholder()
    z = ts.square(x)
    grads = ts.gradients(z, [x, y])
    assert grads[0] is not None and grads[1] is None


def test_bias_gradient_sums_over_the_batch():
    ts.Graph().as_default()
    X = ts.placeholder()  # unknown shape: un-broadcast is decided at run time
    b = ts.Variable(np.array([0.5, -0.5]))
    J = ts.reduce_sum(ts.square(X + b))
    (gb,) = ts.gradients(J, [b])
    X_value = np.arange(6.0).reshape(3, 2)
    np.testing.assert_allclose(ts.Session().run(gb, {X: X_value}), (2 * (X_value + [0.5, -0.5])).sum(axis=0))

    ts.Graph().as_default()
    X = ts.placeholder(ts.float64, shape=(None, 2))  # known shape: un-broadcast decided when the graph is built
    b = ts.Variable(np.array([0.5, -0.5]))
    (gb,) = ts.gradients(ts.reduce_sum(ts.square(X + b)), [b])
    assert gb.shape == (2,)
    np.testing.assert_allclose(ts.Session().run(gb, {X: X_value}), (2 * (X_value + [0.5, -0.5])).sum(axis=0))


def test_shared_input_gradients_accumulate():
    ts.Graph().as_default()
    x = ts.placeholder()
    y = x * x + ts.exp(x) * x
    (g,) = ts.gradients(y, [x])
    x_value = np.array([0.5, 1.5])
    np.testing.assert_allclose(ts.Session().run(g, {x: x_value}), 2 * x_value + np.exp(x_value) * (1 + x_value))


def test_grad_ys_weights_the_outputs():
    ts.Graph().as_default()
    x = ts.placeholder()
    (g,) = ts.gradients(ts.square(x), [x], grad_ys=[ts.constant(np.array([1.0, 10.0]))])
    np.testing.assert_allclose(ts.Session().run(g, {x: [2.0, 3.0]}), [4.0, 60.0])


@pytest.mark.parametrize("backend", ["numpy", "interpreter"])
def test_gradients_of_gradients(backend):
    ts.Graph().as_default()
    x = ts.placeholder(name="x")
    y = ts.sigmoid(x) * ts.tanh(x)
    (g,) = ts.gradients(y, [x])
    (h,) = ts.gradients(g, [x])
    x_value = np.array([-1.2, 0.1, 0.9])

    def f(v):
        return float(np.sum(sigmoid(v) * np.tanh(v)))

    def first(v):
        return numeric_gradient(f, v, eps=1e-5)

    second = np.array([(first(x_value + e)[i] - first(x_value - e)[i]) / 2e-4
                       for i, e in enumerate(np.eye(3) * 1e-4)])
    session = ts.Session(backend=backend)
    np.testing.assert_allclose(session.run(g, {x: x_value}), first(x_value), rtol=1e-7)
    np.testing.assert_allclose(session.run(h, {x: x_value}), second, rtol=1e-5)


def test_hessians_of_a_quadratic_form_and_of_the_tutorial_loss():
    ts.Graph().as_default()
    A = np.array([[2.0, 1.0], [1.0, 3.0]])
    x = ts.Variable(np.array([0.3, -0.2]))
    y = ts.reduce_sum(x * ts.matmul(ts.constant(A), x))  # x^T A x, Hessian A + A^T
    (H,) = ts.hessians(y, [x])
    assert H.shape == (2, 2)
    np.testing.assert_allclose(ts.Session().run(H), A + A.T, rtol=1e-14)

    # the Hessian of the perceptron's cross-entropy in the bias, against finite differences of the gradient
    rng = np.random.default_rng(5)
    X_value = rng.standard_normal((6, 2))
    c_value = np.eye(2)[rng.integers(0, 2, 6)]
    ts.Graph().as_default()
    X = ts.placeholder(ts.float64, shape=(None, 2))
    c = ts.placeholder(ts.float64, shape=(None, 2))
    W = ts.Variable(rng.standard_normal((2, 2)))
    b = ts.Variable(rng.standard_normal(2))
    J = ts.negative(ts.reduce_sum(ts.reduce_sum(ts.multiply(c, ts.log(ts.softmax(X @ W + b))), axis=1)))
    (H,) = ts.hessians(J, [b])
    (g,) = ts.gradients(J, [b])
    session = ts.Session()
    b0 = session.run(b)
    numeric = []
    for e in np.eye(2) * 1e-5:
        session.run(ts.assign(b, b0 + e))
        plus = session.run(g, {X: X_value, c: c_value})
        session.run(ts.assign(b, b0 - e))
        minus = session.run(g, {X: X_value, c: c_value})
        numeric.append((plus - minus) / 2e-5)
    session.run(ts.assign(b, b0))
    np.testing.assert_allclose(session.run(H, {X: X_value, c: c_value}), np.array(numeric).T, rtol=1e-6, atol=1e-9)


def test_gradient_is_a_formula():
    ts.Graph().as_default()
    x = ts.placeholder(name="x")
    (g,) = ts.gradients(ts.reduce_sum(ts.sigmoid(x)), [x])
    text = str(ts.formula(g))
    assert "exp(-x)" in text  # the derivative of σ, written through σ(x) = 1/(1 + exp(-x))


def test_an_elementwise_op_may_state_its_derivative_and_is_told_when_sympy_finds_none_through_its_output():
    class softplus_stated(ts.ElementwiseOp):
        def formula(x):
            return sympy.log(1 + sympy.exp(x))

        @classmethod
        def derivatives(cls):
            return [1 - sympy.exp(-cls.output_symbol())]  # σ(x) written through y = softplus(x)

    ts.Graph().as_default()
    x = ts.placeholder(ts.float64, name="x")
    y = softplus_stated(x, name="y")
    (dx,) = ts.gradients(y, [x])
    assert y.symbol in dx.expr.free_symbols  # the stated formula, through the output, not SymPy's diff
    values = np.array([-3.0, 0.0, 2.5])
    np.testing.assert_allclose(ts.Session().run(dx, {x: values}), 1 / (1 + np.exp(-values)), rtol=1e-12)

    wiggle = ts.elementwise("wiggle", lambda x: x + sympy.sin(x), derivative_through_output=True)
    with pytest.raises(ts.LookupGradientError, match=r"Op wiggle: SymPy finds no form of d/dx = cos\(x\) \+ 1"):
        ts.gradients(wiggle(x), [x])


@pytest.mark.parametrize("backend", ["numpy", "interpreter"])
def test_the_gradient_through_a_bare_placeholder_and_float32_variables_builds_and_matches_numpy(backend):
    """A bare placeholder's dtype is unknown, and so is its transpose's: the gradient's matmul of the two does not
    take it for float64 and refuse the float32 gradient beside it."""
    ts.Graph().as_default()
    X = ts.placeholder(name="X")
    W = ts.Variable([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]], name="W")  # Python floats: float32, as in TensorFlow
    J = ts.reduce_sum(ts.sigmoid(ts.matmul(X, W)))
    (dJ_dW,) = ts.gradients(J, [W])
    assert ts.transpose(X).dtype is None and dJ_dW.dtype == np.float32

    x = np.array([[1.0, 2.0], [-3.0, 0.5], [0.0, 4.0]])
    session = ts.Session(backend=backend)
    session.run(ts.global_variables_initializer())
    w = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]], dtype=np.float32)
    s = 1 / (1 + np.exp(-(x @ w)))
    np.testing.assert_allclose(session.run(dJ_dW, {X: x}), x.T @ (s * (1 - s)), rtol=1e-6)


def _product_hessian(row):
    """∂²Π/∂x_i∂x_j = the product of the elements other than i and j (0 on the diagonal), written out by hand."""
    n = len(row)
    hessian = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            if i != j:
                hessian[i, j] = np.prod([row[k] for k in range(n) if k not in (i, j)])
    return hessian


@pytest.mark.parametrize("backend", ["numpy", "interpreter"])
def test_the_hessian_of_a_product_is_right_where_elements_are_zero(backend):
    """The gradient of reduce_prod is the product of the other elements; its own derivative must hold at zeros too
    (one zero, two, three), not only its value."""
    ts.Graph().as_default()
    x = ts.placeholder(ts.float64, shape=(4,), name="x")
    (hessian,) = ts.hessians(ts.reduce_prod(x), [x])
    session = ts.Session(backend=backend)
    for row in ([1.5, 2.0, -3.0, 0.5], [0.0, 2.0, -3.0, 0.5], [2.0, 0.0, 0.0, 4.0], [0.0, 0.0, 0.0, 7.0]):
        np.testing.assert_allclose(session.run(hessian, {x: row}), _product_hessian(row), rtol=1e-12, atol=0)

    ts.Graph().as_default()  # over one axis of a matrix: a block for each row, none across rows
    X = ts.placeholder(ts.float64, shape=(2, 3), name="X")
    (hessian,) = ts.hessians(ts.reduce_sum(ts.reduce_prod(X, axis=1)), [X])
    value = np.array([[0.0, 2.0, 5.0], [3.0, 0.0, 0.0]])
    expected = np.zeros((2, 3, 2, 3))
    for r in range(2):
        expected[r, :, r, :] = _product_hessian(value[r])
    np.testing.assert_allclose(ts.Session(backend=backend).run(hessian, {X: value}), expected, rtol=1e-12, atol=0)
