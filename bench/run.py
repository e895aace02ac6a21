"""Benchmark: one training step (forward, backward, update) of six networks, symslow against the alternatives.

W1 to W3 are float64 MLPs trained by gradient descent; W4 (an MNIST-sized MLP), W5 (an autoencoder trained with
RMSProp) and W6 (TensorFlow 1's "deep MNIST" CNN: two convolutions with max pools, a dense layer, dropout) are
float32 programs written as a TensorFlow 1 user writes them, the same source run by symslow and by TensorFlow's
``tf.compat.v1``. Every implementation is first checked to compute the same loss and gradients as
hand-written NumPy, in the workload's dtype, then timed in one process, all held to one thread. Timing runs in
rounds that interleave the implementations, so that load from elsewhere on the machine hits them alike. Time is
the process's CPU time (``time.process_time``), which leaves out the time the process waits while other programs
run on a shared machine; the reported time is the median over rounds of the mean CPU time per step in a round.

Deep graphs (a chain of 2,000 elementwise ops, MLPs of 25 to 200 layers) are timed from graph building to the first
``Session.run`` result, each in a process of its own (``bench/deep_graphs.py``) with a timeout, so that an error or
a hang is reported in the table rather than stopping the script.

W6's tables are written to a part of RESULTS.md of their own, so that ``--only W6`` leaves the others as they are.

Run it with ``make bench`` (which makes ``bench/.venv`` with JAX, the CPU build of PyTorch, TensorFlow's CPU
build, used through its TensorFlow 1 API, and PyTensor with Numba: ``bench/pytensor_peer.py``), or directly::

    OMP_NUM_THREADS=1 bench/.venv/bin/python bench/run.py [--quick] [--only W4 W5 W6 deep] [--results FILE]
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
import json  # noqa: E402
import platform  # noqa: E402
import re  # noqa: E402
import signal  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass, field, replace  # noqa: E402
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
    tf.get_logger().setLevel("ERROR")  # W6's tf.nn.dropout(h, keep_prob) would print a deprecation notice
except ImportError:  # the TensorFlow 1 rows are left out
    tf = tf1 = None
import pytensor_peer  # noqa: E402  (bench/pytensor_peer.py; its rows are left out where PyTensor is not installed)


# workloads -----------------------------------------------------------------------------------------------------------
# RMSProp as TensorFlow 1's RMSPropOptimizer(learning_rate) has it by default; its mean square starts at ones
DECAY, MOMENTUM, EPSILON = 0.9, 0.0, 1e-10


@dataclass
class Workload:
    name: str
    title: str
    sizes: list[int]  # input, hidden..., output
    batch: int
    learning_rate: float
    bare_placeholders: bool  # placeholder() with no shape, as the tutorial writes it
    rounds: int
    steps: int  # steps per round
    dtype: type = np.float64
    hidden: str = "sigmoid"  # the hidden layers' activation: "sigmoid" or "relu"
    # "sum": softmax cross-entropy summed over the batch (W1-W3); "mean": its mean over the batch (W4);
    # "mse": sigmoid output, mean squared reconstruction error of the input (W5, an autoencoder)
    loss: str = "sum"
    optimizer: str = "sgd"  # or "rmsprop"
    X: np.ndarray = field(init=False)
    c: np.ndarray = field(init=False)  # one-hot classes, or the input itself for an autoencoder
    params: list[np.ndarray] = field(init=False)

    def __post_init__(self):
        rng = np.random.default_rng(len(self.sizes) * 1000 + self.batch)
        if self.dtype == np.float64:
            self.X = rng.standard_normal((self.batch, self.sizes[0]))
        else:  # pixel intensities in [0, 1), as MNIST's
            self.X = rng.random((self.batch, self.sizes[0]), dtype=self.dtype)
        if self.loss == "mse":
            self.c = self.X
        else:
            self.c = np.eye(self.sizes[-1], dtype=self.dtype)[rng.integers(0, self.sizes[-1], self.batch)]
        self.params = []
        for fan_in, fan_out in zip(self.sizes[:-1], self.sizes[1:]):
            self.params += [(rng.standard_normal((fan_in, fan_out)) / np.sqrt(fan_in)).astype(self.dtype),
                            (0.1 * rng.standard_normal(fan_out)).astype(self.dtype)]

    @property
    def tf1_program(self) -> bool:
        """W4 and W5 are one TensorFlow 1 program (``tf1_program``) run by symslow and by TensorFlow."""
        return self.dtype == np.float32


@dataclass
class ConvWorkload:
    """W6, TensorFlow 1's "deep MNIST" CNN (``cnn_program``): 28 × 28 × 1 float32 images, two 5 × 5 SAME
    convolutions (32 and 64 channels) each with ReLU and a 2 × 2 max pool, a dense ReLU layer, dropout, 10 logits,
    the batch mean of the softmax cross-entropy, gradient descent."""

    name: str
    title: str
    batch: int
    dense: int  # units of the dense layer after the convolutions
    learning_rate: float
    keep_prob: float  # fed while timing; the checks feed 1.0, which makes dropout the identity
    rounds: int
    steps: int
    dtype: type = np.float32
    X: np.ndarray = field(init=False)
    c: np.ndarray = field(init=False)
    params: list[np.ndarray] = field(init=False)  # HWIO filters, their biases, then the dense layers'

    def __post_init__(self):
        # float32 numbers in either dtype: the float64 workload holds the float32 one's values exactly
        rng = np.random.default_rng(6)
        self.X = rng.random((self.batch, 28, 28, 1), dtype=np.float32).astype(self.dtype)
        self.c = np.eye(10, dtype=self.dtype)[rng.integers(0, 10, self.batch)]
        shapes = [(5, 5, 1, 32), (5, 5, 32, 64), (7 * 7 * 64, self.dense), (self.dense, 10)]
        self.params = []
        for shape in shapes:  # biases of 0.1, as the tutorial's, keep the ReLUs alive
            fan_in = int(np.prod(shape[:-1]))
            self.params += [(rng.standard_normal(shape) / np.sqrt(fan_in)).astype(np.float32).astype(self.dtype),
                            np.full(shape[-1], 0.1, dtype=self.dtype)]

    def in_float64(self) -> "ConvWorkload":
        """The same workload in float64, for the checks."""
        return replace(self, dtype=np.float64)


def cnn_program(tf, w: ConvWorkload) -> tuple[list, object, object, list]:
    """W6 as a TensorFlow 1 user writes it, for ``tf`` = symslow or TensorFlow's ``tf.compat.v1``.

    Returns the placeholders ``[x, y, keep_prob]``, the loss, the training op and the Variables, which start from
    the workload's arrays.
    """
    dtype = tf.float64 if w.dtype == np.float64 else tf.float32  # float64 for the checks only
    x = tf.placeholder(dtype, [None, 28, 28, 1], name="x")
    y = tf.placeholder(dtype, [None, 10], name="y")
    keep_prob = tf.placeholder(dtype, name="keep_prob")
    W1, b1, W2, b2, W3, b3, W4, b4 = [tf.Variable(p, name=f"{'Wb'[k % 2]}{k // 2}") for k, p in enumerate(w.params)]
    h = tf.nn.relu(tf.nn.conv2d(x, W1, strides=[1, 1, 1, 1], padding="SAME") + b1)
    h = tf.nn.max_pool(h, ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding="SAME")
    h = tf.nn.relu(tf.nn.conv2d(h, W2, strides=[1, 1, 1, 1], padding="SAME") + b2)
    h = tf.nn.max_pool(h, ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding="SAME")
    h = tf.nn.relu(tf.matmul(tf.reshape(h, [-1, 7 * 7 * 64]), W3) + b3)
    logits = tf.matmul(tf.nn.dropout(h, keep_prob), W4) + b4
    loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits_v2(labels=y, logits=logits))
    # TensorFlow turns a Python float rate into a float32 constant: give it in the workload's dtype
    rate = tf.constant(w.learning_rate, dtype=dtype)
    train = tf.train.GradientDescentOptimizer(rate).minimize(loss)
    return [x, y, keep_prob], loss, train, [W1, b1, W2, b2, W3, b3, W4, b4]


def workloads(quick: bool) -> list[Workload | ConvWorkload]:
    scale = 3 if quick else 1
    return [
        Workload("W1", "tutorial MLP 2 → 2 sigmoid → 2 softmax, N = 100", [2, 2, 2], 100, 0.03, True,
                 rounds=15 // scale, steps=300),
        Workload("W2", "MLP 784 → 256 → 256 → 10, N = 256", [784, 256, 256, 10], 256, 0.01, False,
                 rounds=9 // scale, steps=12),
        Workload("W3", "deep narrow MLP 32 → 20 × 32 → 10, N = 64", [32] + [32] * 20 + [10], 64, 0.01, False,
                 rounds=11 // scale, steps=60),
        Workload("W4", "float32 MLP 784 → 256 relu → 256 relu → 10, N = 256", [784, 256, 256, 10], 256, 0.1,
                 False, rounds=9 // scale, steps=16, dtype=np.float32, hidden="relu", loss="mean"),
        Workload("W5", "float32 autoencoder 784 → 256 → 128 → 256 → 784, RMSProp, N = 256",
                 [784, 256, 128, 256, 784], 256, 0.01, False, rounds=9 // scale, steps=8, dtype=np.float32,
                 loss="mse", optimizer="rmsprop"),
        ConvWorkload("W6", "float32 CNN 28 × 28 × 1 → conv 5 × 5 × 32 → pool → conv 5 × 5 × 64 → pool → 1024 relu "
                     "→ dropout → 10, N = 64", batch=64, dense=1024, learning_rate=0.01, keep_prob=0.5,
                     rounds=max(7 // scale, 3), steps=4),
    ]


def tf1_program(tf, w: Workload) -> tuple[list, object, object, list]:
    """W4 or W5 as a TensorFlow 1 user writes it, for ``tf`` = symslow or TensorFlow's ``tf.compat.v1``.

    Builds in the default graph; returns the placeholders to feed, the loss, the training op and the Variables.
    The Variables start from the workload's float32 arrays, so that every implementation starts from the same point.
    """
    x = tf.placeholder(tf.float32, [None, w.sizes[0]], name="x")
    weights = [tf.Variable(p, name=f"{'Wb'[k % 2]}{k // 2}") for k, p in enumerate(w.params)]
    h = x
    for k in range(0, len(weights), 2):
        a = tf.matmul(h, weights[k]) + weights[k + 1]
        if k + 2 < len(weights):
            h = tf.nn.relu(a) if w.hidden == "relu" else tf.nn.sigmoid(a)
        else:  # the output layer: reconstruction, or logits
            h = tf.nn.sigmoid(a) if w.loss == "mse" else a
    if w.loss == "mse":
        fed = [x]
        loss = tf.reduce_mean(tf.pow(x - h, 2))
    else:
        y = tf.placeholder(tf.float32, [None, w.sizes[-1]], name="y")
        fed = [x, y]
        loss = tf.reduce_mean(-tf.reduce_sum(y * tf.nn.log_softmax(h), axis=1))
    if w.optimizer == "rmsprop":
        optimizer = tf.train.RMSPropOptimizer(w.learning_rate)
    else:
        optimizer = tf.train.GradientDescentOptimizer(w.learning_rate)
    return fed, loss, optimizer.minimize(loss), weights


def fed_arrays(w: Workload) -> list[np.ndarray]:
    return [w.X] if w.loss == "mse" else [w.X, w.c]


# implementations: each gives (one training step, a sync, loss-and-gradients at the current parameters, parameters) --
@dataclass
class Implementation:
    name: str
    step: Callable[[], None]
    sync: Callable[[], None]
    loss_and_grads: Callable[[], tuple[np.ndarray, list[np.ndarray]]]  # the loss as a 0-d array, in its dtype
    params: Callable[[], list[np.ndarray]]
    setup_seconds: float = 0.0  # building, differentiating and compiling, up to the end of the first step
    # W6: feeds dropout's keep probability to the steps that follow (the checks run with 1.0)
    set_keep_prob: Callable[[float], None] | None = None


def _symslow(w: Workload | ConvWorkload, backend: str, feeding: str = "own") -> Implementation:
    """symslow's session on ``backend``; the JAX backend fed JAX arrays (``feeding="own"``, as the hand-written
    JAX step is) or the NumPy arrays a TensorFlow 1 program feeds (``feeding="numpy"``)."""
    start = time.perf_counter()
    graph = ts.Graph()
    with graph.as_default():
        if isinstance(w, ConvWorkload):
            fed, J, train, variables = cnn_program(ts, w)
            arrays = [w.X, w.c]
        elif w.tf1_program:
            fed, J, train, variables = tf1_program(ts, w)
            arrays = fed_arrays(w)
        else:
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
            fed, arrays = [X, c], [w.X, w.c]
        session = ts.Session(backend=backend)
        session.run(ts.global_variables_initializer())
        feed = dict(zip(fed, [jnp.asarray(a) for a in arrays] if backend == "jax" and feeding == "own" else arrays))
        if isinstance(w, ConvWorkload):
            feed[fed[2]] = 1.0  # keep_prob
        session.run(train, feed)
    setup = time.perf_counter() - start
    with graph.as_default():
        grads = ts.gradients(J, variables)

    def sync():
        if backend == "jax":
            jax.block_until_ready(list(session._values.values()))

    def loss_and_grads():
        loss, *values = session.run([J, *grads], feed)
        return np.asarray(loss), values

    label = f"symslow {backend}" + (" fed NumPy" if backend == "jax" and feeding == "numpy" else "")
    return Implementation(label, lambda: session.run(train, feed), sync, loss_and_grads,
                          lambda: session.run(variables), setup,
                          (lambda p: feed.__setitem__(fed[2], p)) if isinstance(w, ConvWorkload) else None)


def _numpy(w: Workload) -> Implementation:
    """Hand-written NumPy: forward, manual backward (dJ/dz = p - c for one-hot rows), in-place update."""
    params = [p.copy() for p in w.params]
    X, c, lr = w.X, w.c, w.learning_rate
    layers = len(params) // 2
    # RMSProp's slots, as TensorFlow 1 makes them: the mean square from ones, the momentum from zeros
    mean_squares = [np.ones_like(p) for p in params] if w.optimizer == "rmsprop" else []
    moments = [np.zeros_like(p) for p in params] if w.optimizer == "rmsprop" else []

    def forward_backward(with_loss: bool = False):
        """The gradients, and the loss if asked (the step does not compute it)."""
        hs = [X]
        for i in range(layers - 1):
            a = hs[-1] @ params[2 * i] + params[2 * i + 1]
            hs.append(np.maximum(a, 0) if w.hidden == "relu" else 1.0 / (1.0 + np.exp(-a)))
        z = hs[-1] @ params[-2] + params[-1]
        if w.loss == "mse":
            out = 1.0 / (1.0 + np.exp(-z))
            error = out - X
            loss = np.mean(error * error) if with_loss else None
            dz = (2.0 / error.size) * error * out * (1.0 - out)
        else:
            z = z - z.max(axis=1, keepdims=True)
            e = np.exp(z)
            p = e / e.sum(axis=1, keepdims=True)
            dz = p - c
            loss = None
            if with_loss:
                loss = -np.sum(c * (z - np.log(e.sum(axis=1, keepdims=True))))
            if w.loss == "mean":
                loss, dz = None if loss is None else loss / len(X), dz * (1.0 / len(X))
        grads = [None] * len(params)
        for i in reversed(range(layers)):
            h = hs[i]
            grads[2 * i] = h.T @ dz
            grads[2 * i + 1] = dz.sum(axis=0)
            if i:
                dh = dz @ params[2 * i].T
                dz = dh * (h > 0) if w.hidden == "relu" else dh * h * (1.0 - h)
        return loss, grads

    def step():
        _, grads = forward_backward()
        if w.optimizer == "rmsprop":  # TensorFlow 1's rule
            for param, grad, ms, mom in zip(params, grads, mean_squares, moments):
                ms *= DECAY
                ms += (1.0 - DECAY) * grad * grad
                mom *= MOMENTUM
                mom += lr * grad / np.sqrt(ms + EPSILON)
                param -= mom
        else:
            for param, grad in zip(params, grads):
                param -= lr * grad

    def loss_and_grads():
        loss, grads = forward_backward(with_loss=True)
        return np.asarray(loss), grads

    start = time.perf_counter()
    step()
    return Implementation("hand-written NumPy", step, lambda: None, loss_and_grads, lambda: [p.copy() for p in params],
                          time.perf_counter() - start)


def _torch(w: Workload) -> Implementation:
    params = [torch.tensor(p, requires_grad=True) for p in w.params]
    X, c, lr = torch.tensor(w.X), torch.tensor(w.c), w.learning_rate
    layers = len(params) // 2
    mean_squares = [torch.ones_like(p) for p in params] if w.optimizer == "rmsprop" else []
    moments = [torch.zeros_like(p) for p in params] if w.optimizer == "rmsprop" else []

    def loss():
        h = X
        for i in range(layers - 1):
            a = h @ params[2 * i] + params[2 * i + 1]
            h = torch.relu(a) if w.hidden == "relu" else torch.sigmoid(a)
        z = h @ params[-2] + params[-1]
        if w.loss == "mse":
            return torch.mean((X - torch.sigmoid(z)) ** 2)
        cross_entropy = -(c * torch.log_softmax(z, dim=1)).sum()
        return cross_entropy / len(X) if w.loss == "mean" else cross_entropy

    def step():
        loss().backward()
        with torch.no_grad():
            if w.optimizer == "rmsprop":  # TensorFlow 1's rule (torch.optim.RMSprop's differs)
                for p, ms, mom in zip(params, mean_squares, moments):
                    ms.mul_(DECAY).add_((1.0 - DECAY) * p.grad * p.grad)
                    mom.mul_(MOMENTUM).add_(lr * p.grad / torch.sqrt(ms + EPSILON))
                    p -= mom
                    p.grad = None
            else:
                for p in params:
                    p -= lr * p.grad
                    p.grad = None

    def loss_and_grads():
        value = loss()
        value.backward()
        grads = [p.grad.numpy().copy() for p in params]
        for p in params:
            p.grad = None
        return value.detach().numpy(), grads

    start = time.perf_counter()
    step()
    return Implementation("PyTorch eager", step, lambda: None, loss_and_grads,
                          lambda: [p.detach().numpy().copy() for p in params], time.perf_counter() - start)


def _jax(w: Workload, feeding: str = "own") -> Implementation:
    """Hand-written JAX, one ``jax.jit`` step, fed JAX arrays (``feeding="own"``) or NumPy arrays (``"numpy"``,
    moved to JAX's device by every call, as a TensorFlow 1 program's feeds are)."""
    X, c = (jnp.asarray(w.X), jnp.asarray(w.c)) if feeding == "own" else (w.X, w.c)
    lr = w.learning_rate
    layers = len(w.params) // 2

    def loss(params, X, c):
        h = X
        for i in range(layers - 1):
            a = h @ params[2 * i] + params[2 * i + 1]
            h = jax.nn.relu(a) if w.hidden == "relu" else jax.nn.sigmoid(a)
        z = h @ params[-2] + params[-1]
        if w.loss == "mse":
            return jnp.mean((X - jax.nn.sigmoid(z)) ** 2)
        cross_entropy = -jnp.sum(c * jax.nn.log_softmax(z, axis=1))
        return cross_entropy / X.shape[0] if w.loss == "mean" else cross_entropy

    value_and_grad = jax.jit(jax.value_and_grad(loss))

    @jax.jit
    def train(params, slots, X, c):
        grads = jax.grad(loss)(params, X, c)
        if w.optimizer == "rmsprop":  # TensorFlow 1's rule
            mean_squares = [DECAY * ms + (1.0 - DECAY) * g * g for ms, g in zip(slots[0], grads)]
            moments = [MOMENTUM * mom + lr * g / jnp.sqrt(ms + EPSILON)
                       for mom, ms, g in zip(slots[1], mean_squares, grads)]
            return [p - mom for p, mom in zip(params, moments)], (mean_squares, moments)
        return [p - lr * g for p, g in zip(params, grads)], slots

    params = [jnp.asarray(p) for p in w.params]
    slots = ()
    if w.optimizer == "rmsprop":
        slots = ([jnp.ones_like(p) for p in params], [jnp.zeros_like(p) for p in params])
    state = {"params": params, "slots": slots}

    def step():
        state["params"], state["slots"] = train(state["params"], state["slots"], X, c)

    def loss_and_grads():
        value, grads = value_and_grad(state["params"], X, c)
        return np.asarray(value), [np.asarray(g) for g in grads]

    start = time.perf_counter()
    step()
    jax.block_until_ready(state["params"])
    label = "hand-written JAX" + (" fed NumPy" if feeding == "numpy" else "")
    return Implementation(label, step, lambda: jax.block_until_ready(state["params"]), loss_and_grads,
                          lambda: [np.asarray(p) for p in state["params"]], time.perf_counter() - start)


def _tf1(w: Workload | ConvWorkload) -> Implementation:
    """A TensorFlow 1 graph run by a ``Session``: placeholders, Variables, an optimizer's ``minimize``."""
    start = time.perf_counter()
    graph = tf1.Graph()
    with graph.as_default():
        if isinstance(w, ConvWorkload):
            fed, J, train, variables = cnn_program(tf1, w)
            feed = {fed[0]: w.X, fed[1]: w.c, fed[2]: 1.0}
        elif w.tf1_program:
            fed, J, train, variables = tf1_program(tf1, w)
            feed = dict(zip(fed, fed_arrays(w)))
        else:
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
            # a Python float would become a float32 constant (0.03 as 0.029999999329...): give the rate as float64
            rate = tf.constant(w.learning_rate, dtype=tf.float64)
            train = tf1.train.GradientDescentOptimizer(rate).minimize(J)
            feed = {X: w.X, c: w.c}
        grads = tf1.gradients(J, variables)
        init = tf1.global_variables_initializer()
    config = tf1.ConfigProto(intra_op_parallelism_threads=1, inter_op_parallelism_threads=1)
    session = tf1.Session(graph=graph, config=config)
    session.run(init)
    session.run(train, feed)
    setup = time.perf_counter() - start

    def loss_and_grads():
        loss, values = session.run([J, grads], feed)
        return np.asarray(loss), values

    return Implementation("TensorFlow 1 session", lambda: session.run(train, feed), lambda: None, loss_and_grads,
                          lambda: session.run(variables), setup,
                          (lambda p: feed.__setitem__(fed[2], p)) if isinstance(w, ConvWorkload) else None)


