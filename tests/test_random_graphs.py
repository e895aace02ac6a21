"""Random graphs over the whole op set, checked against independent references.

A hypothesis strategy draws a *recipe* (plain data: input shapes and values, then a list of op steps), evaluating
each step with hand-written NumPy as it goes so that every op is applied only inside its domain (log and sqrt of
values above 0.1, no divisor near 0, relu and maximum away from their kinks, magnitudes below 100). The recipe is
then built into a symslow graph whose inputs are Variables or placeholders with declared shapes exact, partly unknown
or of unknown rank, and these must hold:

* every node's compiled value equals the hand-written NumPy value and the interpreter's value;
* gradients (vector-Jacobian products with fixed weights) equal Richardson-extrapolated central finite differences,
  relative error below 1e-6 in float64;
* for the scalar loss ``sum(y * R)``, Hessian-vector products (gradients of the gradient) equal finite differences
  of the compiled gradient.

``make test`` runs a bounded number of examples; ``make fuzz`` (``SYMSLOW_FUZZ=1``) runs many more. Failing examples,
shrunk, are kept below as ``@example`` recipes.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import symslow as ts
from symslow.backends import available_backends
from symslow.gradients import topological_order
from symslow.ops.linalg import matmul_vjp

FUZZ = bool(os.environ.get("SYMSLOW_FUZZ"))
# make test: a fixed set of examples (derandomized, so a run is reproducible); make fuzz: new random ones each time
BOUNDED = settings(max_examples=20, deadline=None, derandomize=True) if not FUZZ else settings()

STEP = 1e-4  # finite-difference step (before Richardson extrapolation)
TOLERANCE = 1e-6  # relative error of gradients against finite differences
LIMIT = 100.0  # largest magnitude a node may reach


BACKENDS = available_backends()


# the op table: (arity, NumPy reference, symslow builder, domain check) -----------------------------------------------
def _softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _log_softmax(x, axis):
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def _labels(shape):
    """Fixed probability labels for a cross-entropy: positive, each row along the last axis sums to 1."""
    raw = 1.0 + np.arange(int(np.prod(shape))).reshape(shape) % 3
    return raw / raw.sum(axis=-1, keepdims=True)


def _positive(*xs):
    return bool(np.all(xs[0] > 0.1))


def _away_from_zero(*xs):
    return bool(np.all(np.abs(xs[-1]) > 0.2))


UNARY = {
    "negative": (lambda x: -x, lambda x: ts.negative(x), None),
    "identity": (lambda x: x, lambda x: ts.identity(x), None),
    "log": (np.log, ts.log, _positive),
    "exp": (np.exp, ts.exp, lambda x: bool(np.all(x < 4))),
    "sigmoid": (lambda x: 1 / (1 + np.exp(-x)), ts.sigmoid, None),
    "tanh": (np.tanh, ts.tanh, None),
    "relu": (lambda x: np.maximum(x, 0), ts.relu, lambda x: bool(np.all(np.abs(x) > 0.05))),
    "square": (np.square, ts.square, None),
    "sqrt": (np.sqrt, ts.sqrt, _positive),
    "ones_like": (np.ones_like, ts.ones_like, None),
    "zeros_like": (np.zeros_like, ts.zeros_like, None),
    "times_2.5": (lambda x: x * 2.5, lambda x: x * 2.5, None),
    "one_minus": (lambda x: 1 - x, lambda x: 1 - x, None),
    "three_over": (lambda x: 3 / x, lambda x: 3 / x, _away_from_zero),
    "pow_3": (lambda x: x**3, lambda x: x**3, None),
    "pow_half": (np.sqrt, lambda x: x**0.5, _positive),
    "pow_minus_1": (lambda x: 1 / x, lambda x: x**-1, _away_from_zero),
    "gram": (lambda x: x @ x.T, lambda x: ts.matmul(x, ts.transpose(x)), lambda x: x.ndim in (1, 2)),
    "gram_T": (lambda x: x.T @ x, lambda x: ts.matmul(ts.transpose(x), x), lambda x: x.ndim in (1, 2)),
}

BINARY = {
    "add": (np.add, ts.add, None),
    "subtract": (np.subtract, ts.subtract, None),
    "multiply": (np.multiply, ts.multiply, None),
    "divide": (np.divide, ts.divide, _away_from_zero),
    "pow": (np.power, ts.pow, lambda x, y: bool(np.all(x > 0.1) and np.all(np.abs(y) < 3))),
    "maximum": (np.maximum, ts.maximum, lambda x, y: bool(np.all(np.abs(x - y) > 0.05))),
    "operator_mul": (np.multiply, lambda x, y: x * y, None),
    "operator_sub": (np.subtract, lambda x, y: x - y, None),
}

# structural ops take one parameter each, drawn from the listed choices
AXES = [None, 0, -1, (0, 1)]
STRUCTURAL = {
    "reduce_sum": ([(a, k) for a in AXES for k in (False, True)],
                   lambda x, p: np.sum(x, axis=p[0], keepdims=p[1]),
                   lambda x, p: ts.reduce_sum(x, axis=p[0], keepdims=p[1])),
    "reduce_mean": ([(a, k) for a in AXES for k in (False, True)],
                    lambda x, p: np.mean(x, axis=p[0], keepdims=p[1]),
                    lambda x, p: ts.reduce_mean(x, axis=p[0], keepdims=p[1])),
    "softmax": ([-1, 0], _softmax, lambda x, p: ts.softmax(x, axis=p)),
    "log_softmax": ([-1, 0], _log_softmax, lambda x, p: ts.log_softmax(x, axis=p)),
    "log_of_softmax": ([-1, 0], _log_softmax, lambda x, p: ts.log(ts.softmax(x, axis=p))),
    "cross_entropy": ([-1], lambda x, p: -np.sum(_labels(x.shape) * _log_softmax(x, -1), axis=-1),
                      None),  # built in build(): its labels take the shape of the actual logits
    "transpose": ([None, (1, 0)], lambda x, p: np.transpose(x, p), lambda x, p: ts.transpose(x, p)),
    "reshape": ([(-1,), (-1, 1), (1, -1)], lambda x, p: np.reshape(x, p), lambda x, p: ts.reshape(x, p)),
}

MATMUL = ["ab", "abT", "aTb"]  # a @ b, a @ b.T, a.T @ b

#: the public op each recipe step exercises, where the step's name is not the op's own
ALIASES = {"times_2.5": "multiply", "one_minus": "subtract", "three_over": "divide", "pow_3": "pow",
           "pow_half": "pow", "pow_minus_1": "pow", "operator_mul": "multiply", "operator_sub": "subtract",
           "log_of_softmax": "log", "cross_entropy": "softmax_cross_entropy_with_logits", "gram": "matmul",
           "gram_T": "matmul"}
#: public names of symslow.ops that are not differentiable computations (they change Variables, or make ops)
NOT_DRAWN = {"ElementwiseOp", "Operation", "RegisterGradient", "elementwise", "assign", "assign_add", "assign_sub",
             "group"}


def _structural_ok(name, x, p):
    rank = x.ndim
    if name in ("reduce_sum", "reduce_mean"):
        axis = p[0]
        axes = () if axis is None else (axis,) if isinstance(axis, int) else axis
        return all(-rank <= a < rank for a in axes)
    if name in ("softmax", "log_softmax", "log_of_softmax", "cross_entropy"):
        return rank >= 1 and (p == -1 or rank >= 1)
    if name == "transpose":
        return p is None or rank == 2
    return True


def _matmul_operands(a, b, variant):
    if a.ndim not in (1, 2) or b.ndim not in (1, 2):
        return None
    left = a.T if variant == "aTb" else a
    right = b.T if variant == "abT" else b
    if left.shape[-1] != right.shape[0]:
        return None
    return left, right


def apply_step(step, values):
    """The NumPy value of one recipe step, or None when the step is outside its op's domain."""
    name, args, param = step
    xs = [values[i] for i in args]
    with np.errstate(all="ignore"):
        if name in UNARY:
            reference, _, ok = UNARY[name]
            if ok is not None and not ok(*xs):
                return None
            value = reference(xs[0])
        elif name in BINARY:
            reference, _, ok = BINARY[name]
            try:
                np.broadcast_shapes(xs[0].shape, xs[1].shape)
            except ValueError:
                return None
            if ok is not None and not ok(*np.broadcast_arrays(*xs)):
                return None
            value = reference(xs[0], xs[1])
        elif name == "matmul":
            operands = _matmul_operands(xs[0], xs[1], param)
            if operands is None:
                return None
            value = operands[0] @ operands[1]
        else:
            _, reference, _ = STRUCTURAL[name]
            if not _structural_ok(name, xs[0], param):
                return None
            value = reference(xs[0], param)
    value = np.asarray(value, dtype=np.float64)
    if not np.all(np.isfinite(value)) or np.any(np.abs(value) > LIMIT):
        return None
    return value


