"""The compiler's bounds: deep graphs compile to lines of bounded size and compute what the interpreter computes,
formulas of deep graphs print, evicted programs leave nothing behind, and many batch sizes compile few programs.

(How long compiling takes, and that it grows linearly with depth, is measured in bench/, not here.)
"""

from __future__ import annotations

import gc
import linecache
import tracemalloc

import numpy as np
import pytest

import symslow as ts
import symslow.session
from symslow.compiler import MAX_FUSED_DEPTH, MAX_FUSED_LENGTH, MAX_SPECIALIZED_SHAPES

from reference import mlp_step

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def _chain(x, size: int):
    """``size`` elementwise ops in turn: tanh, sigmoid, a scaling, the sum of two branches, sin, a shift."""
    for i in range(size):
        kind = i % 6
        if kind == 0:
            x = ts.tanh(x)
        elif kind == 1:
            x = ts.sigmoid(x)
        elif kind == 2:
            x = x * 1.7
        elif kind == 3:
            x = ts.tanh(x) + ts.exp(x * -0.5)
        elif kind == 4:
            x = ts.sin(x)
        else:
            x = x - 0.3
    return x


def _nesting(line: str) -> int:
    depth = deepest = 0
    for c in line:
        depth += c in "([{"
        depth -= c in ")]}"
        deepest = max(deepest, depth)
    return deepest


def _assert_bounded(source: str) -> None:
    """Every line of generated code nests and grows about as far as the compiler's bounds allow (a formula printed
    whole adds its own few levels and characters to what it fuses)."""
    for line in source.splitlines():
        if line.lstrip().startswith(("v", "t")) and " = " in line and not line.endswith(("= feeds", "= variables",
                                                                                          "= constants")):
            assert _nesting(line) <= MAX_FUSED_DEPTH + 8, line
            assert len(line) <= MAX_FUSED_LENGTH + 300, line


def test_a_chain_of_two_thousand_ops_and_its_gradient_compute_the_interpreters_values():
    with ts.Graph().as_default():
        x = ts.placeholder(ts.float64, shape=(None, 4), name="x")
        J = ts.reduce_sum(_chain(x, 2000))
        (dx,) = ts.gradients(J, [x])
        feed = {x: np.linspace(-2, 2, 12).reshape(3, 4)}
        session = ts.Session()
        compiled = session.run([J, dx], feed)
        interpreted = ts.Session(backend="interpreter").run([J, dx], feed)
        for got, expected in zip(compiled, interpreted):
            np.testing.assert_array_equal(got, expected)
        _assert_bounded(session.source([J, dx], feed))


@pytest.mark.parametrize("backend", ts.backends.available_backends())
def test_a_long_fused_chain_is_cut_into_lines(backend):
    # each op is used once: without a bound, the whole chain would be one expression (the parser refuses 200
    # levels of parentheses, and SymPy recursed out on expressions of about 170 ops)
    with ts.Graph().as_default():
        x = ts.placeholder(ts.float64, shape=(5,), name="x")
        y = x
        for i in range(600):
            y = [ts.tanh, ts.sigmoid, lambda v: v * 0.5, lambda v: ts.exp(v * 0.1)][i % 4](y)
        feed = {x: np.linspace(-3, 3, 5)}
        session = ts.Session(backend=backend)
        got = session.run(y, feed)
        expected = ts.Session(backend="interpreter").run(y, feed)
        if backend == "numpy":
            np.testing.assert_array_equal(got, expected)
        else:
            np.testing.assert_allclose(got, expected, rtol=1e-12)
        source = session.source(y, feed)
        assert source.count(" = ") > 600 // 40  # cut into many lines
        _assert_bounded(source)


def _deep_mlp(layers: int, rng):
    X = ts.placeholder(ts.float64, shape=(None, 6), name="X")
    c = ts.placeholder(ts.float64, shape=(None, 3), name="c")
    h, variables = X, []
    for k in range(layers + 1):
        W = ts.Variable(rng.standard_normal((6, 3 if k == layers else 6)) / 2, name=f"W{k}")
        b = ts.Variable(0.1 * rng.standard_normal(3 if k == layers else 6), name=f"b{k}")
        variables += [W, b]
        h = ts.matmul(h, W) + b
        if k < layers:
            h = ts.sigmoid(h)
    J = -ts.reduce_sum(c * ts.log(ts.softmax(h)))
    return X, c, h, J, variables


