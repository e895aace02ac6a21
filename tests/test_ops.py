"""The op set: the cases every backend runs (test_backends.py), static shapes, derivatives from SymPy, user ops.

Each case of ``CASES`` is an op with a NumPy reference and inputs in its domain; the conformance suite checks values
against the reference and gradients against central finite differences (float64), on the interpreter and on every
compiled backend present."""

import numpy as np
import sympy

import symslow as ts

rng = np.random.default_rng(42)
POS = lambda *shape: rng.uniform(0.5, 2.0, shape)  # noqa: E731  (inside log / sqrt / pow domains)
ANY = lambda *shape: rng.uniform(-2.0, 2.0, shape)  # noqa: E731
AWAY = lambda *shape: rng.choice([-1, 1], shape) * rng.uniform(0.3, 2.0, shape)  # noqa: E731  (away from kinks)


def _softmax(z, axis=-1):
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


# (name, symslow builder, numpy reference, input values); shapes include broadcasting against size-1 axes
CASES = [
    ("add", lambda a, b: ts.add(a, b), np.add, [ANY(3, 2), ANY(2)]),
    ("add_column", lambda a, b: a + b, np.add, [ANY(3, 1), ANY(1, 4)]),
    ("subtract", lambda a, b: ts.subtract(a, b), np.subtract, [ANY(3, 2), ANY(3, 1)]),
    ("multiply", lambda a, b: ts.multiply(a, b), np.multiply, [ANY(2, 3), ANY(3)]),
    ("divide", lambda a, b: ts.divide(a, b), np.divide, [ANY(2, 3), POS(2, 1)]),
    ("negative", lambda a: ts.negative(a), np.negative, [ANY(4)]),
    ("identity", lambda a: ts.identity(a), lambda a: a, [ANY(2, 2)]),
    ("log", lambda a: ts.log(a), np.log, [POS(3, 2)]),
    ("exp", lambda a: ts.exp(a), np.exp, [ANY(3, 2)]),
    ("sigmoid", lambda a: ts.sigmoid(a), lambda a: 1 / (1 + np.exp(-a)), [ANY(3, 2)]),
    ("tanh", lambda a: ts.tanh(a), np.tanh, [ANY(3, 2)]),
    ("relu", lambda a: ts.nn.relu(a), lambda a: np.maximum(a, 0), [AWAY(3, 2)]),
    ("square", lambda a: ts.square(a), np.square, [ANY(5)]),
    ("sqrt", lambda a: ts.sqrt(a), np.sqrt, [POS(5)]),
    ("pow", lambda a, b: ts.pow(a, b), np.power, [POS(3, 2), ANY(2)]),
    ("pow_operator", lambda a: a**3, lambda a: a**3, [ANY(3)]),
    ("maximum", lambda a, b: ts.maximum(a, b), np.maximum, [ANY(3, 2), ANY(3, 2) + 5 * AWAY(3, 2)]),
    ("matmul", lambda a, b: ts.matmul(a, b), np.matmul, [ANY(3, 4), ANY(4, 2)]),
    ("matmul_operator", lambda a, b: a @ b, np.matmul, [ANY(2, 3), ANY(3, 2)]),
    ("matmul_matrix_vector", lambda a, b: ts.matmul(a, b), np.matmul, [ANY(3, 4), ANY(4)]),
    ("matmul_vector_matrix", lambda a, b: ts.matmul(a, b), np.matmul, [ANY(4), ANY(4, 2)]),
    ("matmul_vector_vector", lambda a, b: ts.matmul(a, b), np.matmul, [ANY(4), ANY(4)]),
    ("transpose", lambda a: ts.transpose(a), np.transpose, [ANY(2, 3)]),
    ("transpose_perm", lambda a: ts.transpose(a, (1, 2, 0)), lambda a: np.transpose(a, (1, 2, 0)), [ANY(2, 3, 4)]),
    ("reshape", lambda a: ts.reshape(a, (3, -1)), lambda a: np.reshape(a, (3, -1)), [ANY(2, 6)]),
    ("reduce_sum_all", lambda a: ts.reduce_sum(a), np.sum, [ANY(3, 2)]),
    ("reduce_sum_axis", lambda a: ts.reduce_sum(a, axis=1), lambda a: np.sum(a, axis=1), [ANY(3, 2)]),
    ("reduce_sum_tuple", lambda a: ts.reduce_sum(a, axis=(0, 2)), lambda a: np.sum(a, axis=(0, 2)), [ANY(2, 3, 4)]),
    ("reduce_sum_middle_axis", lambda a: ts.reduce_sum(a, axis=1), lambda a: np.sum(a, axis=1), [ANY(2, 3, 4)]),
    ("reduce_sum_keepdims", lambda a: ts.reduce_sum(a, axis=-1, keepdims=True),
     lambda a: np.sum(a, axis=-1, keepdims=True), [ANY(3, 2)]),
    ("reduce_mean", lambda a: ts.reduce_mean(a, axis=0), lambda a: np.mean(a, axis=0), [ANY(3, 2)]),
    ("reduce_mean_all", lambda a: ts.reduce_mean(a), np.mean, [ANY(3, 2)]),
    ("softmax", lambda a: ts.softmax(a), _softmax, [ANY(3, 4)]),
    ("nn_softmax_axis0", lambda a: ts.nn.softmax(a, axis=0), lambda a: _softmax(a, axis=0), [ANY(3, 4)]),
    ("softmax_middle_axis", lambda a: ts.nn.softmax(a, axis=1), lambda a: _softmax(a, axis=1), [ANY(2, 3, 5)]),
    ("log_softmax", lambda a: ts.nn.log_softmax(a), lambda a: np.log(_softmax(a)), [ANY(3, 4)]),
    ("cross_entropy", lambda c, z: ts.nn.softmax_cross_entropy_with_logits(labels=c, logits=z),
     lambda c, z: -np.sum(c * np.log(_softmax(z)), axis=-1), [_softmax(ANY(3, 4)), ANY(3, 4)]),
]


