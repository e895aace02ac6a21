"""Data-parallel training (``Session(backend="jax", devices=...)``, symslow.distribute): the same graph, its batch
split over several devices or two processes, trains to the Variables a one-device run reaches.

The runs on several devices are subprocesses running this file as a script: the simulated CPU devices
(``XLA_FLAGS=--xla_force_host_platform_device_count=4``) exist only if the flag is set before jax is imported, and
this process has imported jax with one device. Results come back as ``.npz`` and JSON files, compared here.

A sum over a split batch is added in another order than on one device (each device sums its rows, then XLA's
all-reduce adds the devices' sums), so float64 results agree to rounding: 1e-12 relative to the largest value of each
Variable, not bit for bit.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import symslow as ts
from symslow import distribute

pytest.importorskip("jax", reason="the data-parallel session runs on JAX (pip install symslow[jax])")

HERE = Path(__file__).resolve()
PAGE = HERE.parent.parent / "docs" / "scaling_out.md"
TOLERANCE = 1e-12
STEPS = {"tutorial": 5, "mnist": 3}
CASES = [("tutorial", "sgd"), ("tutorial", "momentum"), ("tutorial", "adam"), ("mnist", "sgd"), ("mnist", "adam")]
SPLITS = {"tutorial": (2, 4), "mnist": (4,)}  # the device counts each model is split over
HOST_CASES = (("tutorial", "adam"), ("mnist", "momentum"))  # trained by two processes


# the models: built the same way in every process ------------------------------------------------------------------
def optimizer(model: str, name: str):
    """The optimizer ``name`` with a learning rate that lowers the loss of ``model`` at every step (the tutorial's
    loss is summed over 100 points, the MNIST-sized one is a mean)."""
    rate = {"sgd": 0.01, "momentum": 0.002, "adam": 0.01}[name] if model == "tutorial" else \
        {"sgd": 0.03, "momentum": 0.02, "adam": 0.0005}[name]
    if name == "momentum":
        return ts.train.MomentumOptimizer(rate, momentum=0.9)
    return {"sgd": ts.train.GradientDescentOptimizer, "adam": ts.train.AdamOptimizer}[name](rate)


def tutorial_data() -> tuple[np.ndarray, np.ndarray]:
    """Chapter 5's XOR-like clusters: 100 points, one-hot labels."""
    rng = np.random.default_rng(1)
    centres = np.repeat(np.array([[0, 0], [1, 1], [1, 0], [0, 1]], dtype=float), 25, axis=0)
    return centres + 0.2 * rng.standard_normal((100, 2)), np.repeat(np.eye(2), 50, axis=0)