def _pytensor(w: Workload, name: str) -> Implementation:
    """PyTensor in one of its modes (``pytensor_peer.MODES``): shared variables, ``pytensor.grad``, one
    ``pytensor.function`` with ``updates`` per step."""
    peer = pytensor_peer.PyTensorMLP(w, pytensor_peer.MODES[name], DECAY, MOMENTUM, EPSILON)
    return Implementation(name, peer.step, lambda: None, peer.loss_and_grads, peer.params, peer.setup_seconds)


# W6 by hand: NumPy, JAX and PyTorch ----------------------------------------------------------------------------------
def _im2col_same(x: np.ndarray, k: int) -> np.ndarray:
    """The k × k windows of NHWC ``x`` padded for a stride-1 SAME convolution, one row each, in HWIO's order of a
    filter's (height, width, in-channel) entries: ``(N * H * W, k * k * C)``."""
    n, h, w, c = x.shape
    p = k // 2
    padded = np.pad(x, ((0, 0), (p, p), (p, p), (0, 0)))
    view = np.lib.stride_tricks.sliding_window_view(padded, (k, k), axis=(1, 2))  # (N, H, W, C, k, k)
    return view.transpose(0, 1, 2, 4, 5, 3).reshape(n * h * w, k * k * c)


def _col2im_same(rows: np.ndarray, shape: tuple, k: int) -> np.ndarray:
    """The transpose of :func:`_im2col_same`: each window's rows added back where they were read."""
    n, h, w, c = shape
    p = k // 2
    windows = rows.reshape(n, h, w, k, k, c)
    out = np.zeros((n, h + 2 * p, w + 2 * p, c), dtype=rows.dtype)
    for i in range(k):
        for j in range(k):
            out[:, i:i + h, j:j + w, :] += windows[:, :, :, i, j, :]
    return out[:, p:p + h, p:p + w, :]