@st.composite
def recipes(draw, max_steps: int = 6):
    """A random recipe: inputs ``[(declared shape, values)]`` and steps ``[(op, argument indices, parameter)]``."""
    base = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
    inputs = []
    for _ in range(draw(st.integers(1, 3))):
        rank = draw(st.integers(0, len(base)))
        shape = tuple(d if draw(st.booleans()) else 1 for d in base[len(base) - rank:])
        declared = draw(st.sampled_from(["exact", "unknown sizes", "unknown rank", "variable"]))
        if declared in ("unknown rank", "variable"):
            declared_shape = None if declared == "unknown rank" else "variable"
        elif declared == "unknown sizes":
            declared_shape = tuple(None if draw(st.booleans()) else d for d in shape)
        else:
            declared_shape = shape
        low = draw(st.sampled_from([-2.0, 0.2]))  # an all-positive input lets log, sqrt and pow apply
        values = draw(hnp.arrays(np.float64, shape, elements=st.floats(low, 2, allow_subnormal=False)))
        inputs.append((declared_shape, values.tolist()))
    values = [np.asarray(v, dtype=np.float64) for _, v in inputs]
    steps = []
    names = sorted(BINARY) + sorted(UNARY) + sorted(STRUCTURAL) + ["matmul"]  # the first is drawn most: add
    for _ in range(draw(st.integers(1, max_steps))):
        name = draw(st.sampled_from(names))
        arity = 2 if name in BINARY or name == "matmul" else 1
        args = tuple(draw(st.integers(0, len(values) - 1)) for _ in range(arity))
        param = draw(st.sampled_from(STRUCTURAL[name][0])) if name in STRUCTURAL else (
            draw(st.sampled_from(MATMUL)) if name == "matmul" else None)
        value = apply_step((name, args, param), values)
        if value is not None:
            steps.append((name, args, param))
            values.append(value)
    return {"inputs": inputs, "steps": steps}