def mnist_data(rows: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """MNIST-sized batches: 784 pixels in [0, 1), ten one-hot classes."""
    rng = np.random.default_rng(2)
    return rng.random((rows, 784)), np.eye(10)[rng.integers(0, 10, rows)]


def build(model: str, optimizer_name: str):
    """A graph of ``model`` trained by the optimizer: (graph, [X, c], loss, per-example output, training op)."""
    graph = ts.Graph()
    rng = np.random.default_rng(0)
    with graph.as_default():
        if model == "tutorial":  # chapter 5 as written: bare placeholders, sigmoid hidden layer, the summed loss
            X, c = ts.placeholder(name="X"), ts.placeholder(name="c")
            W1 = ts.Variable(rng.standard_normal((2, 2)), name="W_hidden")
            b1 = ts.Variable(rng.standard_normal(2), name="b_hidden")
            W2 = ts.Variable(rng.standard_normal((2, 2)), name="W_output")
            b2 = ts.Variable(rng.standard_normal(2), name="b_output")
            p = ts.softmax(ts.add(ts.matmul(ts.sigmoid(ts.add(ts.matmul(X, W1), b1)), W2), b2), name="p_output")
            J = ts.negative(ts.reduce_sum(ts.reduce_sum(ts.multiply(c, ts.log(p)), axis=1)), name="J")
        else:  # 784 → 256 relu → 256 relu → 10, the mean cross-entropy, as a TensorFlow 1 user writes it
            X = ts.placeholder(ts.float64, (None, 784), name="x")
            c = ts.placeholder(ts.float64, (None, 10), name="y")
            h = X
            for k, (m, n) in enumerate([(784, 256), (256, 256), (256, 10)]):
                W = ts.Variable(rng.standard_normal((m, n)) * np.sqrt(2 / m), name=f"W{k}")
                b = ts.Variable(0.1 * rng.standard_normal(n), name=f"b{k}")
                h = ts.matmul(h, W) + b
                if k < 2:
                    h = ts.nn.relu(h)
            p = h
            J = ts.reduce_mean(ts.nn.softmax_cross_entropy_with_logits(labels=c, logits=h), name="J")
        train = optimizer(model, optimizer_name).minimize(J)
    return graph, [X, c], J, p, train


def data(model: str) -> tuple[np.ndarray, np.ndarray]:
    return tutorial_data() if model == "tutorial" else mnist_data()


def relative(a: np.ndarray, b: np.ndarray) -> float:
    """The largest difference, relative to the largest magnitude of ``b`` (absolute where ``b`` is all zeros)."""
    difference, scale = np.max(np.abs(np.asarray(a) - b)), np.max(np.abs(b))
    return float(difference / scale if scale > 0 else difference)


# what the subprocesses run -----------------------------------------------------------------------------------------
def train(model: str, name: str, **options) -> dict[str, np.ndarray]:
    """The losses of STEPS[model] steps (each before its step) and then every Variable, the optimizer's slots too,
    trained in ``Session(**options)``."""
    graph, fed, J, _, step = build(model, name)
    feed = dict(zip(fed, data(model)))
    with graph.as_default():
        sess = ts.Session(**options)
        losses = [sess.run([J, step], feed)[0] for _ in range(STEPS[model])]
        values = sess.variable_values(ts.global_variables())
    return {"losses": np.array(losses), **{v.name: value for v, value in values.items()}}


def train_every_case(out: Path) -> None:
    for model, name in CASES:
        for n in SPLITS[model]:
            np.savez(out / f"{model}-{name}-{n}.npz", **train(model, name, backend="jax", devices=n))


def check_layout(out: Path) -> None:
    """How a 4-device session lays the step out, and how it refuses what it cannot split: findings as JSON."""
    import jax

    found: dict = {}
    graph, (X, c), J, p, train = build("mnist", "adam")
    xs, cs = mnist_data()
    with graph.as_default():
        sess = ts.Session(backend="jax", devices=4, to_numpy=False)
        sess.run(train, {X: xs, c: cs})
        per_example, loss, W0 = sess.run([p, J, graph.variables[0]], {X: xs, c: cs})
        found["devices"] = [d.id for d in sess.devices]
        found["per_example"] = [list(per_example.sharding.spec), len(per_example.sharding.device_set)]
        found["loss_replicated"] = bool(loss.is_fully_replicated)
        found["variables"] = [[len(v.sharding.device_set), bool(v.is_fully_replicated)]
                              for v in (sess._values[v] for v in ts.global_variables())]
        program = next(prog for prog in graph.compile_cache.values() if prog.updates and prog.placeholders)
        args = ([sess._parallel.feed(ph, v) for ph, v in zip(program.placeholders, (xs, cs))],
                [sess._values[v] for v in program.variables], program.device_constants)
        found["hlo_all_reduce"] = "all-reduce" in program.function.lower(*args).compile().as_text()
        placed = distribute.place(sess, {X: xs, c: cs})
        found["placed"] = [[list(placed[ph].sharding.spec), len(placed[ph].sharding.device_set)] for ph in (X, c)]
        found["placed_same_loss"] = float(sess.run(J, placed)) == float(sess.run(J, {X: xs, c: cs}))

        before = list(sess.variable_values(ts.global_variables()).values())
        try:
            sess.run(train, {X: xs[:62], c: cs[:62]})
        except ts.errors.InvalidArgumentError as error:
            found["uneven"] = str(error)
        after = list(sess.variable_values(ts.global_variables()).values())
        found["uneven_kept"] = all(np.array_equal(a, b) for a, b in zip(before, after))

        keep = ts.placeholder(ts.float64, name="keep_prob")
        dropped = ts.nn.dropout(X, keep, seed=1)
        loss2 = ts.reduce_mean(ts.square(ts.matmul(dropped, graph.variables[0])))
        train2 = ts.train.GradientDescentOptimizer(0.1).minimize(loss2)
        try:
            sess.run(train2, {X: xs, keep: 0.5})
        except ts.errors.InvalidArgumentError as error:
            found["refused"] = str(error)
        after = list(sess.variable_values(ts.global_variables()).values())
        found["refused_kept"] = all(np.array_equal(a, b) for a, b in zip(before, after))
        found["scalar_feed"] = float(sess.run(keep * 2, {keep: 0.25}))

        for bad in (5, [], ["cpu"], [jax.devices()[0]] * 2):
            try:
                ts.Session(backend="jax", devices=bad)
            except (TypeError, ValueError) as error:
                found.setdefault("bad_devices", []).append(f"{type(error).__name__}: {error}")

    # random initial values (a Glorot draw), global_variables_initializer and dropout's host draw on no feed
    values = {}
    for kind, options in (("one", {"backend": "jax"}), ("four", {"backend": "jax", "devices": 4})):
        g = ts.Graph()
        with g.as_default():
            ts.set_random_seed(7)
            x = ts.placeholder(ts.float64, (None, 5), name="x")
            y = ts.placeholder(ts.float64, (None, 1), name="y")
            out_ = ts.layers.dense(ts.layers.dense(x, 8, activation=ts.nn.relu), 1)
            step = ts.train.MomentumOptimizer(0.1, 0.9).minimize(ts.reduce_mean(ts.square(out_ - y)))
            sess = ts.Session(**options)
            sess.run(ts.global_variables_initializer())
            initial = list(sess.variable_values(ts.trainable_variables()).values())
            rng = np.random.default_rng(3)
            xs5, ys5 = rng.standard_normal((8, 5)), rng.standard_normal((8, 1))
            for _ in range(4):
                sess.run(step, {x: xs5, y: ys5})
            values[kind] = initial + list(sess.variable_values(ts.trainable_variables()).values())
    found["random_init"] = max(relative(a, b) for a, b in zip(values["four"], values["one"]))
    (out / "layout.json").write_text(json.dumps(found))


def run_the_pages_script(out: Path) -> None:
    """The first script of the "Scaling out" page, as it stands: what it prints."""
    script = PAGE.read_text(encoding="utf-8").split("```python\n", 1)[1].split("```", 1)[0]
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(script, str(PAGE), "exec"), {"__name__": "__main__"})
    (out / "page.txt").write_text(printed.getvalue())


