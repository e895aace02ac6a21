"""Threads: graph building with a default graph per thread, parallel Sessions, the shared compile cache, and one
session run by many threads (no update lost, reads of one moment)."""

from __future__ import annotations

import importlib
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import symslow as ts
import symslow.compiler

THREADS = 8


def _in_threads(function, count: int = THREADS) -> list:
    """Run ``function(i)`` in ``count`` threads started together; re-raise the first failure."""
    barrier = threading.Barrier(count)

    def start(i):
        barrier.wait()
        return function(i)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(start, range(count)))


def test_each_thread_builds_in_its_own_default_graph():
    main_graph = ts.get_default_graph()

    def build(i):
        graph = ts.Graph()
        graph.as_default()
        x = ts.placeholder(ts.float64, name="x")
        nodes = [x]
        for _ in range(50):
            nodes.append(ts.sigmoid(nodes[-1]) * float(i))
        y = nodes[-1]
        assert ts.get_default_graph() is graph and y.graph is graph
        expected = 0.5
        for _ in range(50):
            expected = 1 / (1 + np.exp(-expected)) * i
        return graph, [n.name for n in graph.nodes], float(ts.Session(graph=graph).run(y, {x: 0.5})), expected

    results = _in_threads(build)
    assert ts.get_default_graph() is main_graph  # other threads' defaults did not leak into this one
    graphs = {id(graph) for graph, _, _, _ in results}
    assert len(graphs) == THREADS
    names = [names for _, names, _, _ in results]
    assert all(n == names[0] for n in names)  # each graph named its nodes the same way, from its own counter
    assert len(names[0]) == len(set(names[0]))
    for _, _, value, expected in results:
        assert np.isclose(value, expected, rtol=1e-12)


def test_threads_adding_to_one_graph_get_unique_names_and_ids():
    graph = ts.Graph()
    with graph.as_default():
        x = ts.placeholder(ts.float64, name="x")

    def build(i):
        made = []
        with graph.name_scope(f"thread{i}"):
            for _ in range(40):
                made.append(ts.add(x, float(i), name="add"))
        return made

    made = [node for nodes in _in_threads(build) for node in nodes]
    names = [node.name for node in graph.nodes]
    assert len(names) == len(set(names)) == 1 + THREADS * 40 * 2  # each add and its constant

    def collide(i):  # every thread asks for the same name at once
        return [ts.identity(x, name="same") for _ in range(40)]

    same = [node.name for nodes in _in_threads(collide) for node in nodes]
    assert sorted(same) == sorted(["same"] + [f"same_{k}" for k in range(1, THREADS * 40)])
    assert all(graph.get_node(name).name == name for name in same)
    assert [node.id for node in graph.nodes] == list(range(len(graph.nodes)))
    for node in made:  # each thread's name scope stayed its own
        i = int(node.name.split("/")[0].removeprefix("thread"))
        assert node.name.startswith(f"thread{i}/add")
        assert float(ts.Session(graph=graph).run(node, {x: 1.0})) == 1.0 + i


def test_parallel_sessions_on_one_graph_keep_their_own_variables():
    graph = ts.Graph()
    with graph.as_default():
        x = ts.placeholder(ts.float64, shape=(None,), name="x")
        w = ts.Variable(np.array(0.0), name="w")
        loss = ts.reduce_mean(ts.square(w - x))
        train = ts.train.GradientDescentOptimizer(0.1).minimize(loss)

    def train_towards(i):
        session = ts.Session(graph=graph)
        target = float(i)
        for _ in range(100):
            session.run(train, {x: [target, target]})
        return session.run(w)

    finals = _in_threads(train_towards)
    for i, final in enumerate(finals):
        expected = i * (1 - 0.8**100)  # w ← w - 0.1 · 2 (w - i) from w = 0
        np.testing.assert_allclose(final, expected, rtol=1e-12)