def reference_values(recipe) -> list[np.ndarray]:
    """Every node's value by hand-written NumPy (inputs first, then one per step)."""
    values = [np.asarray(v, dtype=np.float64) for _, v in recipe["inputs"]]
    for step in recipe["steps"]:
        value = apply_step(step, values)
        assert value is not None, f"recipe step {step} is outside its op's domain"
        values.append(value)
    return values


def build(recipe):
    """The recipe as a symslow graph: ``(graph, inputs, nodes)``, nodes in the order of reference_values.

    An input is a placeholder of the declared shape, or a Variable when the recipe declares ``"variable"``.
    """
    graph = ts.Graph()
    values = reference_values(recipe)
    with graph.as_default():
        inputs = [ts.Variable(values[i], name=f"x{i}") if declared == "variable" else
                  ts.placeholder(ts.float64, shape=declared, name=f"x{i}")
                  for i, (declared, _) in enumerate(recipe["inputs"])]
        nodes = list(inputs)
        for name, args, param in recipe["steps"]:
            xs = [nodes[i] for i in args]
            if name in UNARY:
                node = UNARY[name][1](xs[0])
            elif name in BINARY:
                node = BINARY[name][1](xs[0], xs[1])
            elif name == "matmul":
                a, b = xs
                node = ts.matmul(a, ts.transpose(b)) if param == "abT" else (
                    ts.matmul(ts.transpose(a), b) if param == "aTb" else ts.matmul(a, b))
            elif name == "cross_entropy":
                node = ts.nn.softmax_cross_entropy_with_logits(labels=_labels(values[args[0]].shape), logits=xs[0])
            else:
                node = STRUCTURAL[name][2](xs[0], param)
            nodes.append(node)
    return graph, inputs, nodes


def _weights(shape, offset=0.0):
    """Fixed, non-trivial weights of a shape (the vector of a vector-Jacobian product)."""
    n = int(np.prod(shape))
    return (0.5 + offset + np.cos(np.arange(n) * 1.3)).reshape(shape)


