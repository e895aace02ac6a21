"""Benchmark: one training step (forward, backward, update) of three MLPs, symslow against the alternatives.

Every implementation is first checked to compute the same loss and gradients as hand-written NumPy, then timed in
one process, all held to one thread. Timing runs in rounds that interleave the implementations, so that load from
elsewhere on the machine hits them alike. Time is the process's CPU time (``time.process_time``), which leaves out
the time the process waits while other programs run on a shared machine; the reported time is the median over
rounds of the mean CPU time per step in a round. Run it with ``make bench`` (which makes ``bench/.venv`` with JAX, the
CPU build of PyTorch and TensorFlow's CPU build, used through its TensorFlow 1 API), or directly::

    OMP_NUM_THREADS=1 bench/.venv/bin/python bench/run.py [--quick] [--results bench/RESULTS.md]
"""

from __future__ import annotations

import os

# one thread for every library, set before any of them starts its thread pools
for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS",
                  "VECLIB_MAXIMUM_THREADS"):
    os.environ.setdefault(_variable, "1")
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")
os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up notices

import argparse  # noqa: E402
import datetime  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Callable  # noqa: E402

import numpy as np  # noqa: E402
import sympy  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import symslow as ts  # noqa: E402

try:
    import jax  # noqa: E402
    import jax.numpy as jnp  # noqa: E402

    jax.config.update("jax_enable_x64", True)
except ImportError:  # the jax rows are left out
    jax = None
try:
    import torch  # noqa: E402

    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
except ImportError:  # the torch rows are left out
    torch = None
try:
    import tensorflow as tf  # noqa: E402

    tf1 = tf.compat.v1
    tf1.disable_eager_execution()  # TensorFlow 1: build a graph, then run it in a Session
except ImportError:  # the TensorFlow 1 rows are left out
    tf = tf1 = None


# workloads -----------------------------------------------------------------------------------------------------------
@dataclass
class Workload:
    name: str
    title: str
    sizes: list[int]  # input, hidden..., classes
    batch: int
    learning_rate: float
    bare_placeholders: bool  # placeholder() with no shape, as the tutorial writes it
    rounds: int
    steps: int  # steps per round
    X: np.ndarray = field(init=False)
    c: np.ndarray = field(init=False)
    params: list[np.ndarray] = field(init=False)

    def __post_init__(self):
        rng = np.random.default_rng(len(self.sizes) * 1000 + self.batch)
        self.X = rng.standard_normal((self.batch, self.sizes[0]))
        self.c = np.eye(self.sizes[-1])[rng.integers(0, self.sizes[-1], self.batch)]
        self.params = []
        for fan_in, fan_out in zip(self.sizes[:-1], self.sizes[1:]):
            self.params += [rng.standard_normal((fan_in, fan_out)) / np.sqrt(fan_in), 0.1 * rng.standard_normal(fan_out)]