def train_as_host(process_id: int, port: int, out: Path) -> None:
    """One of two processes joined by jax.distributed over the loopback address, each with 2 CPU devices and its
    half of the batch."""
    import jax

    jax.distributed.initialize(coordinator_address=f"127.0.0.1:{port}", num_processes=2, process_id=process_id,
                               initialization_timeout=60)
    results: dict = {"processes": jax.process_count(), "devices": len(jax.devices())}
    for model, name in HOST_CASES:
        graph, fed, J, p, train = build(model, name)
        arrays = data(model)
        half = len(arrays[0]) // 2
        mine = {ph: a[process_id * half:(process_id + 1) * half] for ph, a in zip(fed, arrays)}
        with graph.as_default():
            sess = ts.Session(backend="jax", devices=jax.devices())
            results[f"{model}-losses"] = np.array([sess.run([J, train], mine)[0] for _ in range(STEPS[model])])
            results[f"{model}-output"] = sess.run(p, mine)  # the whole batch's, gathered from both processes
            for v, value in sess.variable_values(ts.global_variables()).items():
                results[f"{model}-{v.name}"] = value
    g = ts.Graph()
    with g.as_default():  # no seed: each process draws its own value, and process 0's is every process's
        drawn = ts.Variable(ts.random_normal([3, 4], dtype=ts.float64), name="drawn")
        sess = ts.Session(backend="jax", devices=jax.devices())
        results["drawn"] = sess.variable_values([drawn])[drawn]
        sess.run(ts.global_variables_initializer())
        results["drawn-again"] = sess.variable_values([drawn])[drawn]
    np.savez(out / f"host{process_id}.npz", **results)