def _numpy_cnn(w: ConvWorkload) -> Implementation:
    """Hand-written NumPy: im2col convolutions, 2 × 2 pools by a reshape, manual backward, in-place update."""
    params = [p.copy() for p in w.params]
    X, c, lr = w.X, w.c, w.learning_rate
    rng = np.random.default_rng(60)
    state = {"keep": 1.0}

    def conv_relu_pool(x, W, b):
        cols = _im2col_same(x, 5)
        a = (cols @ W.reshape(-1, W.shape[3])).reshape(*x.shape[:3], W.shape[3]) + b
        r = np.maximum(a, 0)
        n, h, wd, o = r.shape
        blocks = r.reshape(n, h // 2, 2, wd // 2, 2, o)
        return cols, a, blocks, blocks.max(axis=(2, 4))

    def pool_relu_back(a, blocks, pooled, g):
        """From the gradient of the pooled values to that of the pre-activations ``a`` (a tie at 0 is also
        where ReLU's gradient is 0)."""
        at_max = blocks == pooled[:, :, None, :, None, :]
        return (at_max * g[:, :, None, :, None, :]).reshape(a.shape) * (a > 0)

    def forward_backward(with_loss: bool = False):
        W1, b1, W2, b2, W3, b3, W4, b4 = params
        cols1, a1, blocks1, p1 = conv_relu_pool(X, W1, b1)
        cols2, a2, blocks2, p2 = conv_relu_pool(p1, W2, b2)
        f = p2.reshape(len(X), -1)
        a3 = f @ W3 + b3
        h3 = np.maximum(a3, 0)
        keep = state["keep"]
        mask = None if keep == 1.0 else (rng.random(h3.shape, dtype=h3.dtype) < keep) * np.asarray(1 / keep, h3.dtype)
        d = h3 if mask is None else h3 * mask
        z = d @ W4 + b4
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        sums = e.sum(axis=1, keepdims=True)
        loss = -np.sum(c * (z - np.log(sums))) / len(X) if with_loss else None
        dz = (e / sums - c) * (1.0 / len(X))
        gW4, gb4 = d.T @ dz, dz.sum(axis=0)
        dh3 = dz @ W4.T
        da3 = (dh3 if mask is None else dh3 * mask) * (a3 > 0)
        gW3, gb3 = f.T @ da3, da3.sum(axis=0)
        da2 = pool_relu_back(a2, blocks2, p2, (da3 @ W3.T).reshape(p2.shape))
        rows2 = da2.reshape(-1, W2.shape[3])
        gW2, gb2 = (cols2.T @ rows2).reshape(W2.shape), rows2.sum(axis=0)
        dp1 = _col2im_same(rows2 @ W2.reshape(-1, W2.shape[3]).T, p1.shape, 5)
        rows1 = pool_relu_back(a1, blocks1, p1, dp1).reshape(-1, W1.shape[3])
        gW1, gb1 = (cols1.T @ rows1).reshape(W1.shape), rows1.sum(axis=0)
        return loss, [gW1, gb1, gW2, gb2, gW3, gb3, gW4, gb4]

    def step():
        for param, grad in zip(params, forward_backward()[1]):
            param -= lr * grad

    def loss_and_grads():
        loss, grads = forward_backward(with_loss=True)
        return np.asarray(loss), grads

    start = time.perf_counter()
    step()
    return Implementation("hand-written NumPy", step, lambda: None, loss_and_grads, lambda: [p.copy() for p in params],
                          time.perf_counter() - start, lambda p: state.__setitem__("keep", p))


def _jax_cnn(w: ConvWorkload) -> Implementation:
    """Hand-written JAX: ``lax.conv_general_dilated`` and ``lax.reduce_window``, ``jax.grad``, one ``jax.jit``."""
    lax = jax.lax
    X, c, lr = jnp.asarray(w.X), jnp.asarray(w.c), w.learning_rate

    def loss(params, X, c, key, keep):
        W1, b1, W2, b2, W3, b3, W4, b4 = params

        def conv_relu_pool(h, W, b):
            a = lax.conv_general_dilated(h, W, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC")) + b
            return lax.reduce_window(jax.nn.relu(a), np.array(-np.inf, a.dtype), lax.max, (1, 2, 2, 1),
                                     (1, 2, 2, 1), "VALID")

        h = conv_relu_pool(conv_relu_pool(X, W1, b1), W2, b2).reshape(X.shape[0], -1)
        h = jax.nn.relu(h @ W3 + b3)
        h = jnp.where(jax.random.uniform(key, h.shape, h.dtype) < keep, h / keep, jnp.zeros((), h.dtype))
        return -jnp.mean(jnp.sum(c * jax.nn.log_softmax(h @ W4 + b4, axis=1), axis=1))

    value_and_grad = jax.jit(jax.value_and_grad(loss))

    @jax.jit
    def train(params, X, c, key, keep):
        key, draw = jax.random.split(key)
        grads = jax.grad(loss)(params, X, c, draw, keep)
        return [p - lr * g for p, g in zip(params, grads)], key

    state = {"params": [jnp.asarray(p) for p in w.params], "key": jax.random.PRNGKey(60),
             "keep": jnp.asarray(1.0, w.dtype)}

    def step():
        state["params"], state["key"] = train(state["params"], X, c, state["key"], state["keep"])

    def loss_and_grads():
        value, grads = value_and_grad(state["params"], X, c, state["key"], state["keep"])
        return np.asarray(value), [np.asarray(g) for g in grads]

    def set_keep_prob(p):
        state["keep"] = jnp.asarray(p, w.dtype)

    start = time.perf_counter()
    step()
    jax.block_until_ready(state["params"])
    return Implementation("hand-written JAX", step, lambda: jax.block_until_ready(state["params"]), loss_and_grads,
                          lambda: [np.asarray(p) for p in state["params"]], time.perf_counter() - start,
                          set_keep_prob)


def _torch_cnn(w: ConvWorkload) -> Implementation:
    """PyTorch eager in its own layout: NCHW images and OIHW filters, the dense layer's rows ordered (channel,
    height, width) as PyTorch flattens; the arrays are turned once here, and gradients back to HWIO to be checked."""
    F = torch.nn.functional
    W1, b1, W2, b2, W3, b3, W4, b4 = w.params

    def dense_rows_chw(W: np.ndarray) -> np.ndarray:  # rows from the 7 × 7 × 64 maps' (h, w, c) order to (c, h, w)
        return W.reshape(7, 7, 64, -1).transpose(2, 0, 1, 3).reshape(W.shape)

    def dense_rows_hwc(W: np.ndarray) -> np.ndarray:
        return W.reshape(64, 7, 7, -1).transpose(1, 2, 0, 3).reshape(W.shape)

    native = [W1.transpose(3, 2, 0, 1), b1, W2.transpose(3, 2, 0, 1), b2, dense_rows_chw(W3), b3, W4, b4]
    params = [torch.tensor(np.ascontiguousarray(p), requires_grad=True) for p in native]
    X = torch.tensor(w.X).permute(0, 3, 1, 2).contiguous()
    c, lr = torch.tensor(w.c), w.learning_rate
    torch.manual_seed(60)
    state = {"keep": 1.0}

    def loss():
        h = F.max_pool2d(torch.relu(F.conv2d(X, params[0], params[1], padding=2)), 2)
        h = F.max_pool2d(torch.relu(F.conv2d(h, params[2], params[3], padding=2)), 2)
        h = torch.relu(h.flatten(1) @ params[4] + params[5])
        h = F.dropout(h, 1.0 - state["keep"], training=True)
        return -(c * torch.log_softmax(h @ params[6] + params[7], dim=1)).sum(dim=1).mean()

    def step():
        loss().backward()
        with torch.no_grad():
            for p in params:
                p -= lr * p.grad
                p.grad = None

    def as_tf(arrays: list[np.ndarray]) -> list[np.ndarray]:
        """Arrays in PyTorch's layouts back in the TensorFlow program's."""
        a = list(arrays)
        a[0], a[2], a[4] = a[0].transpose(2, 3, 1, 0).copy(), a[2].transpose(2, 3, 1, 0).copy(), dense_rows_hwc(a[4])
        return a

    def loss_and_grads():
        value = loss()
        value.backward()
        grads = [p.grad.numpy().copy() for p in params]
        for p in params:
            p.grad = None
        return value.detach().numpy(), as_tf(grads)

    start = time.perf_counter()
    step()
    return Implementation("PyTorch eager", step, lambda: None, loss_and_grads,
                          lambda: as_tf([p.detach().numpy().copy() for p in params]), time.perf_counter() - start,
                          lambda p: state.__setitem__("keep", p))


def implementations(w: Workload | ConvWorkload) -> list[Implementation]:
    if isinstance(w, ConvWorkload):
        made = [_numpy_cnn(w), _symslow(w, "numpy")]
        if jax is not None:
            made += [_jax_cnn(w), _symslow(w, "jax")]
        if torch is not None:
            made.append(_torch_cnn(w))
        if tf1 is not None:
            made.append(_tf1(w))
        return made + [_symslow(w, "interpreter")]
    made = [_numpy(w), _symslow(w, "numpy")]
    if jax is not None:
        made += [_jax(w), _symslow(w, "jax"), _jax(w, "numpy"), _symslow(w, "jax", "numpy")]
    if torch is not None:
        made.append(_torch(w))
    if tf1 is not None:
        made.append(_tf1(w))
    if pytensor_peer.pytensor is not None:
        made += [_pytensor(w, name) for name in pytensor_peer.MODES]
    made.append(_symslow(w, "interpreter"))
    return made


# checking and timing -------------------------------------------------------------------------------------------------
def check_same(w: Workload | ConvWorkload, impls: list[Implementation]) -> None:
    """Every implementation computes the loss and gradients of hand-written NumPy, in the workload's dtype, and
    takes the same first step.

    float64 is held to 1e-8 or closer. In float32 (about 7 digits) sums of 256 to 784 terms, added in different
    orders by different libraries, agree to a few units of 1e-6 relative to the largest of them, not to each small
    element's own size: each array is compared to rtol 1e-4 plus an atol of 1e-5 times its largest element. The
    step itself (parameters after it less before) is compared as a whole, relative to its 2-norm: W5's first RMSProp
    step moves a parameter by a few units in its last place, too little for the elementwise comparison to see.

    W6 in float32 has about 2.5 million ReLUs and 500,000 max-pool windows: a few pre-activations lie within
    rounding of 0, a few windows hold two values within rounding of each other, and there one library's rounding
    takes the other branch than another's and sends a gradient elsewhere, which moves the gradients of the filters
    and of everything before the flip by up to a few 1e-3 of their 2-norm. Its gradients and its first step are
    therefore compared as wholes, to 1e-2 of their 2-norm (loss and parameters as above); the elementwise check is
    made on the same program in float64 (``ConvWorkload.in_float64``), where no branch flips.
    """
    reference = impls[0]
    loss, grads = reference.loss_and_grads()
    params = reference.params()
    wanted = np.dtype(w.dtype)
    before = [p.astype(np.float64) for p in w.params]
    steps = [p.astype(np.float64) - b for p, b in zip(params, before)]
    if wanted == np.float64:
        loss_tol, grad_tol, param_tol, step_tol = dict(rtol=1e-9), dict(rtol=1e-8), dict(rtol=1e-9), 1e-7
        grad_atol, param_atol = 1e-11, 1e-12
    else:
        loss_tol, grad_tol, param_tol, step_tol = dict(rtol=1e-5), dict(rtol=1e-4), dict(rtol=1e-4), 1e-3
        grad_atol = param_atol = 1e-5  # times the array's largest element
    branch_flips = isinstance(w, ConvWorkload) and wanted == np.float32
    if branch_flips:
        step_tol = 1e-2
    for impl in impls[1:]:
        other_loss, other_grads = impl.loss_and_grads()
        other_params = impl.params()
        for what, value in [("loss", other_loss), *((f"gradient {k}", g) for k, g in enumerate(other_grads)),
                            *((f"parameter {k}", p) for k, p in enumerate(other_params))]:
            if np.asarray(value).dtype != wanted:
                raise AssertionError(f"{w.name} {impl.name}: {what} has dtype {np.asarray(value).dtype}, not "
                                     f"{wanted} as the workload's placeholders and Variables")
        np.testing.assert_allclose(other_loss, loss, **loss_tol, err_msg=f"{w.name} {impl.name}: loss")
        for k, (a, b) in enumerate(zip(other_grads, grads)):
            if branch_flips:
                error = np.linalg.norm(a.astype(np.float64) - b) / np.linalg.norm(b.astype(np.float64))
                if not error <= step_tol:
                    raise AssertionError(f"{w.name} {impl.name}: gradient {k} differs from hand-written NumPy's by "
                                         f"{error:.2g} of its 2-norm (tolerance {step_tol:g})")
                continue
            atol = grad_atol * (1.0 if wanted == np.float64 else np.abs(b).max())
            np.testing.assert_allclose(a, b, **grad_tol, atol=atol, err_msg=f"{w.name} {impl.name}: gradient {k}")
        for k, (a, b) in enumerate(zip(other_params, params)):  # after the one step each took while set up
            atol = param_atol * (1.0 if wanted == np.float64 else np.abs(b).max())
            np.testing.assert_allclose(a, b, **param_tol, atol=atol, err_msg=f"{w.name} {impl.name}: parameter {k}")
        for k, (a, b, step) in enumerate(zip(other_params, before, steps)):
            error = np.linalg.norm(a.astype(np.float64) - b - step) / np.linalg.norm(step)
            if not error <= step_tol:
                raise AssertionError(f"{w.name} {impl.name}: the first step of parameter {k} differs from hand-written "
                                     f"NumPy's by {error:.2g} of its 2-norm (tolerance {step_tol:g})")


def drop_out(w: ConvWorkload, impls: list[Implementation]) -> None:
    """Feed W6's ``keep_prob`` for the timed steps, and check that dropout then changes the loss (the checks ran
    without it)."""
    for impl in impls:
        without, _ = impl.loss_and_grads()
        impl.set_keep_prob(w.keep_prob)
        with_dropout, _ = impl.loss_and_grads()
        if not np.isfinite(with_dropout) or with_dropout == without:
            raise AssertionError(f"{w.name} {impl.name}: with keep_prob {w.keep_prob:g} the loss is {with_dropout}, "
                                 f"and {without} without dropout")


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
                   "compile": t3 - t2, "total": t3 - t0, "repeats": repeats}
            if best is None or row["total"] < best["total"]:
                best = row
        rows.append(best)
    return rows


PEER_SCRIPT = Path(__file__).with_name("pytensor_peer.py")


def first_step_times(workload: str = "W3", timeout: float = 900.0) -> list[dict]:
    """``workload`` from the start of building its graph to the end of its first training step, each in a new
    process (``bench/pytensor_peer.py``, SymPy's cache empty): symslow's compiled backends, and each PyTensor mode
    twice, first with its caches of compiled code in an empty folder (cold), then with what that run left there
    (warm). A row has the child's ``seconds`` (wall clock) and ``cpu_seconds`` (the C++ compiler's included), or
    an ``error``."""
    runs = [("symslow numpy", None)] + [("symslow jax", None)] * (jax is not None)
    if pytensor_peer.pytensor is not None:
        runs += [(name, cache) for name in pytensor_peer.MODES for cache in ("cold", "warm")]
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for name, cache in runs:
            env = dict(os.environ)
            if cache is not None:  # one folder for each mode: the warm run finds what the cold one compiled
                flags = f"base_compiledir={Path(folder) / name.split()[1]}"
                env["PYTENSOR_FLAGS"] = ",".join(f for f in (env.get("PYTENSOR_FLAGS"), flags) if f)
            try:
                done = subprocess.run([sys.executable, str(PEER_SCRIPT), workload, name], capture_output=True,
                                      text=True, timeout=timeout, env=env)
                cell = json.loads(done.stdout.strip().splitlines()[-1])
            except subprocess.TimeoutExpired:
                cell = {"error": f"no result within {timeout:g} s"}
            except (IndexError, json.JSONDecodeError):
                cell = {"error": (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1][:300]}
            rows.append({"workload": workload, "name": name, "cache": cache, **cell})
    return rows


DEEP_GRAPHS = [("chain", 2000), ("mlp", 25), ("mlp", 50), ("mlp", 100), ("mlp", 200)]
DEEP_SCRIPT = Path(__file__).with_name("deep_graphs.py")
DEEP_IMPLEMENTATIONS = {"numpy": "symslow numpy", "jax": "symslow jax", "tf1": "TensorFlow 1 session"}


def deep_graph_times(implementations: list[str], timeout: float) -> list[dict]:
    """For each deep graph, the time to its first result in each implementation, or why there is none.

    Each runs in a new process (``bench/deep_graphs.py``: a cold SymPy cache, and a failure stays there); a cell is
    a dict with the child's ``seconds``, ``cpu_seconds`` and ``nodes``, or with ``error``: the exception's type,
    ``timeout`` or the signal that ended the process. The limit is on CPU time (imports included), so that load
    from other programs on a shared machine does not turn a slow result into a timeout; four times as much
    wall-clock time stops a process that hangs without computing.
    """
    rows = []
    for case, size in DEEP_GRAPHS:
        row = {"case": case, "size": size, "cells": {}}
        for implementation in implementations:
            try:
                command = [sys.executable, str(DEEP_SCRIPT), case, str(size), implementation, f"{timeout:g}"]
                done = subprocess.run(command, capture_output=True, text=True, timeout=4 * timeout)
            except subprocess.TimeoutExpired:  # a hang that does not use the CPU
                cell = {"error": "timeout", "message": f"no result within {4 * timeout:g} s of wall-clock time"}
            else:
                if done.returncode == -signal.SIGXCPU:
                    done.stdout = json.dumps({"error": "timeout", "message": f"no result within {timeout:g} CPU s"})
                lines = done.stdout.strip().splitlines()
                try:
                    cell = json.loads(lines[-1])
                except (IndexError, json.JSONDecodeError):  # it died before it could say why: a signal, or a traceback
                    last = (done.stderr.strip().splitlines() or [""])[-1]
                    raised = re.match(r"(\w+(Error|Exception)):", last)
                    cause = (signal.Signals(-done.returncode).name if done.returncode < 0 else
                             raised.group(1) if raised else f"exit status {done.returncode}")
                    cell = {"error": cause, "message": last[:300]}
            row["cells"][implementation] = cell
            label = f"{case} {size}"
            if "error" in cell:
                print(f"  {label:10s} {DEEP_IMPLEMENTATIONS[implementation]:22s} {cell['error']}: {cell['message']}")
            else:
                print(f"  {label:10s} {DEEP_IMPLEMENTATIONS[implementation]:22s} {cell['cpu_seconds']:8.2f} CPU s "
                      f"{cell['seconds']:8.2f} s wall, {cell['nodes']} graph nodes")
        rows.append(row)
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
    if pytensor_peer.pytensor is not None:
        import numba

        versions["PyTensor"], versions["Numba"] = pytensor_peer.pytensor.__version__, numba.__version__
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
           deep_rows: list[dict], deep_timeout: float, info: dict[str, str],
           first_step_rows: list[dict] | None = None) -> str:
    lines = [f"Measured {info['date']} on {info['machine']}.", "", f"Versions: {info['versions']}.",
             f"Threads: {info['threads']}.", ""]
    if results:
        lines += ["Workloads: " + "; ".join(f"{w.name} {w.title} ({np.dtype(w.dtype).name})" for w, _, _ in results)
                  + ".", ""]
        lines += step_tables(results)
    if compile_rows:
        lines += ["### Compile time of W3-like MLPs by depth (CPU s, SymPy's cache cleared first; best of "
                  f"{compile_rows[0]['repeats']})", "",
                  "| hidden layers | graph nodes | build | gradients | code generation | total | total / depth 10 |",
                  "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        base = next((r["total"] for r in compile_rows if r["depth"] == 10), None)
        for r in compile_rows:
            scale = f"{r['total'] / base:.1f}" if base else "–"
            lines.append(f"| {r['depth']} | {r['nodes']} | {r['build']:.3f} | {r['gradients']:.3f} | "
                         f"{r['compile']:.3f} | {r['total']:.3f} | {scale} |")
        lines.append("")
    if first_step_rows:
        lines += [f"### {first_step_rows[0]['workload']} from building the graph to the end of the first training "
                  "step (s, each in a new process)", "",
                  "| implementation | PyTensor's caches of compiled code | wall clock | CPU (compilers included) |",
                  "| --- | --- | ---: | ---: |"]
        caches = {"cold": "empty (cold)", "warm": "as the cold run left them (warm)", None: "–"}
        for r in first_step_rows:
            cells = [r["error"], "–"] if "error" in r else [f"{r['seconds']:.2f}", f"{r['cpu_seconds']:.2f}"]
            lines.append(f"| {r['name']} | {caches[r['cache']]} | " + " | ".join(cells) + " |")
        lines.append("")
    if deep_rows:
        names = list(deep_rows[0]["cells"])
        lines += [f"### Deep graphs: build, compile and first `Session.run` result (CPU s, each in a new process, "
                  f"timeout {deep_timeout:g} CPU s)", "",
                  "| graph | symslow graph nodes | " + " | ".join(DEEP_IMPLEMENTATIONS[n] for n in names) + " |",
                  "| --- | ---: | " + " | ".join("---:" for _ in names) + " |"]
        for row in deep_rows:
            title = (f"chain of {row['size']} elementwise ops, value and gradient" if row["case"] == "chain"
                     else f"MLP of {row['size']} layers of 16, N = 8, training step")
            nodes = next((c["nodes"] for n, c in row["cells"].items() if n != "tf1" and "nodes" in c), None)
            cells = [c["error"] if "error" in c else f"{c['cpu_seconds']:.2f}" for c in row["cells"].values()]
            lines.append(f"| {title} | {nodes if nodes is not None else '–'} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def step_tables(results: list[tuple[Workload, dict[str, float], dict[str, float]]]) -> list[str]:
    """The tables of time per step, their ratios and the one-time costs."""
    names = list(dict.fromkeys(name for _, t, _ in results for name in t))
    header = ["| implementation | " + " | ".join(w.name for w, _, _ in results) + " |",
              "| --- | " + " | ".join("---:" for _ in results) + " |"]
    lines = ["### Median CPU time per training step (ms)", "", *header]
    for name in names:
        lines.append(f"| {name} | " + " | ".join(ms(t[name]) if name in t else "–" for _, t, _ in results) + " |")
    lines += ["", "### Ratios (lower is better for symslow)", ""]
    ratio_rows = [("symslow numpy / hand-written NumPy", "symslow numpy", "hand-written NumPy"),
                  ("symslow jax / hand-written JAX", "symslow jax", "hand-written JAX"),
                  ("symslow jax fed NumPy / hand-written JAX fed NumPy", "symslow jax fed NumPy",
                   "hand-written JAX fed NumPy"),
                  ("symslow numpy / PyTorch eager", "symslow numpy", "PyTorch eager"),
                  ("symslow jax / PyTorch eager", "symslow jax", "PyTorch eager"),
                  ("symslow numpy / TensorFlow 1 session", "symslow numpy", "TensorFlow 1 session"),
                  ("symslow jax / TensorFlow 1 session", "symslow jax", "TensorFlow 1 session"),
                  ("fastest symslow / PyTorch eager", "fastest symslow", "PyTorch eager"),
                  ("fastest symslow / TensorFlow 1 session", "fastest symslow", "TensorFlow 1 session"),
                  ("fastest symslow / PyTensor C", "fastest symslow", "PyTensor C"),
                  ("fastest symslow / PyTensor Numba", "fastest symslow", "PyTensor Numba"),
                  ("fastest symslow / fastest PyTensor", "fastest symslow", "fastest PyTensor"),
                  ("TensorFlow 1 session / hand-written NumPy", "TensorFlow 1 session", "hand-written NumPy"),
                  ("symslow interpreter / symslow numpy", "symslow interpreter", "symslow numpy")]
    lines.append("| ratio | " + " | ".join(w.name for w, _, _ in results) + " |")
    lines.append("| --- | " + " | ".join("---:" for _ in results) + " |")
    compiled = ("symslow numpy", "symslow jax")
    with_fastest = [{**t, "fastest symslow": min(t[n] for n in compiled if n in t)} if any(n in t for n in compiled)
                    else t for _, t, _ in results]
    with_fastest = [{**t, "fastest PyTensor": min(t[n] for n in pytensor_peer.MODES if n in t)}
                    if any(n in t for n in pytensor_peer.MODES) else t for t in with_fastest]
    for label, a, b in ratio_rows:
        cells = [f"{t[a] / t[b]:.2f}" if a in t and b in t else "–" for t in with_fastest]
        if set(cells) != {"–"}:  # PyTensor's rows, for instance, where no workload has it (W6)
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += ["", "### One-time cost: build, differentiate, compile and run the first step (s, wall clock)", "",
              *header]
    for name in names:
        cells = [f"{s[name]:.3f}" if name in s else "–" for _, _, s in results]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines + [""]


BEGIN, END = "<!-- results:begin (written by bench/run.py) -->", "<!-- results:end -->"
# W6 has a part of its own, so that it can be run and written alone while the other results stay as they are
CNN_BEGIN, CNN_END = "<!-- W6 results:begin (written by bench/run.py) -->", "<!-- W6 results:end -->"


def write_results(path: Path, text: str, begin: str = BEGIN, end: str = END) -> None:
    """Replace the generated part of RESULTS.md between ``begin`` and ``end``, keeping the hand-written text
    around it (a file without those markers gets the part at its end)."""
    block = f"{begin}\n{text}{end}"
    if path.exists() and begin in (old := path.read_text()) and end in old:
        head, rest = old.split(begin, 1)
        new = head + block + rest.split(end, 1)[1]
    elif path.exists():
        new = f"{old.rstrip()}\n\n{block}\n"
    else:
        new = f"# Benchmark results\n\n{block}\n"
    path.write_text(new)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="fewer rounds, and the deep graphs with symslow's numpy backend only (a smoke run)")
    parser.add_argument("--results", type=Path, default=Path(__file__).with_name("RESULTS.md"),
                        help="where to write the results (the generated part of the file is replaced)")
    parser.add_argument("--only", nargs="*", help="parts to run (W1 W2 W3 W4 W5 W6 compile deep); all by default")
    parser.add_argument("--deep-timeout", type=float, default=120.0,
                        help="CPU seconds each deep graph's process may take to its first result (default 120)")
    args = parser.parse_args(argv)
    only = set(args.only or ["W1", "W2", "W3", "W4", "W5", "W6", "compile", "deep"])

    info = machine()
    if tf1 is None:
        print("TensorFlow is not installed: the TensorFlow 1 session is skipped")
    print(f"{info['date']}\n{info['machine']}\n{info['versions']}\n{info['threads']}\n")
    results = []
    for w in workloads(args.quick):
        if w.name not in only:
            continue
        if isinstance(w, ConvWorkload):  # the elementwise check, where no ReLU or max pool flips (see check_same)
            check_same(w.in_float64(), implementations(w.in_float64()))
        impls = implementations(w)
        check_same(w, impls)
        print(f"{w.name} ({w.title}, {np.dtype(w.dtype).name}): {len(impls)} implementations agree on loss, "
              "gradients and step" + (" (also in float64)" if isinstance(w, ConvWorkload) else ""))
        if isinstance(w, ConvWorkload):
            drop_out(w, impls)
        times = time_steps(w, impls)
        base = times["hand-written NumPy"]
        for name, t in times.items():
            print(f"  {name:22s} {ms(t):>9s} ms   x{t / base:5.2f} of hand-written NumPy")
        results.append((w, times, {impl.name: impl.setup_seconds for impl in impls}))
    compile_rows = compile_times([5, 10, 20, 40, 80], repeats=1 if args.quick else 3) if "compile" in only else []
    for r in compile_rows:
        print(f"  depth {r['depth']:3d}: {r['nodes']:5d} nodes, build {r['build']:.3f} s, gradients "
              f"{r['gradients']:.3f} s, code generation {r['compile']:.3f} s, total {r['total']:.3f} s")
    first_rows = first_step_times() if "compile" in only else []
    for r in first_rows:
        print(f"  {r['workload']} {r['name']:16s} {r['cache'] or '':5s} " + (r["error"] if "error" in r else
              f"{r['seconds']:7.2f} s wall, {r['cpu_seconds']:7.2f} CPU s"))
    deep_rows = []
    if "deep" in only:
        deep = ["numpy"] if args.quick else ["numpy"] + ["jax"] * (jax is not None) + ["tf1"] * (tf1 is not None)
        print(f"deep graphs, each in a new process (timeout {args.deep_timeout:g} CPU s):")
        deep_rows = deep_graph_times(deep, args.deep_timeout)
    cnn_results = [r for r in results if isinstance(r[0], ConvWorkload)]
    results = [r for r in results if not isinstance(r[0], ConvWorkload)]
    if results or compile_rows or deep_rows:
        text = report(results, compile_rows, deep_rows, args.deep_timeout, info, first_rows)
        print("\n" + text)
        write_results(args.results, text)
        print(f"wrote {args.results}")
    if cnn_results:
        text = report(cnn_results, [], [], args.deep_timeout, info)
        print("\n" + text)
        write_results(args.results, text, CNN_BEGIN, CNN_END)
        print(f"wrote the W6 part of {args.results}")


if __name__ == "__main__":
    main()