def test_static_shapes_are_inferred():
    ts.Graph().as_default()
    X = ts.placeholder(ts.float64, shape=(None, 2))
    W = ts.Variable(np.zeros((2, 3)))
    b = ts.Variable(np.zeros(3))
    z = X @ W + b
    assert z.shape == (None, 3)
    assert ts.reduce_sum(z, axis=1).shape == (None,)
    assert ts.reduce_sum(z, axis=0, keepdims=True).shape == (1, 3)
    assert ts.reduce_sum(z).shape == ()
    assert ts.transpose(z).shape == (3, None)
    assert ts.reshape(W, (-1,)).shape == (6,)
    assert ts.softmax(z).shape == (None, 3)
    assert ts.placeholder().shape is None and (ts.placeholder() + W).shape is None


def test_elementwise_derivatives_come_from_sympy():
    x, y = sympy.symbols("x y", real=True)
    assert ts.multiply.derivatives() == [y, x]
    assert sympy.simplify(ts.divide.derivatives()[1] + x / y**2) == 0
    out = ts.sigmoid.output_symbol()
    # written through the output: y (1 - y), stable where e^{-x} overflows
    assert sympy.expand(ts.sigmoid.derivatives()[0] - out * (1 - out)) == 0
    assert sympy.expand(ts.tanh.derivatives()[0] - (1 - out**2)) == 0


def test_user_elementwise_op_trains_at_once():
    softplus = ts.elementwise("softplus", lambda x: sympy.log(1 + sympy.exp(x)))
    ts.Graph().as_default()
    w = ts.Variable(np.array([0.5, -1.0]))
    x = ts.placeholder()
    loss = ts.reduce_sum(ts.square(softplus(w * x) - 1.0))
    train = ts.train.GradientDescentOptimizer(0.1).minimize(loss)
    session = ts.Session()
    x_value = np.array([1.0, 2.0])
    w_ref = np.array([0.5, -1.0])
    for _ in range(3):
        session.run(train, {x: x_value})
        s = np.log1p(np.exp(w_ref * x_value))
        w_ref = w_ref - 0.1 * 2 * (s - 1) * (1 / (1 + np.exp(-w_ref * x_value))) * x_value
    np.testing.assert_allclose(session.run(w), w_ref, rtol=1e-12)


def test_softmax_does_not_overflow_for_large_logits():
    ts.Graph().as_default()
    z = ts.placeholder()
    p = ts.softmax(z)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        value = ts.Session().run(p, {z: [[1000.0, 0.0, -1000.0], [5000.0, 5001.0, 0.0]]})
    np.testing.assert_allclose(value, [[1, 0, 0], [1 / (1 + np.e), np.e / (1 + np.e), 0]], atol=1e-15)
