"""Sessions: fetch structures, feeds, Variable state, compilation and its source, the interpreter as oracle."""

import numpy as np
import pytest

import symslow as ts
from reference import xor_clusters


def test_fetch_structures():
    ts.Graph().as_default()
    x = ts.placeholder()
    a, b = x + 1, x * 2
    session = ts.Session()
    assert session.run(a, {x: 1.0}) == 2.0
    assert session.run([a, b], {x: 1.0}) == [2.0, 2.0]
    assert session.run((a, b), {x: 2.0}) == (3.0, 4.0)
    assert session.run({"a": a, "nested": [b, (a,)]}, {x: 3.0}) == {"a": 4.0, "nested": [6.0, (4.0,)]}


def test_lists_and_scalars_are_accepted_as_feeds():
    ts.Graph().as_default()
    x = ts.placeholder()
    y = ts.placeholder(ts.int64)
    out = ts.Session().run([x * 2, y + 1], {x: [[1, 2], [3, 4]], y: 5})
    np.testing.assert_array_equal(out[0], [[2.0, 4.0], [6.0, 8.0]])
    assert out[0].dtype == np.float64 and out[1] == 6 and out[1].dtype == np.int64


def test_variables_initialise_on_first_use_and_the_initializer_resets_them():
    ts.Graph().as_default()
    v = ts.Variable(np.array([1.0, 2.0]))
    step = ts.assign(v, v * 10)
    session = ts.Session()
    session.run(step)  # no initializer was run: the tutorial never calls one
    np.testing.assert_array_equal(session.run(v), [10.0, 20.0])
    session.run(ts.global_variables_initializer())
    np.testing.assert_array_equal(session.run(v), [1.0, 2.0])
    other = ts.Session()  # each session has its own values
    session.run(step)
    np.testing.assert_array_equal(other.run(v), [1.0, 2.0])


def test_fetched_variable_values_are_copies():
    ts.Graph().as_default()
    v = ts.Variable(np.array([1.0, 2.0]))
    session = ts.Session()
    value = session.run(v)
    value[0] = 99.0
    np.testing.assert_array_equal(session.run(v), [1.0, 2.0])


@pytest.mark.parametrize("backend", ["numpy", "interpreter"])
def test_a_fetched_view_of_a_variable_is_a_copy(backend):
    """``identity(w)`` and ``reshape(w)`` compute nothing new, yet changing what they fetch must not change ``w``,
    whether fetched alone, the second time (the remembered program), or with a training step that assigns ``w``."""
    ts.Graph().as_default()
    w = ts.Variable(np.array([1.0, 2.0]), name="w")
    train = ts.train.GradientDescentOptimizer(0.25).minimize(ts.reduce_sum(w * w))  # w <- w - 0.25 * 2w = w / 2
    session = ts.Session(backend=backend)
    expected = np.array([1.0, 2.0])
    for fetch in [ts.identity(w), ts.reshape(w, (2, 1)), w, w[:]]:
        for _ in range(2):
            session.run(fetch)[...] = 99.0
            np.testing.assert_array_equal(session.run(w), expected)
            _, value = session.run([train, fetch])
            expected = expected / 2
            value[...] = 99.0
            np.testing.assert_array_equal(session.run(w), expected)


def test_tensorflow_style_session_context_manager():
    ts.Graph().as_default()
    x = ts.placeholder(ts.float64, shape=(None,))
    with ts.Session() as sess:
        np.testing.assert_array_equal(sess.run(x + x, {x: [1, 2]}), [2.0, 4.0])
    with pytest.raises(RuntimeError, match="closed"):
        sess.run(x, {x: [1.0]})


def test_compiles_once_per_combination_of_fetches_and_feeds():
    graph = ts.Graph()
    graph.as_default()
    x = ts.placeholder()
    y = ts.sigmoid(x) * 2
    session = ts.Session()
    for value in range(3):
        session.run(y, {x: float(value)})
    assert len(graph.compile_cache) == 1
    session.run([y, x], {x: 1.0})
    assert len(graph.compile_cache) == 2