# the tests ---------------------------------------------------------------------------------------------------------
def _environment(devices: int) -> dict:
    flags = os.environ.get("XLA_FLAGS", "")
    return {**os.environ, "JAX_PLATFORMS": "cpu",
            "XLA_FLAGS": f"--xla_force_host_platform_device_count={devices} {flags}".strip()}  # first: see bench


def _start(*arguments: object, devices: int) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(HERE), *map(str, arguments)], env=_environment(devices),
                            cwd=HERE.parent, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _wait(processes: list[subprocess.Popen], seconds: float) -> None:
    """Wait for every process; on a failure or after ``seconds``, kill those still running and fail with their
    output."""
    deadline, logs = time.monotonic() + seconds, []
    try:
        for process in processes:
            logs.append(process.communicate(timeout=max(1.0, deadline - time.monotonic()))[0])
    except subprocess.TimeoutExpired:
        pytest.fail(f"the subprocesses did not finish in {seconds:.0f} s (a collective waiting for a peer that is "
                    "gone?)")
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.communicate()
    failed = [k for k, p in enumerate(processes) if p.returncode != 0]
    assert not failed, "\n\n".join(f"process {k} failed:\n{logs[k][-5000:]}" for k in failed)


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, dict]:
    """A subprocess with 4 CPU devices trains every case split over devices and checks the layout; meanwhile this
    process trains the one-device references: the JAX backend and the generated NumPy code."""
    out = tmp_path_factory.mktemp("data_parallel")
    child = _start("devices", out, devices=4)
    try:
        references = {(model, name, kind): train(model, name, **options) for model, name in CASES
                      for kind, options in (("jax", {"backend": "jax"}), ("numpy", {}))}
    finally:
        _wait([child], 300)
    return out, references


@pytest.mark.parametrize("model, name, devices", [(m, n, d) for m, n in CASES for d in SPLITS[m]],
                         ids=[f"{m}-{n}-{d}-devices" for m, n in CASES for d in SPLITS[m]])
def test_data_parallel_training_reaches_the_one_device_variables(trained, model, name, devices):
    out, references = trained
    split = np.load(out / f"{model}-{name}-{devices}.npz")
    one, numpy_code = references[model, name, "jax"], references[model, name, "numpy"]
    graph, *_ = build(model, name)
    initial = {v.name: np.asarray(v.initial_value) for v in graph.variables}
    assert sorted(split.files) == sorted(one) and len(one) >= 5
    for key, value in one.items():
        assert relative(split[key], value) <= TOLERANCE, (key, relative(split[key], value))
        assert relative(split[key], numpy_code[key]) <= TOLERANCE, (key, relative(split[key], numpy_code[key]))
        if key in initial:  # training moved every weight: the comparison is not of untouched values
            assert relative(value, initial[key]) > 1e-6, key
    assert np.all(np.diff(one["losses"]) < 0)  # the loss falls


@pytest.fixture(scope="module")
def layout(trained) -> dict:
    return json.loads((trained[0] / "layout.json").read_text())


def test_the_batch_is_split_and_the_variables_replicated(layout):
    assert len(layout["devices"]) == 4
    assert layout["per_example"] == [["batch"], 4]  # each device holds its rows' outputs
    assert layout["loss_replicated"]
    assert len(layout["variables"]) == 20 and all(v == [4, True] for v in layout["variables"])  # Adam's slots too
    assert layout["hlo_all_reduce"]  # the gradients' sum over the devices is XLA's