def derivative(f, x: np.ndarray, direction: np.ndarray):
    """d/dt f(x + t·direction) at t = 0: central differences, Richardson-extrapolated (error O(h⁴))."""
    def central(h):
        return (np.asarray(f(x + h * direction)) - np.asarray(f(x - h * direction))) / (2 * h)

    return (4 * central(STEP / 2) - central(STEP)) / 3


def relative_error(actual, expected) -> float:
    actual, expected = np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    scale = max(1.0, float(np.max(np.abs(expected), initial=0.0)))
    return float(np.max(np.abs(actual - expected), initial=0.0)) / scale


def run_with(session, fetch, feeds, x, value):
    """``fetch`` with input ``x`` set to ``value``: fed if a placeholder, loaded (then put back) if a Variable."""
    if not isinstance(x, ts.Variable):
        return session.run(fetch, {**feeds, x: value})
    before = session.variable_values([x])
    session.load_variable_values({x: value})
    try:
        return session.run(fetch, feeds)
    finally:
        session.load_variable_values(before)


def check_recipe(recipe) -> None:
    values = reference_values(recipe)
    graph, inputs, nodes = build(recipe)
    start = {x: v for x, v in zip(inputs, values)}
    feeds = {x: v for x, v in start.items() if not isinstance(x, ts.Variable)}
    y = nodes[-1]
    with graph.as_default():
        grads = ts.gradients(y, inputs, grad_ys=[ts.constant(_weights(values[-1].shape))])

    # 1. values: compiled == hand-written NumPy == interpreter, for every node and every gradient node
    fetched = nodes + [g for g in grads if g is not None]
    interpreted = ts.Session(graph=graph, backend="interpreter").run(fetched, feeds)
    for backend in BACKENDS:
        compiled = ts.Session(graph=graph, backend=backend).run(fetched, feeds)
        for node, expected, got, oracle in zip(fetched, values + [None] * len(fetched), compiled, interpreted):
            np.testing.assert_allclose(got, oracle, rtol=1e-10, atol=1e-12,
                                       err_msg=f"{backend} vs interpreter at node {node.name!r}")
            assert np.shape(got) == np.shape(oracle), node.name
            if expected is not None:
                np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12,
                                           err_msg=f"{backend} vs NumPy reference at node {node.name!r}")
                assert np.shape(got) == expected.shape, node.name

    # 2. first derivatives: vector-Jacobian products vs finite differences of sum(y * R), element by element
    session = ts.Session(graph=graph)
    weights = _weights(values[-1].shape)
    symbolic = session.run([g for g in grads if g is not None], feeds)
    symbolic = iter(symbolic)
    for x, g in zip(inputs, grads):
        got = np.zeros(start[x].shape) if g is None else next(symbolic)
        assert np.shape(got) == start[x].shape, f"gradient of {x.name!r} has shape {np.shape(got)}"

        def f(value, x=x):
            return float(np.sum(run_with(session, y, feeds, x, value) * weights))

        numeric = np.zeros(start[x].shape)
        for index in np.ndindex(start[x].shape):
            unit = np.zeros(start[x].shape)
            unit[index] = 1.0
            numeric[index] = derivative(f, start[x], unit)
        error = relative_error(got, numeric)
        assert error < TOLERANCE, f"d/d{x.name}: relative error {error:.2e}\nsymbolic {got}\nnumeric {numeric}"

    # 3. second derivatives of the scalar loss sum(y * R): Hessian-vector products vs differences of the gradient
    x = inputs[0]
    with graph.as_default():
        loss = ts.reduce_sum(y * weights)
        (g,) = ts.gradients(loss, [x])
        if g is None:
            return
        direction = _weights(start[x].shape, offset=0.25) / 2
        try:
            (hv,) = ts.gradients([g], [x], grad_ys=[ts.constant(direction)])
        except NotImplementedError as error:  # documented: matmul of unknown rank has no second derivative
            assert "known rank" in str(error)
            assert any(isinstance(n, matmul_vjp) for n in topological_order([g]))
            return
    got = np.zeros(start[x].shape) if hv is None else session.run(hv, feeds)
    numeric = derivative(lambda value: run_with(session, g, feeds, x, value), start[x], direction)
    error = relative_error(got, numeric)
    assert error < TOLERANCE, f"Hessian-vector product: relative error {error:.2e}\nsymbolic {got}\nnumeric {numeric}"

    # 4. the whole Hessian by hessians(), where the input's static shape is fully known (and small)
    if x.shape is None or None in x.shape or start[x].size > 4:
        return
    with graph.as_default():
        (hessian,) = ts.hessians(loss, [x])
    n = start[x].size
    matrix = np.zeros((n, n)) if hessian is None else session.run(hessian, feeds).reshape(n, n)
    columns = []
    for j in range(n):
        unit = np.zeros(n)
        unit[j] = 1.0
        column = derivative(lambda value: run_with(session, g, feeds, x, value), start[x],
                            unit.reshape(start[x].shape))
        columns.append(np.reshape(column, n))
    numeric = np.stack(columns, axis=1)
    error = relative_error(matrix, numeric)
    assert error < TOLERANCE, f"hessians(): relative error {error:.2e}\nsymbolic {matrix}\nnumeric {numeric}"