def test_source_is_readable_and_names_the_nodes():
    ts.Graph().as_default()
    X = ts.placeholder(name="X")
    W = ts.Variable(np.ones((2, 2)), name="W")
    b = ts.Variable(np.zeros(2), name="b")
    h = ts.sigmoid(ts.add(ts.matmul(X, W), b), name="hidden")
    J = ts.reduce_sum(h, name="J")
    train = ts.train.GradientDescentOptimizer(0.1).minimize(J)
    source = ts.Session().source(train, {X: np.ones((3, 2))})
    assert source.startswith("def compiled_step(feeds, variables, constants):")
    for name in ("'X'", "'W'", "'b'", "'hidden'"):
        assert name in source
    assert "numpy.exp" in source and "return" in source
    compile(source, "<check>", "exec")


def test_sigmoid_chain_is_fused_into_one_line():
    ts.Graph().as_default()
    x = ts.placeholder(name="x")
    y = ts.sigmoid(2 * x + 1)
    source = ts.Session().source(y, {x: 0.0})
    assignments = [line for line in source.splitlines() if line.strip().startswith("v") and " = " in line
                   and "feeds" not in line]
    assert len(assignments) == 1 and "numpy.exp" in assignments[0]


def _mlp(seed):
    rng = np.random.default_rng(seed)
    X_value, c_value = xor_clusters(rng, n=10)
    ts.Graph().as_default()
    X, c = ts.placeholder(), ts.placeholder()
    W1, b1 = ts.Variable(rng.standard_normal((2, 3))), ts.Variable(rng.standard_normal(3))
    W2, b2 = ts.Variable(rng.standard_normal((3, 2))), ts.Variable(rng.standard_normal(2))
    h = ts.sigmoid(X @ W1 + b1)
    p = ts.softmax(h @ W2 + b2)
    J = ts.negative(ts.reduce_sum(ts.reduce_sum(ts.multiply(c, ts.log(p)), axis=1)))
    table = ts.compute_gradients(J)
    return {X: X_value, c: c_value}, [J, p, *table.values()]


def test_compiled_equals_interpreter_on_the_mlp_forward_and_backward():
    feed, fetches = _mlp(7)
    compiled = ts.Session().run(fetches, feed)
    interpreted = ts.Session(backend="interpreter").run(fetches, feed)
    for a, b in zip(compiled, interpreted):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_compiled_equals_interpreter_with_consumers_at_different_depths():
    ts.Graph().as_default()
    x = ts.placeholder()
    s = ts.sigmoid(x)
    t = ts.tanh(s * x)
    J = ts.reduce_sum(x - s + t * x)
    fetches = list(ts.compute_gradients(J).values())
    feed = {x: np.linspace(-2, 2, 7)}
    for a, b in zip(ts.Session().run(fetches, feed), ts.Session(backend="interpreter").run(fetches, feed)):
        np.testing.assert_allclose(a, b, rtol=1e-13)


def test_group_and_train_ops_fetch_as_none():
    ts.Graph().as_default()
    v = ts.Variable(np.array(1.0))
    assert ts.Session().run(ts.group(ts.assign(v, 2.0))) is None


def test_the_program_cache_keeps_the_newest_programs(monkeypatch):
    import symslow.session

    monkeypatch.setattr(symslow.session, "MAX_PROGRAMS_PER_GRAPH", 3)
    graph = ts.Graph()
    graph.as_default()
    x = ts.placeholder()
    y = x * 2
    session = ts.Session()
    for n in range(1, 6):  # five batch sizes: five programs, of which the graph keeps three
        np.testing.assert_array_equal(session.run(y, {x: np.ones(n)}), np.full(n, 2.0))
    assert len(graph.compile_cache) == 3
    np.testing.assert_array_equal(ts.Session().run(y, {x: np.ones(1)}), [2.0])  # an evicted one compiles again