def test_a_batch_that_does_not_split_evenly_is_refused_and_changes_nothing(layout):
    message = layout["uneven"]
    assert "'x'" in message and "62 rows" in message and "4 devices" in message and "multiple of 4" in message
    assert layout["uneven_kept"]


def test_a_step_with_numpy_code_inside_is_refused_and_changes_nothing(layout):
    message = layout["refused"]
    assert "'dropout/random_uniform' (RandomUniform)" in message and "without devices=" in message
    assert layout["refused_kept"]
    assert layout["scalar_feed"] == 0.5  # a scalar placeholder is replicated


def test_bad_devices_are_named(layout):
    five, empty, text, twice = layout["bad_devices"]
    assert five.startswith("ValueError: devices=5: JAX has 4 device(s)") and "xla_force_host_platform" in five
    assert empty.startswith("ValueError") and text.startswith("TypeError") and "'cpu'" in text
    assert twice.startswith("ValueError") and "twice" in twice


def test_random_initial_values_and_the_initializer_run_as_on_one_device(layout):
    assert layout["random_init"] <= TOLERANCE


def test_feeds_placed_once_are_split_as_the_session_splits_them(layout):
    assert layout["placed"] == [[["batch"], 4], [["batch"], 4]] and layout["placed_same_loss"]


def test_the_scaling_out_page_prints_what_it_shows(trained):
    printed = (trained[0] / "page.txt").read_text().splitlines()
    shown = PAGE.read_text(encoding="utf-8").split("It prints\n\n```text\n", 1)[1].split("```", 1)[0].splitlines()
    assert printed[:2] == shown[:2] and printed[0].split(":")[1] == printed[1].split(":")[1]  # the same losses
    assert printed[2].startswith("largest relative difference: ") and float(printed[2].split(": ")[1]) <= TOLERANCE


def test_devices_need_the_jax_backend():
    with pytest.raises(ValueError, match="backend='jax'"):
        ts.Session(backend="numpy", devices=2)
    with pytest.raises(ValueError, match="data-parallel session"):
        distribute.place(ts.Session(backend="jax"), {})


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_processes_train_to_the_one_process_variables(tmp_path):
    """Two processes on the loopback address, as two hosts: each feeds half of the batch, and both end with the
    Variables one process reaches on the whole batch. Fails (never skips) if JAX cannot run collectives across
    processes on CPU."""
    hosts = [_start("host", tmp_path, port, k, devices=2) for port in [_free_port()] for k in range(2)]
    try:  # the one-process run, while the two train
        expected = {}
        for model, name in HOST_CASES:
            graph, (X, c), J, p, step = build(model, name)
            feed = dict(zip((X, c), data(model)))
            with graph.as_default():
                sess = ts.Session(backend="jax")
                expected[f"{model}-losses"] = np.array([sess.run([J, step], feed)[0] for _ in range(STEPS[model])])
                for v, value in sess.variable_values(ts.global_variables()).items():
                    expected[f"{model}-{v.name}"] = value
                expected[f"{model}-output"] = sess.run(p, feed)
    finally:
        _wait(hosts, 240)
    results = [np.load(tmp_path / f"host{k}.npz") for k in range(2)]
    assert all(r["processes"] == 2 and r["devices"] == 4 for r in results)
    for key, value in expected.items():
        for r in results:
            assert r[key].shape == value.shape, key
            assert relative(r[key], value) <= TOLERANCE, (key, relative(r[key], value))
        assert np.array_equal(results[0][key], results[1][key]), key  # one value, the same in both processes
    for key in ("drawn", "drawn-again"):  # unseeded draws: process 0's, in both
        assert np.array_equal(results[0][key], results[1][key]), key
    assert not np.array_equal(results[0]["drawn"], results[0]["drawn-again"])  # the initializer drew anew


if __name__ == "__main__":
    role, out = sys.argv[1], Path(sys.argv[2])
    if role == "devices":
        train_every_case(out)
        check_layout(out)
        run_the_pages_script(out)
    else:
        train_as_host(int(sys.argv[4]), int(sys.argv[3]), out)
