"""Time to the first ``Session.run`` result of one deep graph, in a process of its own.

``bench/run.py`` runs this script once per graph and implementation, with a timeout, so that a failure (an error,
a crash, a hang) becomes a cell of its table rather than the end of the benchmark. It can be run alone::

    OMP_NUM_THREADS=1 bench/.venv/bin/python bench/deep_graphs.py chain 2000 numpy
    OMP_NUM_THREADS=1 bench/.venv/bin/python bench/deep_graphs.py mlp 200 tf1 [CPU_SECONDS]

The graphs (float64, N = 8 rows of width 16), written once for symslow and for TensorFlow's ``tf.compat.v1``:

- ``chain SIZE``: SIZE elementwise ops in turn ``tanh``, ``sin``, ``* 0.9``, ``+ 0.1``, then ``reduce_sum``; the run
  fetches the sum and its gradient with respect to the input;
- ``mlp SIZE``: 16 → SIZE sigmoid layers of 16 → 10, log-softmax cross-entropy, one ``GradientDescentOptimizer``
  step; the run fetches the training op and the loss.

The clock starts before the graph is built (after the imports) and stops when the run has returned its result. The
script prints one line of JSON: ``{"seconds": ..., "cpu_seconds": ..., "nodes": ...}``, or, when building or running
fails, ``{"error": "RecursionError", "message": "..."}`` and exits with status 1. With CPU_SECONDS the process
is stopped by SIGXCPU once it has used that much CPU time (the imports included).
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from pathlib import Path

# one thread, as in bench/run.py (set before NumPy starts its thread pool)
for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS",
                  "VECLIB_MAXIMUM_THREADS"):
    os.environ.setdefault(_variable, "1")
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")
os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

CASES = ("chain", "mlp")
IMPLEMENTATIONS = ("numpy", "jax", "tf1")  # symslow's backends, and a TensorFlow 1 session
WIDTH, BATCH, CLASSES = 16, 8, 10


def build(tf, case: str, size: int) -> tuple[list, dict]:
    """The graph ``case`` of ``size`` in the default graph of ``tf`` (symslow or ``tf.compat.v1``): fetches, feed."""
    rng = np.random.default_rng(size)
    x = tf.placeholder(tf.float64, [None, WIDTH], name="x")
    X = rng.standard_normal((BATCH, WIDTH))
    if case == "chain":
        y = x
        for i in range(size):
            kind = i % 4
            if kind == 0:
                y = tf.tanh(y)
            elif kind == 1:
                y = tf.sin(y)
            elif kind == 2:
                y = y * 0.9
            else:
                y = y + 0.1
        J = tf.reduce_sum(y)
        return [J, tf.gradients(J, [x])[0]], {x: X}
    labels = tf.placeholder(tf.float64, [None, CLASSES], name="labels")
    h, fan_in = x, WIDTH
    for layer in range(size + 1):
        fan_out = CLASSES if layer == size else WIDTH
        W = tf.Variable(rng.standard_normal((fan_in, fan_out)) / np.sqrt(fan_in))
        b = tf.Variable(0.1 * rng.standard_normal(fan_out))
        h = tf.matmul(h, W) + b
        if layer < size:
            h = tf.sigmoid(h)
        fan_in = fan_out
    J = tf.reduce_mean(-tf.reduce_sum(labels * tf.nn.log_softmax(h), axis=1))
    train = tf.train.GradientDescentOptimizer(0.01).minimize(J)
    return [train, J], {x: X, labels: np.eye(CLASSES)[rng.integers(0, CLASSES, BATCH)]}


def first_result(case: str, size: int, implementation: str) -> dict:
    """Build the graph, make a session and run it once; seconds from the start of the build to the result."""
    if implementation == "tf1":
        import tensorflow

        tf = tensorflow.compat.v1
        tf.disable_eager_execution()
        start, cpu = time.perf_counter(), time.process_time()
        graph = tf.Graph()
        with graph.as_default():
            fetches, feed = build(tf, case, size)
            init = tf.global_variables_initializer()
        config = tf.ConfigProto(intra_op_parallelism_threads=1, inter_op_parallelism_threads=1)
        session = tf.Session(graph=graph, config=config)
        session.run(init)
        session.run(fetches, feed)
        nodes = len(graph.get_operations())
    else:
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
        if implementation == "jax":
            import jax

            jax.config.update("jax_enable_x64", True)
        import symslow as tf

        start, cpu = time.perf_counter(), time.process_time()
        graph = tf.Graph()
        with graph.as_default():
            fetches, feed = build(tf, case, size)
            session = tf.Session(backend=implementation)
            session.run(tf.global_variables_initializer())
            session.run(fetches, feed)
        nodes = len(graph.nodes)
    return {"seconds": time.perf_counter() - start, "cpu_seconds": time.process_time() - cpu, "nodes": nodes}


def main(argv: list[str]) -> int:
    if (len(argv) not in (3, 4) or argv[0] not in CASES or not argv[1].isdigit() or argv[2] not in IMPLEMENTATIONS
            or len(argv) == 4 and not argv[3].replace(".", "", 1).isdigit()):
        print(f"usage: deep_graphs.py {{{','.join(CASES)}}} SIZE {{{','.join(IMPLEMENTATIONS)}}} [CPU_SECONDS]",
              file=sys.stderr)
        return 2
    if len(argv) == 4:
        limit = max(1, round(float(argv[3])))
        resource.setrlimit(resource.RLIMIT_CPU, (limit, limit + 5))
    try:
        result = first_result(argv[0], int(argv[1]), argv[2])
    except Exception as error:  # reported as a cell of the table; the traceback goes to stderr
        import traceback

        traceback.print_exc()
        print(json.dumps({"error": type(error).__name__, "message": str(error)[:300]}))
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