def workloads(quick: bool) -> list[Workload]:
    scale = 3 if quick else 1
    return [
        Workload("W1", "tutorial MLP 2 → 2 sigmoid → 2 softmax, N = 100", [2, 2, 2], 100, 0.03, True,
                 rounds=15 // scale, steps=300),
        Workload("W2", "MLP 784 → 256 → 256 → 10, N = 256", [784, 256, 256, 10], 256, 0.01, False,
                 rounds=9 // scale, steps=12),
        Workload("W3", "deep narrow MLP 32 → 20 × 32 → 10, N = 64", [32] + [32] * 20 + [10], 64, 0.01, False,
                 rounds=11 // scale, steps=60),
    ]


# implementations: each gives (one training step, a sync, loss-and-gradients at the current parameters, parameters) --
@dataclass
class Implementation:
    name: str
    step: Callable[[], None]
    sync: Callable[[], None]
    loss_and_grads: Callable[[], tuple[float, list[np.ndarray]]]
    params: Callable[[], list[np.ndarray]]
    setup_seconds: float = 0.0  # building, differentiating and compiling, up to the end of the first step


def _symslow(w: Workload, backend: str) -> Implementation:
    start = time.perf_counter()
    graph = ts.Graph()
    with graph.as_default():
        shape_x = None if w.bare_placeholders else (None, w.sizes[0])
        shape_c = None if w.bare_placeholders else (None, w.sizes[-1])
        X = ts.placeholder(ts.float64, shape=shape_x, name="X")
        c = ts.placeholder(ts.float64, shape=shape_c, name="c")
        variables, h = [], X
        for i in range(0, len(w.params), 2):
            W, b = ts.Variable(w.params[i], name=f"W{i // 2}"), ts.Variable(w.params[i + 1], name=f"b{i // 2}")
            variables += [W, b]
            a = ts.add(ts.matmul(h, W), b)
            h = ts.sigmoid(a) if i + 2 < len(w.params) else ts.softmax(a)
        J = ts.negative(ts.reduce_sum(ts.reduce_sum(ts.multiply(c, ts.log(h)), axis=1)))
        train = ts.train.GradientDescentOptimizer(w.learning_rate).minimize(J)
        session = ts.Session(backend=backend)
        # the JAX backend is fed arrays already on JAX's device, as the hand-written JAX step is
        feed = {X: jnp.asarray(w.X), c: jnp.asarray(w.c)} if backend == "jax" else {X: w.X, c: w.c}
        session.run(train, feed)
    setup = time.perf_counter() - start
    with graph.as_default():
        grads = ts.gradients(J, variables)

    def sync():
        if backend == "jax":
            jax.block_until_ready(list(session._values.values()))

    def loss_and_grads():
        loss, *values = session.run([J, *grads], feed)
        return float(loss), values

    return Implementation(f"symslow {backend}", lambda: session.run(train, feed), sync, loss_and_grads,
                          lambda: session.run(variables), setup)


def _numpy(w: Workload) -> Implementation:
    """Hand-written NumPy: forward, manual backward (dJ/dz = p - c for one-hot rows), in-place update."""
    params = [p.copy() for p in w.params]
    X, c, lr = w.X, w.c, w.learning_rate
    layers = len(params) // 2

    def forward_backward():
        hs = [X]
        for i in range(layers - 1):
            hs.append(1.0 / (1.0 + np.exp(-(hs[-1] @ params[2 * i] + params[2 * i + 1]))))
        z = hs[-1] @ params[-2] + params[-1]
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        p = e / e.sum(axis=1, keepdims=True)
        dz = p - c
        grads = [None] * len(params)
        for i in reversed(range(layers)):
            h = hs[i]
            grads[2 * i] = h.T @ dz
            grads[2 * i + 1] = dz.sum(axis=0)
            if i:
                dz = (dz @ params[2 * i].T) * h * (1.0 - h)
        return p, z, grads

    def step():
        _, _, grads = forward_backward()
        for param, grad in zip(params, grads):
            param -= lr * grad

    def loss_and_grads():
        p, z, grads = forward_backward()
        log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        return float(-np.sum(c * log_p)), grads

    start = time.perf_counter()
    step()
    return Implementation("hand-written NumPy", step, lambda: None, loss_and_grads, lambda: [p.copy() for p in params],
                          time.perf_counter() - start)


def _torch(w: Workload) -> Implementation:
    params = [torch.tensor(p, requires_grad=True) for p in w.params]
    X, c, lr = torch.tensor(w.X), torch.tensor(w.c), w.learning_rate
    layers = len(params) // 2

    def loss():
        h = X
        for i in range(layers - 1):
            h = torch.sigmoid(h @ params[2 * i] + params[2 * i + 1])
        z = h @ params[-2] + params[-1]
        return -(c * torch.log_softmax(z, dim=1)).sum()

    def step():
        loss().backward()
        with torch.no_grad():
            for p in params:
                p -= lr * p.grad
                p.grad = None

    def loss_and_grads():
        value = loss()
        value.backward()
        grads = [p.grad.numpy().copy() for p in params]
        for p in params:
            p.grad = None
        return float(value.detach()), grads

    start = time.perf_counter()
    step()
    return Implementation("PyTorch eager", step, lambda: None, loss_and_grads,
                          lambda: [p.detach().numpy().copy() for p in params], time.perf_counter() - start)


def _jax(w: Workload) -> Implementation:
    X, c, lr = jnp.asarray(w.X), jnp.asarray(w.c), w.learning_rate
    layers = len(w.params) // 2

    def loss(params, X, c):
        h = X
        for i in range(layers - 1):
            h = jax.nn.sigmoid(h @ params[2 * i] + params[2 * i + 1])
        z = h @ params[-2] + params[-1]
        return -jnp.sum(c * jax.nn.log_softmax(z, axis=1))

    value_and_grad = jax.jit(jax.value_and_grad(loss))

    @jax.jit
    def train(params, X, c):
        grads = jax.grad(loss)(params, X, c)
        return [p - lr * g for p, g in zip(params, grads)]

    state = {"params": [jnp.asarray(p) for p in w.params]}

    def step():
        state["params"] = train(state["params"], X, c)

    def loss_and_grads():
        value, grads = value_and_grad(state["params"], X, c)
        return float(value), [np.asarray(g) for g in grads]

    start = time.perf_counter()
    step()
    jax.block_until_ready(state["params"])
    return Implementation("hand-written JAX", step, lambda: jax.block_until_ready(state["params"]), loss_and_grads,
                          lambda: [np.asarray(p) for p in state["params"]], time.perf_counter() - start)


def _tf1(w: Workload) -> Implementation:
    """A TensorFlow 1 graph run by a ``Session``: placeholders, Variables, ``GradientDescentOptimizer.minimize``."""
    start = time.perf_counter()
    graph = tf1.Graph()
    with graph.as_default():
        X = tf1.placeholder(tf.float64, shape=None if w.bare_placeholders else (None, w.sizes[0]), name="X")
        c = tf1.placeholder(tf.float64, shape=None if w.bare_placeholders else (None, w.sizes[-1]), name="c")
        variables, h = [], X
        for i in range(0, len(w.params), 2):
            W, b = tf1.Variable(w.params[i], name=f"W{i // 2}"), tf1.Variable(w.params[i + 1], name=f"b{i // 2}")
            variables += [W, b]
            a = tf.add(tf.matmul(h, W), b)
            h = tf.sigmoid(a) if i + 2 < len(w.params) else a  # the last layer's h is the logits
        if w.bare_placeholders:  # the tutorial's form, as symslow is given it
            J = tf.negative(tf.reduce_sum(tf.reduce_sum(tf.multiply(c, tf.math.log(tf.nn.softmax(h))), axis=1)))
        else:  # as PyTorch and JAX compute it
            J = -tf.reduce_sum(c * tf.nn.log_softmax(h, axis=1))
        grads = tf1.gradients(J, variables)
        # a Python float would become a float32 constant (0.03 as 0.029999999329...): give the rate as float64
        rate = tf.constant(w.learning_rate, dtype=tf.float64)
        train = tf1.train.GradientDescentOptimizer(rate).minimize(J)
        init = tf1.global_variables_initializer()
    config = tf1.ConfigProto(intra_op_parallelism_threads=1, inter_op_parallelism_threads=1)
    session = tf1.Session(graph=graph, config=config)
    session.run(init)
    feed = {X: w.X, c: w.c}
    session.run(train, feed)
    setup = time.perf_counter() - start

    def loss_and_grads():
        loss, values = session.run([J, grads], feed)
        return float(loss), values

    return Implementation("TensorFlow 1 session", lambda: session.run(train, feed), lambda: None, loss_and_grads,
                          lambda: session.run(variables), setup)


def implementations(w: Workload) -> list[Implementation]:
    made = [_numpy(w), _symslow(w, "numpy")]
    if jax is not None:
        made += [_jax(w), _symslow(w, "jax")]
    if torch is not None:
        made.append(_torch(w))
    if tf1 is not None:
        made.append(_tf1(w))
    made.append(_symslow(w, "interpreter"))
    return made


# checking and timing -------------------------------------------------------------------------------------------------
def check_same(w: Workload, impls: list[Implementation]) -> None:
    """Every implementation computes the loss and gradients of hand-written NumPy, and takes the same step."""
    reference = impls[0]
    loss, grads = reference.loss_and_grads()
    params = reference.params()
    for impl in impls[1:]:
        other_loss, other_grads = impl.loss_and_grads()
        np.testing.assert_allclose(other_loss, loss, rtol=1e-9, err_msg=f"{w.name} {impl.name}: loss")
        for k, (a, b) in enumerate(zip(other_grads, grads)):
            np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-11, err_msg=f"{w.name} {impl.name}: gradient {k}")
        for k, (a, b) in enumerate(zip(impl.params(), params)):  # after the one step each took while set up
            np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12, err_msg=f"{w.name} {impl.name}: parameter {k}")


def time_steps(w: Workload, impls: list[Implementation]) -> dict[str, float]:
    """Median over rounds of the mean seconds per step; each round runs every implementation in turn."""
    for impl in impls:  # warm-up
        for _ in range(max(3, w.steps // 3)):
            impl.step()
        impl.sync()
    samples: dict[str, list[float]] = {impl.name: [] for impl in impls}
    for _ in range(w.rounds):
        for impl in impls:
            steps = w.steps if "interpreter" not in impl.name else max(2, w.steps // 4)
            start = time.process_time()
            for _ in range(steps):
                impl.step()
            impl.sync()
            samples[impl.name].append((time.process_time() - start) / steps)
    return {name: statistics.median(values) for name, values in samples.items()}


def compile_times(depths: list[int], repeats: int) -> list[dict]:
    """Seconds to build a W3-like MLP of each depth, derive its gradients and generate and load its code."""
    rows = []
    for depth in depths:
        best = None
        for _ in range(repeats):
            sympy.core.cache.clear_cache()  # cold, as for a new model in a new process: no SymPy results reused
            w = Workload(f"depth {depth}", "", [32] + [32] * depth + [10], 64, 0.01, False, 1, 1)
            graph = ts.Graph()
            with graph.as_default():
                t0 = time.process_time()
                X = ts.placeholder(ts.float64, shape=(None, 32), name="X")
                c = ts.placeholder(ts.float64, shape=(None, 10), name="c")
                h = X
                for i in range(0, len(w.params), 2):
                    a = ts.add(ts.matmul(h, ts.Variable(w.params[i])), ts.Variable(w.params[i + 1]))
                    h = ts.sigmoid(a) if i + 2 < len(w.params) else ts.softmax(a)
                J = ts.negative(ts.reduce_sum(ts.reduce_sum(ts.multiply(c, ts.log(h)), axis=1)))
                t1 = time.process_time()
                train = ts.train.GradientDescentOptimizer(0.01).minimize(J)
                t2 = time.process_time()
                ts.Session().source(train, {X: w.X, c: w.c})
                t3 = time.process_time()
            row = {"depth": depth, "nodes": len(graph.nodes), "build": t1 - t0, "gradients": t2 - t1,
                   "compile": t3 - t2, "total": t3 - t0}
            if best is None or row["total"] < best["total"]:
                best = row
        rows.append(best)
    return rows


# reporting -----------------------------------------------------------------------------------------------------------
def machine() -> dict[str, str]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {"Python": platform.python_version(), "NumPy": np.__version__, "SymPy": sympy.__version__,
                "symslow": ts.__version__}
    if jax is not None:
        versions["JAX"] = jax.__version__
    if torch is not None:
        versions["PyTorch"] = torch.__version__
    if tf is not None:
        versions["TensorFlow"] = tf.__version__
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{cpu}, {os.cpu_count()} logical cores, {platform.system()} {platform.release()}",
        "versions": ", ".join(f"{k} {v}" for k, v in versions.items()),
        "threads": "OMP/OpenBLAS/MKL = 1, XLA single-threaded Eigen, torch.set_num_threads(1)"
                   + (", TensorFlow intra- and inter-op threads = 1" if tf is not None else ""),
    }


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.4f}" if seconds < 1e-3 else f"{seconds * 1e3:.3f}" if seconds < 1e-2 else f"{seconds * 1e3:.2f}"


def report(results: list[tuple[Workload, dict[str, float], dict[str, float]]], compile_rows: list[dict],
           info: dict[str, str]) -> str:
    lines = [f"Measured {info['date']} on {info['machine']}.", "", f"Versions: {info['versions']}.",
             f"Threads: {info['threads']}.", ""]
    names = list(results[0][1])
    lines.append("### Median CPU time per training step (ms)")
    lines.append("")
    lines.append("| implementation | " + " | ".join(w.name for w, _, _ in results) + " |")
    lines.append("| --- | " + " | ".join("---:" for _ in results) + " |")
    for name in names:
        lines.append(f"| {name} | " + " | ".join(ms(t[name]) if name in t else "–" for _, t, _ in results) + " |")
    lines += ["", "### Ratios (lower is better for symslow)", ""]
    ratio_rows = [("symslow numpy / hand-written NumPy", "symslow numpy", "hand-written NumPy"),
                  ("symslow jax / hand-written JAX", "symslow jax", "hand-written JAX"),
                  ("symslow numpy / PyTorch eager", "symslow numpy", "PyTorch eager"),
                  ("symslow jax / PyTorch eager", "symslow jax", "PyTorch eager"),
                  ("symslow numpy / TensorFlow 1 session", "symslow numpy", "TensorFlow 1 session"),
                  ("symslow jax / TensorFlow 1 session", "symslow jax", "TensorFlow 1 session"),
                  ("TensorFlow 1 session / hand-written NumPy", "TensorFlow 1 session", "hand-written NumPy"),
                  ("symslow interpreter / symslow numpy", "symslow interpreter", "symslow numpy")]
    lines.append("| ratio | " + " | ".join(w.name for w, _, _ in results) + " |")
    lines.append("| --- | " + " | ".join("---:" for _ in results) + " |")
    for label, a, b in ratio_rows:
        cells = [f"{t[a] / t[b]:.2f}" if a in t and b in t else "–" for _, t, _ in results]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += ["", "### One-time cost: build, differentiate, compile and run the first step (s, wall clock)", ""]
    lines.append("| implementation | " + " | ".join(w.name for w, _, _ in results) + " |")
    lines.append("| --- | " + " | ".join("---:" for _ in results) + " |")
    for name in names:
        lines.append(f"| {name} | " + " | ".join(f"{s[name]:.3f}" if name in s else "–" for _, _, s in results) + " |")
    lines += ["", "### Compile time of W3-like MLPs by depth (CPU s, SymPy's cache cleared first; best of 3)", "",
              "| hidden layers | graph nodes | build | gradients | code generation | total | total / depth 10 |",
              "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    base = next((r["total"] for r in compile_rows if r["depth"] == 10), None)
    for r in compile_rows:
        scale = f"{r['total'] / base:.1f}" if base else "–"
        lines.append(f"| {r['depth']} | {r['nodes']} | {r['build']:.3f} | {r['gradients']:.3f} | {r['compile']:.3f} | "
                     f"{r['total']:.3f} | {scale} |")
    return "\n".join(lines) + "\n"


BEGIN, END = "<!-- results:begin (written by bench/run.py) -->", "<!-- results:end -->"


def write_results(path: Path, text: str) -> None:
    """Replace the generated part of RESULTS.md, keeping the hand-written text around it."""
    block = f"{BEGIN}\n{text}{END}"
    if path.exists() and BEGIN in (old := path.read_text()) and END in old:
        head, rest = old.split(BEGIN, 1)
        new = head + block + rest.split(END, 1)[1]
    else:
        new = f"# Benchmark results\n\n{block}\n"
    path.write_text(new)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds (a smoke run; noisier numbers)")
    parser.add_argument("--results", type=Path, default=Path(__file__).with_name("RESULTS.md"),
                        help="where to write the results (the generated part of the file is replaced)")
    parser.add_argument("--only", nargs="*", help="workloads to run (W1 W2 W3 compile); all by default")
    args = parser.parse_args(argv)
    only = set(args.only or ["W1", "W2", "W3", "compile"])

    info = machine()
    if tf1 is None:
        print("TensorFlow is not installed: the TensorFlow 1 session is skipped")
    print(f"{info['date']}\n{info['machine']}\n{info['versions']}\n{info['threads']}\n")
    results = []
    for w in workloads(args.quick):
        if w.name not in only:
            continue
        impls = implementations(w)
        check_same(w, impls)
        print(f"{w.name} ({w.title}): {len(impls)} implementations agree on loss, gradients and step")
        times = time_steps(w, impls)
        base = times["hand-written NumPy"]
        for name, t in times.items():
            print(f"  {name:22s} {ms(t):>9s} ms   x{t / base:5.2f} of hand-written NumPy")
        results.append((w, times, {impl.name: impl.setup_seconds for impl in impls}))
    compile_rows = compile_times([5, 10, 20, 40, 80], repeats=1 if args.quick else 3) if "compile" in only else []
    for r in compile_rows:
        print(f"  depth {r['depth']:3d}: {r['nodes']:5d} nodes, build {r['build']:.3f} s, gradients "
              f"{r['gradients']:.3f} s, code generation {r['compile']:.3f} s, total {r['total']:.3f} s")
    if results:
        text = report(results, compile_rows, info)
        print("\n" + text)
        write_results(args.results, text)
        print(f"wrote {args.results}")


if __name__ == "__main__":
    main()