def test_a_200_layer_perceptron_trains_as_the_interpreter_does():
    rng = np.random.default_rng(7)
    feed_values = rng.standard_normal((5, 6)), np.eye(3)[rng.integers(0, 3, 5)]
    results = []
    for backend in ("numpy", "interpreter"):
        with ts.Graph().as_default():
            X, c, _, J, variables = _deep_mlp(200, np.random.default_rng(7))
            train = ts.train.GradientDescentOptimizer(0.1).minimize(J)
            session = ts.Session(backend=backend)
            feed = {X: feed_values[0], c: feed_values[1]}
            loss, _ = session.run([J, train], feed)
            results.append([loss, *session.run(variables)])
            if backend == "numpy":
                _assert_bounded(session.source([J, train], feed))
    for got, expected in zip(*results):
        np.testing.assert_array_equal(got, expected)


def test_a_deep_perceptron_forward_compiles():
    # the forward pass alone is one chain of matmuls and sigmoids; unbounded, Python refused it past 66 layers
    rng = np.random.default_rng(8)
    with ts.Graph().as_default():
        X, _, logits, _, _ = _deep_mlp(150, rng)
        feed = {X: rng.standard_normal((4, 6))}
        expected = ts.Session(backend="interpreter").run(logits, feed)
        np.testing.assert_array_equal(ts.Session().run(logits, feed), expected)


def test_formulas_of_deep_graphs_show_their_top_levels_and_an_ellipsis():
    with ts.Graph().as_default():
        x = ts.placeholder(ts.float64, name="x")
        y = _chain(x, 400)
        text = str(ts.formula(y))
        assert "…" in text and "tanh" in text
        assert r"\ldots" in ts.latex(y)
        assert "…" in ts.pretty(y)
        assert r"\ldots" in y._repr_latex_()
        shallow = ts.tanh(ts.sigmoid(x))  # a formula within the depth shows whole
        assert str(ts.formula(shallow)) == "tanh(1/(1 + exp(-x)))"
        assert str(ts.formula(ts.tanh(ts.tanh(ts.tanh(x))), max_depth=2)) == "tanh(tanh(…))"


def test_the_gradients_of_a_deep_chain_are_built():
    # backpropagation walks the graph in an explicit order: no recursion as deep as the graph
    with ts.Graph().as_default():
        x = ts.placeholder(ts.float64, shape=(2,), name="x")
        y = x
        for _ in range(3000):
            y = ts.tanh(y)
        (dx,) = ts.gradients(ts.reduce_sum(y), [x])
        feed = {x: np.array([0.5, -0.25])}
        np.testing.assert_array_equal(ts.Session().run(dx, feed), ts.Session(backend="interpreter").run(dx, feed))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_generated_code_computes_every_result_in_its_nodes_dtype(dtype):
    # the program's own results, before the session converts anything
    from symslow.backends import get_backend
    from symslow.compiler import compile_program

    with ts.Graph().as_default():
        x = ts.placeholder(dtype, shape=(None, 3), name="x")
        w = ts.Variable(np.ones((3, 2), dtype=dtype), name="w")
        c = ts.constant(2.0, dtype=dtype)
        y = ts.matmul(x, w)
        nodes = [y, ts.reduce_sum(y), ts.reduce_mean(y), ts.ones_like(y), ts.zeros_like(x) * 3.0, c * 2.0, ts.log(c),
                 ts.exp(c) + x, ts.softmax(y), ts.nn.relu(c - 3.0), ts.maximum(c, 1.0), ts.reduce_sum(ts.ones_like(x)),
                 x - x, x / x, ts.where(x > 0.0, 1.0, 0.0), ts.where(x > 0.0, x, 0.0),
                 ts.gradients(ts.reduce_sum(ts.sigmoid(y)), [x])[0], ts.gradients(ts.reduce_mean(ts.square(y)), [w])[0]]
        zero = ts.assign(w, w * 0.0)
        feeds = {x: np.ones((4, 3), dtype=dtype)}
        for node in nodes + [zero]:
            program = compile_program([node], [x], get_backend("numpy"), {x: (4, 3)})
            outputs, new_values = program.function([feeds[x]], [np.ones((3, 2), dtype=dtype)], program.constants)
            for value in [*outputs, *new_values]:
                assert np.asarray(value).dtype == np.dtype(node.dtype), (node.name, np.asarray(value).dtype)