def test_compile_cache_compiles_once_under_threads(monkeypatch):
    graph = ts.Graph()
    with graph.as_default():
        x = ts.placeholder(ts.float64, shape=(None,), name="x")
        y = ts.reduce_sum(ts.tanh(x) * ts.sigmoid(x))
        (dy,) = ts.gradients(y, [x])
    calls = []
    original = symslow.compiler.compile_program

    def counting(*args, **kwargs):
        calls.append(threading.get_ident())
        return original(*args, **kwargs)

    monkeypatch.setattr(symslow.compiler, "compile_program", counting)
    values = np.linspace(-2, 2, 5)

    def run(i):
        return ts.Session(graph=graph).run([y, dy], {x: values + i})

    results = _in_threads(run)
    assert len(calls) == 1  # one compilation, shared by every thread
    assert len(graph.compile_cache) == 1
    for i, (value, grad) in enumerate(results):
        v = values + i
        s = 1 / (1 + np.exp(-v))
        np.testing.assert_allclose(value, np.sum(np.tanh(v) * s), rtol=1e-12)
        np.testing.assert_allclose(grad, (1 - np.tanh(v) ** 2) * s + np.tanh(v) * s * (1 - s), rtol=1e-12)


def test_one_session_compiling_many_programs_from_many_threads():
    graph = ts.Graph()
    with graph.as_default():
        x = ts.placeholder(ts.float64, shape=(None,), name="x")
        w = ts.Variable(np.array(1.5), name="w")
        outputs = [ts.reduce_sum(ts.exp(x * float(k)) * w) for k in range(THREADS)]
    session = ts.Session(graph=graph)
    values = np.array([0.1, -0.3])

    def run(i):  # every thread needs a program of its own, and all share one session and one cache
        return [float(session.run(outputs[(i + j) % THREADS], {x: values})) for j in range(THREADS)]

    results = _in_threads(run)
    assert len(graph.compile_cache) == THREADS
    for i, got in enumerate(results):
        expected = [1.5 * np.sum(np.exp(values * ((i + j) % THREADS))) for j in range(THREADS)]
        np.testing.assert_allclose(got, expected, rtol=1e-12)


# one session, many threads: runs that assign take turns, runs that read go on together ----------------------------
def _backend(name: str):
    """A pytest parameter for a backend, skipped where its package (or GPU) is missing."""
    reason = None
    if name in ("jax", "cupy"):
        try:
            module = importlib.import_module(name)
            if name == "cupy" and module.cuda.runtime.getDeviceCount() < 1:
                reason = "CuPy finds no CUDA GPU"
        except Exception as error:  # not installed, or no driver
            reason = f"{name} cannot run here ({type(error).__name__})"
    return pytest.param(name, id=name, marks=[pytest.mark.skip(reason=reason)] if reason else [])


SHARED_BACKENDS = [_backend(name) for name in ("numpy", "interpreter", "jax", "cupy")]
STEPS = 200


@pytest.mark.parametrize("dtype", [None, ts.float32], ids=["own-dtypes", "float32-session"])
@pytest.mark.parametrize("backend", SHARED_BACKENDS)
def test_threads_adding_to_one_variable_lose_no_update(backend, dtype):
    graph = ts.Graph()
    with graph.as_default():
        count = ts.Variable(np.float64(0.0), name="count")
        steps = ts.Variable(np.int64(0), name="steps")
        increment = ts.group(ts.assign_add(count, 1.0), ts.assign_add(steps, 1))
    session = ts.Session(graph=graph, backend=backend, dtype=dtype)
    _in_threads(lambda i: [session.run(increment) for _ in range(STEPS)], count=4)
    assert float(session.run(count)) == 4 * STEPS  # each run read the value the one before it committed
    assert int(session.run(steps)) == 4 * STEPS


