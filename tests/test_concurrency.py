"""Threads: graph building with a default graph per thread, parallel Sessions, and the shared compile cache."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

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