def test_a_line_computed_again_inside_a_later_line_is_read_by_its_name():
    # relu's gradient is sign(maximum(a, 0)), the relu itself: it reads the relu's line; values stay the interpreter's,
    # at 0, -0.0, NaN and inf too
    with ts.Graph().as_default():
        x = ts.placeholder(ts.float64, shape=(None, 3), name="x")
        w = ts.Variable(np.array([[1.0, -2.0], [0.5, 0.0], [-1.0, 3.0]]), name="w")
        h = ts.nn.relu(ts.matmul(x, w))
        J = ts.reduce_sum(ts.square(h) + h)
        (dx,) = ts.gradients(J, [x])
        feed = {x: np.array([[1.0, 0.0, -0.0], [np.nan, 2.0, 1.0], [np.inf, -1.0, 0.5], [0.0, 0.0, 0.0]])}
        session = ts.Session()
        session.run(ts.global_variables_initializer())
        source = session.source([J, dx], feed)
        relu_line = next(line for line in source.splitlines() if "numpy.maximum(" in line)
        name = relu_line.split("=")[0].strip()
        assert source.count("numpy.maximum(") == 1 and f"numpy.sign({name})" in source, source
        interpreter = ts.Session(backend="interpreter")
        interpreter.run(ts.global_variables_initializer())
        for got, expected in zip(session.run([J, dx], feed), interpreter.run([J, dx], feed)):
            np.testing.assert_array_equal(got, expected)


# memory ------------------------------------------------------------------------------------------------------------
def _sources_in_linecache() -> set[str]:
    return {name for name in linecache.cache if name.startswith("<symslow-compiled-")}


def test_an_evicted_program_leaves_its_source_out_of_linecache(monkeypatch):
    monkeypatch.setattr(symslow.session, "MAX_PROGRAMS_PER_GRAPH", 2)
    gc.collect()
    before = _sources_in_linecache()
    graph = ts.Graph()
    with graph.as_default():
        x = ts.placeholder(ts.float64, name="x")
        ys = [x * k for k in range(6)]
        session = ts.Session()
        for k, y in enumerate(ys):
            np.testing.assert_array_equal(session.run(y, {x: [1.0, 2.0]}), [k, 2.0 * k])
        session._programs.clear()
        session._calls.clear()
        gc.collect()
        kept = {program.filename for program in graph.compile_cache.values()}
        assert len(kept) == 2
        assert _sources_in_linecache() - before == kept  # the four evicted programs are gone
        line = linecache.getline(next(iter(kept)), 1)
        assert line.startswith("def compiled_step")  # tracebacks still show the code that runs


def test_many_batch_sizes_compile_a_few_programs():
    rng = np.random.default_rng(3)
    initial = [rng.standard_normal((2, 3)), rng.standard_normal(3), rng.standard_normal((3, 2)), rng.standard_normal(2)]
    graph = ts.Graph()
    with graph.as_default():
        X = ts.placeholder(ts.float64, shape=(None, 2), name="X")
        c = ts.placeholder(ts.float64, shape=(None, 2), name="c")
        variables = [ts.Variable(v) for v in initial]
        h = ts.sigmoid(ts.matmul(X, variables[0]) + variables[1])
        p = ts.softmax(ts.matmul(h, variables[2]) + variables[3])
        J = -ts.reduce_sum(c * ts.log(p))
        train = ts.train.GradientDescentOptimizer(0.05).minimize(J)
        session = ts.Session()
        expected = initial
        for n in list(range(1, 31)) + [3, 1, 29]:
            X_value = rng.standard_normal((n, 2))
            c_value = np.eye(2)[rng.integers(0, 2, n)]
            session.run(train, {X: X_value, c: c_value})
            expected = mlp_step(X_value, c_value, *expected, 0.05)
            for got, want in zip(session.run(variables), expected):
                np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
    # the first sizes have programs of their own, every later one shares the program of unknown size
    assert len([key for key in graph.compile_cache if train in key[2]]) == MAX_SPECIALIZED_SHAPES + 1


def test_memory_stays_flat_over_ten_thousand_batch_sizes():
    graph = ts.Graph()
    with graph.as_default():
        X = ts.placeholder(ts.float64, shape=(None, 2), name="X")
        W = ts.Variable(np.array([[0.5, -0.5], [0.25, 1.0]]), name="W")
        J = ts.reduce_sum(ts.square(ts.tanh(ts.matmul(X, W))))
        train = ts.train.GradientDescentOptimizer(1e-6).minimize(J)
        session = ts.Session()
        ones = np.ones((10_001, 2))

        def run(sizes):
            for n in sizes:
                session.run(train, {X: ones[:n]})

        sources = _sources_in_linecache()
        run(range(1, 1001))
        assert len([key for key in graph.compile_cache if train in key[2]]) == MAX_SPECIALIZED_SHAPES + 1
        gc.collect()
        tracemalloc.start()
        try:
            start, _ = tracemalloc.get_traced_memory()
            run(range(1001, 10_001))
            gc.collect()
            end, _ = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert end - start < 1_000_000, f"{(end - start) / 1e6:.1f} MB more after 9,000 runs"
    assert len([key for key in graph.compile_cache if train in key[2]]) == MAX_SPECIALIZED_SHAPES + 1
    assert len(_sources_in_linecache() - sources) <= MAX_SPECIALIZED_SHAPES + 1