@pytest.mark.parametrize("backend", SHARED_BACKENDS)
def test_threads_training_one_session_take_every_step(backend):
    """Gradient descent on a fixed batch: every step is the same map w -> w - lr ∇L(w), so four threads taking 200
    steps each must end where 800 steps in one thread end, to the last bit."""
    graph = ts.Graph()
    with graph.as_default():
        x = ts.placeholder(ts.float64, shape=(None, 2), name="x")
        y = ts.placeholder(ts.float64, shape=(None,), name="y")
        w = ts.Variable(np.array([0.3, -0.2]), name="w")
        b = ts.Variable(np.float64(0.5), name="b")
        loss = ts.reduce_mean(ts.square(ts.reduce_sum(x * w, axis=1) + b - y))
        train = ts.train.GradientDescentOptimizer(0.01).minimize(loss)
    rng = np.random.RandomState(0)
    inputs = rng.randn(8, 2)
    targets = inputs @ np.array([1.0, 2.0]) - 1.0
    feed = {x: inputs, y: targets}
    shared = ts.Session(graph=graph, backend=backend)
    _in_threads(lambda i: [shared.run(train, feed) for _ in range(STEPS)], count=4)

    # the reference: the same 800 steps in NumPy, one after the other
    w_ref, b_ref = np.array([0.3, -0.2]), 0.5
    for _ in range(4 * STEPS):
        residual = inputs @ w_ref + b_ref - targets
        w_ref, b_ref = w_ref - 0.01 * (2 * residual @ inputs / 8), b_ref - 0.01 * (2 * residual.mean())
    got_w, got_b = shared.run([w, b])
    np.testing.assert_allclose(got_w, w_ref, rtol=1e-12)
    np.testing.assert_allclose(got_b, b_ref, rtol=1e-12)
    single = ts.Session(graph=graph, backend=backend)
    for _ in range(4 * STEPS):
        single.run(train, feed)
    assert np.array_equal(got_w, single.run(w)) and got_b == single.run(b)


@pytest.mark.parametrize("backend", SHARED_BACKENDS)
def test_reading_threads_see_the_values_of_one_moment(backend):
    """One run moves 1 from ``a`` to ``b``; runs reading both, meanwhile, always find a + b == 10."""
    graph = ts.Graph()
    with graph.as_default():
        a = ts.Variable(np.float64(10.0), name="a")
        b = ts.Variable(np.float64(0.0), name="b")
        move = ts.group(ts.assign_sub(a, 1.0), ts.assign_add(b, 1.0))
        total = a + b
    session = ts.Session(graph=graph, backend=backend)

    def work(i):
        if i == 0:
            for _ in range(STEPS):
                session.run(move)
            return []
        return [session.run([a, b, total]) for _ in range(STEPS)]

    reads = [read for reads in _in_threads(work, count=4) for read in reads]
    assert all(float(ra) + float(rb) == 10.0 and float(rt) == 10.0 for ra, rb, rt in reads)
    assert float(session.run(a)) == 10.0 - STEPS and float(session.run(b)) == STEPS


class _waits_for(ts.Operation):
    """``x`` itself, once ``released`` is set (``entered`` says the run got here): a run held up mid-way."""

    def __init__(self, x, entered: threading.Event, released: threading.Event):
        self.entered, self.released = entered, released
        super().__init__([x])

    def compute(self, x):
        self.entered.set()
        if not self.released.wait(timeout=30):
            raise TimeoutError("the other run never came")
        return x


@pytest.mark.parametrize("backend", [p for p in SHARED_BACKENDS if p.values[0] in ("numpy", "interpreter")])
def test_a_read_goes_on_while_an_assigning_run_computes(backend):
    graph = ts.Graph()
    entered, released = threading.Event(), threading.Event()
    with graph.as_default():
        w = ts.Variable(np.float64(1.0), name="w")
        other = ts.Variable(np.float64(5.0), name="other")
        slow_update = ts.assign(w, _waits_for(w, entered, released) + 1.0)
        read = other * 2.0
    session = ts.Session(graph=graph, backend=backend)
    session.run([w, other])

    def update():
        return session.run(slow_update)

    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(update)
        assert entered.wait(timeout=30)  # the assigning run has read w and is computing
        assert float(session.run(read)) == 10.0  # not held up by the assigning run, which waits for this one
        assert float(session.run(w)) == 1.0  # the value before: the assigning run has not committed yet
        released.set()
        assert float(pending.result(timeout=60)) == 2.0
    assert float(session.run(w)) == 2.0
