"""Compiled code computes exactly the graph: IEEE value for value, as the interpreter does, at edge values too.

Random graphs of elementwise ops (hypothesis) are fed edge values (0, -0, ±inf, NaN, negative, huge and tiny
numbers, in float32 and float64) and built with constant-only subexpressions, ops applied to one node twice (``x -
x``, ``x / x``), long chains and deep stacks. Every node is computed three ways:

* by hand-written NumPy, op by op (the reference for the interpreter);
* by the interpreter, node by node (the oracle);
* by every compiled backend, which fuses, folds constants and cuts long expressions.

The NumPy backend must give the interpreter's values bit for bit: NaN where NaN, the same sign of every zero and
infinity, the same dtype. JAX computes transcendental functions with XLA's own approximations (an ulp or two from
NumPy's, which a cancellation such as a gradient's ``1 - tanh(x)**2`` makes many more), flushes subnormal numbers
to zero, and follows C's ``pow`` where NumPy takes a square root (``pow(-0, 0.5)``, ``pow(-inf, 0.5)``): it is held
to the interpreter's dtypes and shapes everywhere, and to its values (the same special values, a few ulps apart)
where each fetched node is one op of the inputs, of normal numbers.

``make test`` runs a bounded number of examples; ``make fuzz`` (``SYMSLOW_FUZZ=1``) many more.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import symslow as ts
from symslow.backends import available_backends

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NumPy's warnings of NaNs and overflows

FUZZ = bool(os.environ.get("SYMSLOW_FUZZ"))
BOUNDED = settings(max_examples=40, deadline=None, derandomize=True) if not FUZZ else settings()
BACKENDS = available_backends()
EXACT = {"numpy"}  # the backends that compute with NumPy's own functions

EDGES = {
    "float64": [0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, -1.0, 0.5, -2.5, 3.0, 1e17, 1e300, -1e300, 1e-300,
                -1e-300, 5e-324, 710.0, -745.0],
    "float32": [0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, -1.0, 0.5, -2.5, 3.0, 1e8, 3e38, -3e38, 2e-38, -2e-38,
                1e-45, 89.0, -104.0],
}


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


# op: (NumPy reference, symslow builder)
UNARY = {
    "negative": (np.negative, ts.negative),
    "identity": (np.copy, ts.identity),
    "abs": (np.abs, ts.abs),
    "sign": (np.sign, ts.sign),
    "log": (np.log, ts.log),
    "exp": (np.exp, ts.exp),
    "sigmoid": (_sigmoid, ts.sigmoid),
    "tanh": (np.tanh, ts.tanh),
    "relu": (lambda x: np.maximum(x, 0), ts.nn.relu),
    "square": (np.square, ts.square),
    "sqrt": (np.sqrt, ts.sqrt),
    "sin": (np.sin, ts.sin),
    "cos": (np.cos, ts.cos),
    "log1p": (np.log1p, ts.log1p),
    "reciprocal": (lambda x: 1 / x, ts.reciprocal),
    "rsqrt": (lambda x: 1 / np.sqrt(x), ts.rsqrt),
    "softplus": (lambda x: np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x))), ts.nn.softplus),
    "floor": (np.floor, ts.floor),
    "ceil": (np.ceil, ts.ceil),
}
BINARY = {
    "add": (np.add, ts.add),
    "subtract": (np.subtract, ts.subtract),
    "multiply": (np.multiply, ts.multiply),
    "divide": (np.divide, ts.divide),
    "pow": (np.power, ts.pow),
    "maximum": (np.maximum, ts.maximum),
    "minimum": (np.minimum, ts.minimum),
}
# what JAX computes by other rules than NumPy (see the module's docstring): left out of its checks
NOT_LIKE_NUMPY_ON_JAX = {"pow", "sign"}


# comparing ---------------------------------------------------------------------------------------------------------
def assert_identical(got, expected, where: str) -> None:
    """The same dtype, shape and bits: NaN where NaN, the sign of every zero and infinity."""
    got, expected = np.asarray(got), np.asarray(expected)
    assert got.dtype == expected.dtype, f"{where}: dtype {got.dtype}, expected {expected.dtype}"
    assert got.shape == expected.shape, f"{where}: shape {got.shape}, expected {expected.shape}"
    nan = np.isnan(expected)
    same = np.array_equal(np.isnan(got), nan) and np.array_equal(got[~nan], expected[~nan])
    same = same and np.array_equal(np.signbit(got[~nan]), np.signbit(expected[~nan]))
    assert same, f"{where}:\n got      {got!r}\n expected {expected!r}"


def assert_like(got, expected, where: str, ulps: float = 64) -> None:
    """The same dtype, shape and special values (NaN, ±inf, signed zeros), other values within a few ulps; where
    ``expected`` or ``got`` is subnormal, only that both are below the smallest normal number."""
    got, expected = np.asarray(got), np.asarray(expected)
    assert got.dtype == expected.dtype, f"{where}: dtype {got.dtype}, expected {expected.dtype}"
    assert got.shape == expected.shape, f"{where}: shape {got.shape}, expected {expected.shape}"
    tiny = np.finfo(expected.dtype).tiny
    small = (np.abs(expected) < tiny) | (np.abs(got) < tiny)
    assert np.all(np.abs(got[small]) < tiny) and np.all(np.abs(expected[small]) < tiny), where
    regular = ~small
    a, b = got[regular], expected[regular]
    assert np.array_equal(np.isnan(a), np.isnan(b)), f"{where}:\n got      {got!r}\n expected {expected!r}"
    finite = np.isfinite(b)
    assert np.array_equal(a[~finite & ~np.isnan(b)], b[~finite & ~np.isnan(b)]), f"{where}: infinities differ"
    error = np.abs(a[finite].astype(np.float64) - b[finite]) / np.spacing(np.abs(b[finite]))
    assert np.all(error <= ulps), f"{where}: {error.max() if error.size else 0} ulps apart: {got!r}, {expected!r}"


# random graphs -----------------------------------------------------------------------------------------------------
@st.composite
def recipes(draw, max_steps: int = 8):
    """Plain data: a dtype, inputs (lists of edge values), steps ``(kind, op, arguments, extra)``, the fetched nodes.

    Node k is input k for k < inputs, then one node per step (a ``chain`` or ``stack`` step makes several, the last
    of which is its node).
    """
    dtype = draw(st.sampled_from(["float64", "float32"]))
    size = draw(st.integers(1, 4))
    values = st.sampled_from(EDGES[dtype]) | st.floats(-10, 10, width=32 if dtype == "float32" else 64)
    inputs = [draw(st.lists(values, min_size=size, max_size=size)) for _ in range(draw(st.integers(1, 2)))]
    nodes = len(inputs)
    steps = []
    for _ in range(draw(st.integers(1, max_steps))):
        kind = draw(st.sampled_from(["unary", "binary", "binary", "constant", "chain", "stack"]))
        pick = st.integers(0, nodes - 1)
        if kind == "unary":
            steps.append(("unary", draw(st.sampled_from(sorted(UNARY))), (draw(pick),), None))
        elif kind == "binary":  # the same node twice is drawn often: x - x, x / x, x * x
            a = draw(pick)
            b = a if draw(st.booleans()) else draw(pick)
            steps.append(("binary", draw(st.sampled_from(sorted(BINARY))), (a, b), None))
        elif kind == "constant":  # a scalar constant, often an operand of a constant-only subexpression
            steps.append(("constant", None, (), draw(st.sampled_from(EDGES[dtype]))))
        elif kind == "chain":  # a long run of unary ops: one fused expression, cut where it grows
            ops = draw(st.lists(st.sampled_from(sorted(UNARY)), min_size=2, max_size=40))
            steps.append(("chain", None, (draw(pick),), tuple(ops)))
        else:  # a deep stack: each node the op of the two before it
            ops = draw(st.lists(st.sampled_from(sorted(BINARY)), min_size=2, max_size=20))
            steps.append(("stack", None, (draw(pick), draw(pick)), tuple(ops)))
        nodes += 1
    fetched = sorted({nodes - 1, *draw(st.lists(st.integers(0, nodes - 1), max_size=2))})
    return {"dtype": dtype, "inputs": inputs, "steps": steps, "fetched": fetched}


def reference(recipe) -> list[np.ndarray]:
    """Every node's value by hand-written NumPy, op by op, in the recipe's dtype."""
    dtype = np.dtype(recipe["dtype"])
    with np.errstate(all="ignore"):
        values = [np.asarray(v, dtype=dtype) for v in recipe["inputs"]]
        for kind, op, args, extra in recipe["steps"]:
            xs = [values[k] for k in args]
            if kind == "unary":
                value = UNARY[op][0](xs[0])
            elif kind == "binary":
                value = BINARY[op][0](xs[0], xs[1])
            elif kind == "constant":
                value = np.asarray(extra, dtype=dtype)
            elif kind == "chain":
                value = xs[0]
                for name in extra:
                    value = UNARY[name][0](value)
            else:
                a, b = xs
                for name in extra:
                    a, b = b, BINARY[name][0](a, b)
                value = b
            values.append(np.asarray(value, dtype=dtype))
    return values


def build(recipe):
    """The recipe as a graph: ``(graph, placeholders, nodes)``."""
    dtype = getattr(ts, recipe["dtype"])
    graph = ts.Graph()
    with graph.as_default():
        inputs = [ts.placeholder(dtype, shape=(len(v),), name=f"x{k}") for k, v in enumerate(recipe["inputs"])]
        nodes = list(inputs)
        for kind, op, args, extra in recipe["steps"]:
            xs = [nodes[k] for k in args]
            if kind == "unary":
                node = UNARY[op][1](xs[0])
            elif kind == "binary":
                node = BINARY[op][1](xs[0], xs[1])
            elif kind == "constant":
                node = ts.constant(extra, dtype=dtype)
            elif kind == "chain":
                node = xs[0]
                for name in extra:
                    node = UNARY[name][1](node)
            else:
                a, b = xs
                for name in extra:
                    a, b = b, BINARY[name][1](a, b)
                node = b
            nodes.append(node)
    return graph, inputs, nodes


def _one_op_of_normal_inputs(recipe) -> bool:
    """Whether every step is one op (JAX's way) applied to inputs and constants, which hold no subnormal number."""
    steps, inputs = recipe["steps"], len(recipe["inputs"])
    leaves = set(range(inputs)) | {inputs + k for k, step in enumerate(steps) if step[0] == "constant"}
    return not _subnormal_inputs(recipe) and all(
        kind == "constant" or kind in ("unary", "binary") and op not in NOT_LIKE_NUMPY_ON_JAX and set(args) <= leaves
        for kind, op, args, _ in steps)


def check_recipe(recipe) -> None:
    expected = reference(recipe)
    graph, inputs, nodes = build(recipe)
    dtype = np.dtype(recipe["dtype"])
    feed = {x: np.asarray(v, dtype=dtype) for x, v in zip(inputs, recipe["inputs"])}
    fetched = [nodes[k] for k in recipe["fetched"]]
    with graph.as_default():
        weights = [ts.constant(np.linspace(0.5, 1.5, len(recipe["inputs"][0])), dtype=dtype) for _ in fetched]
        sums = [ts.reduce_sum(node * w) for node, w in zip(fetched, weights)]
        loss = sums[0]
        for term in sums[1:]:
            loss = loss + term
        grads = [g for g in ts.gradients(loss, inputs) if g is not None]
    interpreted = ts.Session(graph=graph, backend="interpreter").run(fetched + grads, feed)
    for k, value in zip(recipe["fetched"], interpreted):
        assert_identical(value, expected[k], f"interpreter vs NumPy at node {k} ({nodes[k].name!r})")
    one_op = _one_op_of_normal_inputs(recipe)
    for backend in BACKENDS:
        compiled = ts.Session(graph=graph, backend=backend).run(fetched + grads, feed)
        for k, (node, got, oracle) in enumerate(zip(fetched + grads, compiled, interpreted)):
            where = f"{backend} vs interpreter at node {node.name!r}"
            if backend in EXACT:
                assert_identical(got, oracle, where)
            elif k < len(fetched) and one_op:
                assert_like(got, oracle, where)
            else:
                assert np.asarray(got).dtype == np.asarray(oracle).dtype, where
                assert np.shape(got) == np.shape(oracle), where


def _subnormal_inputs(recipe) -> bool:
    dtype = np.dtype(recipe["dtype"])
    values = [np.asarray(v, dtype=dtype) for v in recipe["inputs"]]
    values += [np.asarray(extra, dtype=dtype) for kind, _, _, extra in recipe["steps"] if kind == "constant"]
    tiny = np.finfo(dtype).tiny
    return any(np.any((v != 0) & (np.abs(v) < tiny)) for v in values)


@BOUNDED
@given(recipes())
# every unary op on every edge value, once in each dtype
@example({"dtype": "float64", "inputs": [EDGES["float64"]], "fetched": [1],
          "steps": [("chain", None, (0,), tuple(sorted(UNARY)))]})
@example({"dtype": "float32", "inputs": [EDGES["float32"]], "fetched": [1],
          "steps": [("chain", None, (0,), tuple(sorted(UNARY)))]})
# x - x, x / x, x * x, pow(x, x) and a constant-only subexpression next to them
@example({"dtype": "float64", "inputs": [EDGES["float64"]], "fetched": [1, 2, 3, 6, 7],
          "steps": [("binary", "subtract", (0, 0), None), ("binary", "divide", (0, 0), None),
                    ("binary", "multiply", (0, 0), None), ("constant", None, (), -1.0),
                    ("constant", None, (), 0.0), ("binary", "divide", (4, 5), None),
                    ("binary", "pow", (0, 0), None)]})
def test_compiled_code_computes_the_interpreters_values(recipe):
    check_recipe(recipe)


def test_every_op_and_edge_value_is_drawn():
    """The strategy draws from every op and edge value it lists (a recipe per op passes the checks)."""
    for dtype in EDGES:
        for name in sorted(UNARY):
            check_recipe({"dtype": dtype, "inputs": [EDGES[dtype]], "fetched": [1],
                          "steps": [("unary", name, (0,), None)]})
        for name in sorted(BINARY):
            edges = EDGES[dtype]
            pairs = [[a for a in edges for _ in edges], [b for _ in edges for b in edges]]
            check_recipe({"dtype": dtype, "inputs": pairs, "fetched": [2],
                          "steps": [("binary", name, (0, 1), None)]})


# the cases the compiled code got wrong, each as a test -------------------------------------------------------------
def _check_all(fetches, expected, feed=None, where: str = "", exact_only: bool = False) -> None:
    """The fetches' values from the interpreter and each compiled backend are ``expected`` (bit for bit where the
    backend computes with NumPy; see the module's docstring for JAX)."""
    for backend in ["interpreter", *BACKENDS]:
        if exact_only and backend not in EXACT | {"interpreter"}:
            continue
        value = ts.Session(backend=backend).run(fetches, feed or {})
        check = assert_identical if backend in EXACT | {"interpreter"} else assert_like
        check(value, expected, f"{backend}: {where}")


@pytest.mark.parametrize("build, expected", [
    (lambda: ts.log(ts.constant(-1.0)), np.float32(np.nan)),  # SymPy's log(-1) is i*pi
    (lambda: ts.sqrt(ts.constant(-4.0)), np.float32(np.nan)),  # SymPy's sqrt(-4) is 2i
    (lambda: ts.log(ts.constant(0.0)), np.float32(-np.inf)),  # SymPy's log(0) is zoo, which no printer prints
    (lambda: 1 / ts.constant(0.0), np.float32(np.inf)),  # SymPy's 1/0 is zoo; Python's raises
    (lambda: 1 / ts.constant(-0.0), np.float32(-np.inf)),
    (lambda: ts.maximum(ts.log(ts.constant(-1.0)), 1.0), np.float32(np.nan)),  # SymPy: "is not comparable"
    (lambda: ts.nn.relu(ts.sqrt(ts.constant(-4.0))), np.float32(np.nan)),
    (lambda: ts.constant(0.1) * 3.0, np.float32(0.1) * np.float32(3.0)),  # folded in float32, not in SymPy's float64
    (lambda: ts.constant(0.1, dtype=ts.float64) + 0.2, 0.1 + 0.2),  # every digit (SymPy prints 0.3)
])
def test_constants_are_folded_by_numpy_in_their_dtype(build, expected):
    with ts.Graph().as_default():
        node = build()
        _check_all(node, np.asarray(expected), where=node.name)


@pytest.mark.parametrize("formula, values, expected, exact_only", [
    (lambda x: ts.exp(ts.log(x)), [-1.0, 0.0, 2.0], lambda v: np.exp(np.log(v)), False),  # SymPy: exp(log(x)) is x
    (lambda x: x / x, [0.0, np.inf, np.nan, 2.0], lambda v: v / v, False),  # SymPy's x/x is 1
    (lambda x: (x + 1) - x, [1e17, 1.0], lambda v: (v + 1) - v, False),  # SymPy's (x + 1) - x is 1
    (lambda x: x - x, [1.0, np.inf], lambda v: v - v, False),  # SymPy's x - x is the integer 0
    (lambda x: x * 0.0, [1.0, -1.0, np.inf], lambda v: v * 0.0, False),
    (lambda x: x * (1 / 3), [3.0], lambda v: v * (1 / 3), False),  # 0.333333333333333 was printed
    # `x ** 0.5` took sqrt's path on arrays and C's pow on NumPy scalars; JAX follows C's pow at -0 and -inf
    (lambda x: x ** 0.5, [-0.0, -np.inf, 4.0], lambda v: np.power(v, 0.5), True),
])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_formulas_are_not_simplified_by_sympy(formula, values, expected, exact_only, dtype):
    with ts.Graph().as_default():
        x = ts.placeholder(getattr(ts, dtype), shape=(len(values),), name="x")
        y = formula(x)
        fed = np.asarray(values, dtype=dtype)
        with np.errstate(all="ignore"):
            want = np.asarray(expected(fed))
        _check_all(y, want.astype(dtype), {x: fed}, y.name, exact_only)


def test_a_scalar_squared_is_squared_as_an_array_is():
    # `x ** 2` on a NumPy scalar is C's pow, which differs from x * x in the last bit for some x
    values = np.random.default_rng(4).uniform(0.1, 10, 200)
    with ts.Graph().as_default():
        x = ts.placeholder(ts.float64, shape=(), name="x")
        y = ts.square(ts.exp(x)) - ts.square(ts.exp(x) + 0.0)
        session = ts.Session()
        for v in values:
            assert float(session.run(y, {x: v})) == 0.0


def test_a_sum_of_negative_zeros_is_zero_as_numpys():
    with ts.Graph().as_default():
        z = ts.placeholder(ts.float64, shape=(None, 2), name="z")
        total = ts.reduce_sum(z, axis=1)
        fed = np.full((3, 2), -0.0)
        _check_all(total, np.sum(fed, axis=1), {z: fed}, "reduce_sum")


@pytest.mark.parametrize("backend", BACKENDS)
def test_results_keep_their_dtype(backend):
    with ts.Graph().as_default():
        for dtype in (ts.float32, ts.float64):
            x = ts.placeholder(dtype, shape=(2,), name="x")
            c = ts.constant(2.0, dtype=dtype)
            for node in (x - x, x * 0.0, x / x, ts.zeros_like(x) * 2.0, ts.ones_like(x), c * 3.0, ts.log(c),
                         ts.where(x > 1.5, 1.0, 0.0), ts.where(x > 1.5, x, 0.0)):
                value = ts.Session(backend=backend).run(node, {x: [1.0, 2.0]})
                assert value.dtype == np.dtype(node.dtype), (node.name, value.dtype)


@pytest.mark.parametrize("backend", BACKENDS + ["interpreter"])
def test_assigning_zeros_keeps_a_float_variable_float_and_its_checkpoint_restores(backend, tmp_path):
    with ts.Graph().as_default():
        w = ts.Variable(np.array([1.0, -2.0]), name="w")
        zero = ts.assign(w, w * 0.0)
        saver = ts.train.Saver()
        session = ts.Session(backend=backend)
        session.run(zero)
        value = session.run(w)
        assert value.dtype == np.float64
        assert_identical(value, np.array([0.0, -0.0]), "w")
        path = saver.save(session, str(tmp_path / "model"))
        restored = ts.Session(backend=backend)
        saver.restore(restored, path)
        assert_identical(restored.run(w), np.array([0.0, -0.0]), "restored w")
