"""Data-parallel training: W4, the MNIST-sized MLP, split over 1, 2 and 4 devices by ``Session(devices=...)``.

The program is W4's (``bench/run.py``): float32, 784 → 256 ReLU → 256 ReLU → 10, the batch mean of the log-softmax
cross-entropy, gradient descent (rate 0.1), N = 256, written as a TensorFlow 1 user writes it. It runs in a plain
one-device JAX session and in data-parallel sessions of 1, 2 and 4 devices, its feeds laid out once
(``symslow.distribute.place``) as a training loop with a prefetching input pipeline feeds them.

On CPU the devices are simulated (``XLA_FLAGS=--xla_force_host_platform_device_count=4``, set by this script before
JAX starts): they share the same cores, so the figures are **not a speed-up** but what splitting costs (partitioning,
the all-reduce of the gradients, four programs in place of one) and a check that the split step is the same step:
the Variables after 10 float64 steps, against the one-device session's. The implementations are timed in rounds that
interleave them, as ``bench/run.py`` does; the time per step is the median over rounds, in wall-clock time (what a
user waits for) and in the process's CPU time (all its threads: the work done).

On a machine with several GPUs the same script runs the same program on real devices: ``--platform gpu`` uses 1,
2, 4, ... devices up to all of them (``pip install -U "jax[cuda12]"`` first); give a larger ``--batch`` there, since
256 rows split eight ways leave each GPU little to do.

Run it with ``make bench`` (after ``bench/run.py``), or directly::

    bench/.venv/bin/python bench/distributed.py [--platform cpu|gpu] [--batch 256] [--rounds 7] [--steps 20]
        [--results FILE]

It rewrites the part of RESULTS.md between its own markers and keeps the rest.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import sys
import time
from pathlib import Path

SIMULATED = 4  # CPU devices simulated by XLA


def _set_platform(argv: list[str]) -> str:
    """The platform asked for, with XLA's flags set for it before JAX is imported."""
    name = "gpu" if "--platform" in argv and argv[argv.index("--platform") + 1] == "gpu" else "cpu"
    if name == "cpu":
        os.environ.setdefault("JAX_PLATFORMS", "cpu")
        # first: XLA reads no flag after a word it does not parse (make bench's "intra_op_parallelism_threads=1")
        flags = os.environ.get("XLA_FLAGS", "")
        os.environ["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={SIMULATED} {flags}".strip()
    return name


PLATFORM = _set_platform(sys.argv)

import jax  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import symslow as ts  # noqa: E402
from symslow import distribute  # noqa: E402

SIZES = [784, 256, 256, 10]
BEGIN = "<!-- distributed results:begin (written by bench/distributed.py) -->"
END = "<!-- distributed results:end -->"


def program(dtype, params: list[np.ndarray]):
    """W4's TensorFlow 1 program in a new graph: (graph, [x, y], loss, training op, Variables)."""
    graph = ts.Graph()
    with graph.as_default():
        x = ts.placeholder(dtype, [None, SIZES[0]], name="x")
        y = ts.placeholder(dtype, [None, SIZES[-1]], name="y")
        weights = [ts.Variable(p.astype(dtype), name=f"{'Wb'[k % 2]}{k // 2}") for k, p in enumerate(params)]
        h = x
        for k in range(0, len(weights), 2):
            h = ts.matmul(h, weights[k]) + weights[k + 1]
            if k + 2 < len(weights):
                h = ts.nn.relu(h)
        loss = ts.reduce_mean(-ts.reduce_sum(y * ts.nn.log_softmax(h), axis=1))
        train = ts.train.GradientDescentOptimizer(0.1).minimize(loss)
    return graph, [x, y], loss, train, weights


def data(batch: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Glorot-uniform weights, zero biases, pixels in [0, 1) and one-hot labels, all float64."""
    rng = np.random.default_rng(0)
    params = []
    for m, n in zip(SIZES[:-1], SIZES[1:]):
        limit = np.sqrt(6 / (m + n))
        params += [rng.uniform(-limit, limit, (m, n)), np.zeros(n)]
    return params, [rng.random((batch, SIZES[0])), np.eye(SIZES[-1])[rng.integers(0, SIZES[-1], batch)]]


def sessions(counts: list[int]) -> list[tuple[str, dict]]:
    return [("one device, no mesh", {"backend": "jax"})] + [
        (f"{n} device{'s' * (n > 1)}", {"backend": "jax", "devices": n}) for n in counts]


class Timed:
    """One session training W4: a step, and the wait for its new values."""

    def __init__(self, name: str, options: dict, params, arrays, dtype):
        self.name = name
        graph, fed, self.loss, self.train, self.weights = program(dtype, params)
        with graph.as_default():
            self.session = ts.Session(**options)
            feed = dict(zip(fed, [a.astype(dtype) for a in arrays]))
            self.feed = distribute.place(self.session, feed) if "devices" in options else \
                {p: jax.device_put(v) for p, v in feed.items()}
            start = time.perf_counter()
            self.step()
            self.sync()
            self.setup = time.perf_counter() - start  # compile and the first step
        self.wall: list[float] = []
        self.cpu: list[float] = []

    def step(self) -> None:
        self.session.run(self.train, self.feed)

    def sync(self) -> None:
        jax.block_until_ready(list(self.session._values.values()))


def agreement(counts: list[int], params, arrays, steps: int = 10) -> dict[str, float]:
    """For each session: the largest difference of its Variables from the one-device session's after ``steps``
    float64 steps, relative to each Variable's largest value."""
    finals = {}
    for name, options in sessions(counts):
        graph, fed, _, train, weights = program(np.float64, params)
        with graph.as_default():
            sess = ts.Session(**options)
            for _ in range(steps):
                sess.run(train, dict(zip(fed, arrays)))
            finals[name] = list(sess.variable_values(weights).values())
    reference = finals[sessions(counts)[0][0]]
    return {name: max(float(np.max(np.abs(a - b)) / np.max(np.abs(b))) for a, b in zip(values, reference))
            for name, values in finals.items()}


def measure(counts: list[int], batch: int, rounds: int, steps: int) -> tuple[list[Timed], dict[str, float]]:
    params, arrays = data(batch)
    timed = [Timed(name, options, params, arrays, np.float32) for name, options in sessions(counts)]
    for _ in range(rounds):  # interleaved: load from elsewhere hits every session alike
        for t in timed:
            wall, cpu = time.perf_counter(), time.process_time()
            for _ in range(steps):
                t.step()
            t.sync()
            t.wall.append((time.perf_counter() - wall) / steps)
            t.cpu.append((time.process_time() - cpu) / steps)
    return timed, agreement(counts, params, arrays)


def report(timed: list[Timed], agree: dict[str, float], batch: int, rounds: int, steps: int) -> str:
    devices = jax.devices()
    kind = f"{SIMULATED} simulated CPU devices" if PLATFORM == "cpu" else f"{len(devices)} × {devices[0].device_kind}"
    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    base = statistics.median(timed[0].wall)
    lines = [
        f"Measured {date} on {cpu}, {os.cpu_count()} logical cores, with {kind}; JAX {jax.__version__}, "
        f"symslow {ts.__version__}; XLA_FLAGS={os.environ.get('XLA_FLAGS', '')!r}.", "",
        f"W4 (float32 MLP 784 → 256 ReLU → 256 ReLU → 10, N = {batch}, gradient descent), the median over "
        f"{rounds} rounds of {steps} steps; the agreement is of the Variables after 10 float64 steps.", "",
        "| session | wall ms per step | samples per s (wall) | wall time / one device | CPU ms per step "
        "(all threads) | Variables vs one device (max. relative difference, float64) | compile and first step (s) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for t in timed:
        wall, cpu_time = statistics.median(t.wall), statistics.median(t.cpu)
        lines.append(f"| {t.name} | {wall * 1e3:.3f} | {batch / wall:,.0f} | {wall / base:.2f} | "
                     f"{cpu_time * 1e3:.3f} | {agree[t.name]:.1e} | {t.setup:.2f} |")
    return "\n".join(lines) + "\n"


def write_results(path: Path, text: str) -> None:
    """Replace the part of ``path`` between this script's markers (or add it at the end)."""
    block = f"{BEGIN}\n{text}{END}"
    old = path.read_text() if path.exists() else "# Benchmark results\n"
    if BEGIN in old and END in old:
        head, rest = old.split(BEGIN, 1)
        path.write_text(head + block + rest.split(END, 1)[1])
    else:
        path.write_text(f"{old.rstrip()}\n\n{block}\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--platform", choices=["cpu", "gpu"], default="cpu",
                        help="cpu: 4 simulated devices (the default); gpu: the machine's GPUs")
    parser.add_argument("--batch", type=int, default=256, help="rows per step, split over the devices (256)")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--steps", type=int, default=20, help="steps per round")
    parser.add_argument("--results", type=Path, default=Path(__file__).with_name("RESULTS.md"),
                        help="where to write the table (the part between this script's markers is replaced)")
    args = parser.parse_args(argv)
    available = len(jax.devices())
    counts = [n for n in (1, 2, 4, 8, 16, 32, 64) if n <= available] if args.platform == "gpu" else [1, 2, 4]
    if args.platform == "gpu" and jax.devices()[0].platform != "gpu":
        parser.error(f"--platform gpu: JAX finds no GPU (its devices: {jax.devices()}).")
    if any(args.batch % n for n in counts):
        parser.error(f"--batch {args.batch} does not split evenly over {counts} devices.")
    timed, agree = measure(counts, args.batch, args.rounds, args.steps)
    text = report(timed, agree, args.batch, args.rounds, args.steps)
    print(text)
    write_results(args.results, text)
    print(f"wrote {args.results}")


if __name__ == "__main__":
    main()
