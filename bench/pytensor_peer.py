"""W1 to W5 in PyTensor, symslow's closest relative: a graph of symbolic tensors, ``pytensor.grad``, and one
``pytensor.function`` per training step whose Variables are shared variables changed by ``updates``.

Each workload is compiled twice, with PyTensor's ``fast_run`` rewrites in both: in ``mode="CVM"``, the C backend
(each op's C code compiled by the C++ compiler and cached on disk, run by PyTensor's virtual machine written in C),
and in ``mode="NUMBA"``, the whole graph as one Numba function, also cached on disk. (From PyTensor 3.0 on,
``mode="FAST_RUN"`` is the Numba backend; ``"CVM"`` is what ``"FAST_RUN"`` was before.) ``bench/run.py`` checks and
times them beside the other implementations. Installed by pip, PyTensor finds no BLAS library to link its C code
to (it warns so), and its C matrix products call NumPy's through NumPy's C API; Numba calls SciPy's BLAS.

Run as a script, this file times one workload from the start of building its graph to the end of its first
training step, and prints a line of JSON; ``bench/run.py`` runs it in a new process for each measure, and points
PyTensor's caches at an empty folder for a cold start::

    PYTENSOR_FLAGS=base_compiledir=/tmp/empty bench/.venv/bin/python bench/pytensor_peer.py W3 "PyTensor C"
"""

from __future__ import annotations

import time
from typing import Callable

import numpy as np

try:
    import pytensor
    import pytensor.tensor as pt
except ImportError:  # the PyTensor rows are left out
    pytensor = pt = None

# the rows of the tables and the compilation mode of each
MODES = {"PyTensor C": "CVM", "PyTensor Numba": "NUMBA"}


class PyTensorMLP:
    """One of ``bench/run.py``'s MLP workloads (``Workload``) compiled by PyTensor in ``mode``.

    ``step()`` is one training step; ``loss_and_grads()`` and ``params()`` return NumPy arrays for the checks.
    ``setup_seconds`` is the wall-clock time from the start of building the graph to the end of the first step.
    ``decay``, ``momentum`` and ``epsilon`` are RMSProp's, as TensorFlow 1's ``RMSPropOptimizer`` has them.
    """

    def __init__(self, w, mode: str, decay: float, momentum: float, epsilon: float):
        start = time.perf_counter()
        dtype = np.dtype(w.dtype).name

        def const(value: float):
            """A constant in the workload's dtype, so that a Python float does not make a float32 graph float64."""
            return pt.constant(np.asarray(value, dtype=dtype))

        X = pt.matrix("X", dtype=dtype)
        c = pt.matrix("c", dtype=dtype)
        self.shared = [pytensor.shared(p, name=f"{'Wb'[k % 2]}{k // 2}") for k, p in enumerate(w.params)]
        h = X
        for k in range(0, len(self.shared), 2):
            a = h @ self.shared[k] + self.shared[k + 1]
            if k + 2 < len(self.shared):
                h = pt.maximum(a, 0) if w.hidden == "relu" else pt.sigmoid(a)
            else:  # the output layer: reconstruction, or logits
                h = pt.sigmoid(a) if w.loss == "mse" else a
        if w.loss == "mse":
            loss = pt.mean((X - h) ** 2)
            fed = [X]
        else:
            if w.bare_placeholders:  # W1 in the tutorial's form; PyTensor rewrites log(softmax) to log_softmax
                log_p = pt.log(pt.special.softmax(h, axis=1))
            else:
                log_p = pt.special.log_softmax(h, axis=1)
            loss = -pt.sum(c * log_p)
            if w.loss == "mean":
                loss = loss / const(w.batch)
            fed = [X, c]
        grads = pytensor.grad(loss, self.shared)
        rate = const(w.learning_rate)
        updates = []
        if w.optimizer == "rmsprop":  # TensorFlow 1's rule: the mean square from ones, the momentum from zeros
            for p, g in zip(self.shared, grads):
                value = p.get_value(borrow=True)
                ms = pytensor.shared(np.ones_like(value), name=f"{p.name}/ms")
                mom = pytensor.shared(np.zeros_like(value), name=f"{p.name}/mom")
                new_ms = const(decay) * ms + const(1.0 - decay) * g * g
                new_mom = const(momentum) * mom + rate * g / pt.sqrt(new_ms + const(epsilon))
                updates += [(ms, new_ms), (mom, new_mom), (p, p - new_mom)]
        else:
            updates = [(p, p - rate * g) for p, g in zip(self.shared, grads)]
        train = pytensor.function(fed, [], updates=updates, mode=mode)
        arrays = [w.X] if w.loss == "mse" else [w.X, w.c]
        self.step: Callable[[], object] = lambda: train(*arrays)
        self.step()
        self.setup_seconds = time.perf_counter() - start
        # compiled after the setup is timed: only the checks use it
        evaluate = pytensor.function(fed, [loss, *grads], mode=mode)
        self._evaluate = lambda: evaluate(*arrays)

    def loss_and_grads(self) -> tuple[np.ndarray, list[np.ndarray]]:
        loss, *grads = self._evaluate()
        return np.asarray(loss), [np.asarray(g) for g in grads]

    def params(self) -> list[np.ndarray]:
        return [p.get_value() for p in self.shared]


def main(argv: list[str] | None = None) -> None:
    """Build and run the first step of one workload (``W1`` ... ``W5``) in one implementation, and print its wall-clock
    and CPU seconds as JSON."""
    import argparse
    import json
    import resource
    import sys
    from pathlib import Path

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("workload")
    parser.add_argument("implementation", choices=[*MODES, "symslow numpy", "symslow jax"])
    args = parser.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import run  # bench/run.py, as a module: its workloads, and symslow's rows built as there

    def cpu_seconds() -> float:
        """This process's CPU time and that of the processes it waited for: the C++ compiler's, for PyTensor C."""
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        return time.process_time() + children.ru_utime + children.ru_stime

    w = next(w for w in run.workloads(quick=False) if w.name == args.workload)
    cpu = cpu_seconds()
    if args.implementation in MODES:
        seconds = PyTensorMLP(w, MODES[args.implementation], run.DECAY, run.MOMENTUM, run.EPSILON).setup_seconds
    else:
        seconds = run._symslow(w, args.implementation.split()[1]).setup_seconds
    print(json.dumps({"seconds": seconds, "cpu_seconds": cpu_seconds() - cpu}))


if __name__ == "__main__":
    main()