@BOUNDED
@given(recipes())
# shrunk failing examples found by this test, kept as regressions:
# the interpreter lambdified x + x with the argument x twice
@example({"inputs": [((), 0.0)], "steps": [("add", (0, 0), None)]})
# the second derivative of relu held DiracDelta, which no array printer prints
@example({"inputs": [((), 1.0)], "steps": [("relu", (0,), None)]})
# the transpose of a scalar constant gradient printed as `(1.0).T`
@example({"inputs": [((), 0.5)], "steps": [("add", (0, 0), None), ("transpose", (1,), None)]})
# a node named 'tanh' shadowed numpy's tanh inside the interpreter's lambdified tanh(tanh)
@example({"inputs": [(None, [-1.5])], "steps": [("tanh", (0,), None), ("tanh", (1,), None)]})
# the matmul gradient for operands of unknown rank got a scalar constant gradient as a Python float
@example({"inputs": [((1,), [0.0]), (None, [0.0])], "steps": [("matmul", (0, 1), "ab")]})
# a compiled constant gradient, kept as a number in a named line (`v1 = 1.5`), was transposed as `v1.T`
@example({"inputs": [(None, 0.2)], "steps": [("transpose", (0,), None), ("add", (0, 1), None)]})
def test_random_graph(recipe):
    check_recipe(recipe)


def test_strategy_covers_the_public_op_set():
    public = {name for name in ts.__all__ if callable(vars(ts.ops).get(name))} - NOT_DRAWN
    drawn = {ALIASES.get(name, name) for name in [*UNARY, *BINARY, *STRUCTURAL, "matmul"]}
    assert public - drawn == set(), "ops the random graphs never draw"
    assert drawn - public == set(), "recipe steps that name no public op"


def test_a_recipe_reaches_every_op_kind():
    """The strategy can draw each op (a recipe per op kind passes the checks)."""
    for name in sorted(UNARY):
        check_recipe({"inputs": [((2,), [0.7, 1.3])], "steps": [(name, (0,), None)]})
    for name in sorted(BINARY):
        check_recipe({"inputs": [((None, 2), [[0.7, 1.3]]), (None, [1.6, 0.4])], "steps": [(name, (0, 1), None)]})
    for name, (params, _, _) in sorted(STRUCTURAL.items()):
        for param in params:
            recipe = {"inputs": [((2, 3), [[0.1, -0.5, 1.2], [0.3, 0.9, -1.1]])], "steps": [(name, (0,), param)]}
            check_recipe(recipe)
    check_recipe({"inputs": [("variable", [[0.7, 1.3]]), (None, [1.6, 0.4])],
                  "steps": [("multiply", (0, 1), None), ("log_softmax", (2,), -1)]})
    for param in MATMUL:
        recipe = {"inputs": [((2, 2), [[0.1, -0.5], [0.3, 0.9]]), ((None, None), [[1.5, 0.2], [-0.7, 0.4]])],
                  "steps": [("matmul", (0, 1), param)]}
        check_recipe(recipe)


def test_second_derivative_of_matmul_of_unknown_rank_is_refused_with_advice():
    graph = ts.Graph()
    with graph.as_default():
        a = ts.placeholder(ts.float64, shape=None, name="a")
        b = ts.placeholder(ts.float64, shape=(2, 2), name="b")
        loss = ts.reduce_sum(ts.square(ts.matmul(a, b)))
        (g,) = ts.gradients(loss, [a])
        with pytest.raises(NotImplementedError, match=r"known rank.*placeholder\(shape="):
            ts.gradients([g], [a])