def test_a_repeated_run_reads_the_values_fed_this_time():
    ts.Graph().as_default()
    x, y = ts.placeholder(name="x"), ts.placeholder(name="y")
    difference = x - y
    session = ts.Session()
    a, b = np.array([5.0, 6.0]), np.array([1.0, 2.0])
    for _ in range(2):  # the second run takes the remembered program
        np.testing.assert_array_equal(session.run(difference, {x: a, y: b}), [4.0, 4.0])
    np.testing.assert_array_equal(session.run(difference, {y: a, x: b}), [-4.0, -4.0])  # the other order
    a[:] = [10.0, 20.0]  # the same array, changed in place
    np.testing.assert_array_equal(session.run(difference, {x: a, y: b}), [9.0, 18.0])
    np.testing.assert_array_equal(session.run([[difference], difference], {x: a, y: b})[0][0], [9.0, 18.0])


def test_a_repeated_run_checks_each_new_shape_and_dtype():
    ts.Graph().as_default()
    x = ts.placeholder(ts.float64, shape=(None, 2), name="x")
    n = ts.placeholder(ts.int64, name="n")
    double, successor = x * 2, n + 1
    session = ts.Session()
    for _ in range(2):
        np.testing.assert_array_equal(session.run(double, {x: np.ones((3, 2))}), np.full((3, 2), 2.0))
        assert session.run(successor, {n: np.array(4)}) == 5
    with pytest.raises(ts.errors.InvalidArgumentError, match=r"placeholder 'x' has shape \(3, 3\)"):
        session.run(double, {x: np.ones((3, 3))})
    with pytest.raises(ts.errors.InvalidArgumentError, match="placeholder 'n'"):
        session.run(successor, {n: np.array(4.5)})


def test_a_failing_remembered_run_names_the_node_and_changes_no_variable():
    ts.Graph().as_default()
    table = ts.Variable(np.array([[1.0, 2.0], [3.0, 4.0]]), name="table")
    rows = ts.placeholder(ts.int64, shape=(2,), name="rows")
    picked = ts.gather(table, rows, name="picked")
    train = ts.train.GradientDescentOptimizer(0.5).minimize(ts.reduce_sum(picked))
    session = ts.Session()
    for _ in range(2):  # the first run, and the remembered one
        session.run(train, {rows: np.array([0, 0])})
    np.testing.assert_array_equal(session.run(table), [[-1.0, 0.0], [3.0, 4.0]])  # picked twice a run: 2 x 0.5 x 2
    with pytest.raises(ts.errors.InvalidArgumentError, match="picked"):
        session.run(train, {rows: np.array([1, 5])})  # the same shape and dtype, an index out of range
    np.testing.assert_array_equal(session.run(table), [[-1.0, 0.0], [3.0, 4.0]])


def test_a_variable_assigned_a_fed_array_keeps_its_own_copy():
    ts.Graph().as_default()
    x = ts.placeholder(ts.float64, shape=(2, 2), name="x")
    v, w = ts.Variable(np.zeros((2, 2))), ts.Variable(np.zeros(4))
    store = ts.group(ts.assign(v, x), ts.assign(w, ts.reshape(x, (4,))))
    session = ts.Session()
    fed = np.array([[1.0, 2.0], [3.0, 4.0]])
    for _ in range(2):  # the first run and the remembered one
        session.run(store, {x: fed})
        fed[0, 0] = -1.0  # the caller changes its array afterwards
        np.testing.assert_array_equal(session.run(v), [[1.0, 2.0], [3.0, 4.0]])
        np.testing.assert_array_equal(session.run(w), [1.0, 2.0, 3.0, 4.0])
        fed[0, 0] = 1.0


def test_reductions_over_short_axes_are_written_out_for_numpy():
    ts.Graph().as_default()
    for classes in range(1, 7):
        z = ts.placeholder(ts.float64, shape=(None, classes), name="z")
        loss = ts.reduce_sum(ts.log(ts.softmax(z)), axis=1)
        session = ts.Session()
        logits = np.random.default_rng(classes).normal(size=(5, classes))
        expected = np.sum(logits - logits.max(axis=1, keepdims=True), axis=1) - classes * np.log(
            np.exp(logits - logits.max(axis=1, keepdims=True)).sum(axis=1))
        np.testing.assert_allclose(session.run(loss, {z: logits}), expected, rtol=1e-12)
        source = session.source(loss, {z: logits})
        written_out = 2 <= classes <= 4  # NumPy's reduce costs more than a few elementwise calls on short axes
        assert ("numpy.maximum(" in source) == written_out and (".max(" in source) != written_out, source
