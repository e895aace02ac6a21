"""Random ops: ``random_normal``, ``random_uniform``, ``truncated_normal``, ``random_shuffle``, and their seeds.

As in TensorFlow 1, a random op draws fresh values on every run, and seeds make a program reproducible: with a graph
seed (:func:`set_random_seed`) or an op seed (``seed=``), every new session draws the same sequence of values.

A random op has no formula: in generated code it is one call, ``call_compute(user_ops[k], ())``, which draws from the
running session's generator for that op (:class:`RandomStreams`). Its gradient is ``None``, as in TensorFlow.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any, Iterator

import numpy as np

from ..errors import InvalidArgumentError
from ..graph import as_shape, format_shape, get_default_graph
from ..dtypes import as_numpy_type
from .base import Operation

# the graph seed when only an op seed is given (TensorFlow's default graph seed plays the same part)
DEFAULT_GRAPH_SEED = 87654321


def set_random_seed(seed: int | None) -> None:
    """Set the default graph's seed: every random op made in it then draws a reproducible sequence.

    Example:
        >>> import symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> tf.set_random_seed(1)
        >>> r = tf.random_uniform([2])
        >>> a = tf.Session().run(r); b = tf.Session().run(r)
        >>> bool((a == b).all())
        True
    """
    if seed is not None and not isinstance(seed, (int, np.integer)):
        raise InvalidArgumentError(f"set_random_seed takes an int or None, not {seed!r}.")
    get_default_graph().seed = None if seed is None else int(seed)


class RandomStreams:
    """The generators of one session, one per random op, made on the op's first draw from its seeds."""

    _active = threading.local()

    def __init__(self) -> None:
        self._generators: dict = {}
        self._lock = threading.Lock()

    def generator(self, op: "RandomOp") -> np.random.Generator:
        with self._lock:
            generator = self._generators.get(op)
            if generator is None:
                graph_seed = getattr(op.graph, "seed", None)
                if graph_seed is None and op.seed is None:
                    generator = np.random.default_rng()
                else:
                    op_seed = op.seed if op.seed is not None else op.id
                    generator = np.random.default_rng([graph_seed or DEFAULT_GRAPH_SEED, op_seed])
                self._generators[op] = generator
            return generator

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        """Random ops computed in this thread inside the block draw from these streams."""
        previous = getattr(self._active, "streams", None)
        self._active.streams = self
        try:
            yield
        finally:
            self._active.streams = previous

    @classmethod
    def current(cls) -> "RandomStreams":
        streams = getattr(cls._active, "streams", None)
        if streams is None:  # a draw outside Session.run (a user calling compute): streams of its own
            streams = cls._active.streams = RandomStreams()
        return streams


class RandomOp(Operation):
    """An op drawing random values of a fixed shape and dtype; subclasses say how in :meth:`draw`."""

    # the draw reads its inputs' shapes alone, not their values (dropout's mask): once the shapes are known, a
    # compiled step may draw it before it starts (see Backend.hoists_draws)
    shape_only = True

    def __init__(self, shape: Any, dtype: Any, seed: int | None, name: str | None, inputs=()):
        self.static_shape = as_shape(shape) if shape is not None else None
        if self.static_shape is not None and None in self.static_shape:
            raise InvalidArgumentError(f"{self.default_name}: the shape {format_shape(self.static_shape)} must be known.")
        self.numpy_dtype = np.dtype(as_numpy_type(dtype))
        if seed is not None and not isinstance(seed, (int, np.integer)):
            raise InvalidArgumentError(f"{self.default_name}: seed must be an int or None, not {seed!r}.")
        self.seed = None if seed is None else int(seed)
        super().__init__(list(inputs), name)

    def infer_shape(self, *input_shapes):
        return self.static_shape

    def infer_dtype(self, *input_dtypes):
        return self.numpy_dtype.type

    def gradient(self, grad, index):
        return None

    def compute(self, *inputs):
        generator = RandomStreams.current().generator(self._node if hasattr(self, "_node") else self)
        return np.asarray(self.draw(generator, *inputs), dtype=self.numpy_dtype)


def uniform(generator: np.random.Generator, low: float, high: float, shape, dtype) -> np.ndarray:
    """Uniform values in ``[low, high)`` in ``dtype``: a float64 draw rounded to float32 can reach ``high`` itself
    (about one value in 3e7), which is then replaced by the largest value of ``dtype`` below it."""
    dtype = np.dtype(dtype)
    values = np.asarray(generator.uniform(low, high, shape)).astype(dtype)
    top = dtype.type(high)
    return np.where(values >= top, np.nextafter(top, dtype.type(low)), values) if dtype.kind == "f" else values


def _number(value: Any, what: str, op: str) -> float:
    if not isinstance(value, (int, float, np.number)) or isinstance(value, bool) or not np.isfinite(value):
        raise InvalidArgumentError(f"{op}: {what} must be a finite number, not {value!r}.")
    return float(value)


class random_normal(RandomOp):
    """Values drawn from a normal distribution of mean ``mean`` and standard deviation ``stddev``.

    Example:
        >>> import symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> W = tf.Variable(tf.random_normal([784, 256], stddev=0.1, seed=3))
        >>> with tf.Session() as sess:
        ...     sess.run(tf.global_variables_initializer())
        ...     w = sess.run(W)
        >>> w.shape, w.dtype, bool(abs(w.std() - 0.1) < 0.01)
        ((784, 256), dtype('float32'), True)
    """

    op_type = "RandomStandardNormal"
    default_name = "random_normal"

    def __init__(self, shape, mean=0.0, stddev=1.0, dtype="float32", seed=None, name=None):
        self.mean, self.stddev = _number(mean, "mean", "random_normal"), _number(stddev, "stddev", "random_normal")
        super().__init__(shape, dtype, seed, name)

    def draw(self, generator):
        return generator.normal(self.mean, self.stddev, self.static_shape)


class truncated_normal(RandomOp):
    """Normal values more than two standard deviations from the mean drawn again (TensorFlow's initialiser).

    Example:
        >>> import symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> t = tf.Session().run(tf.truncated_normal([1000], stddev=0.5, seed=1))
        >>> bool((abs(t) <= 1.0).all())
        True
    """

    op_type = "TruncatedNormal"
    default_name = "truncated_normal"

    def __init__(self, shape, mean=0.0, stddev=1.0, dtype="float32", seed=None, name=None):
        self.mean, self.stddev = _number(mean, "mean", "truncated_normal"), _number(stddev, "stddev", "truncated_normal")
        super().__init__(shape, dtype, seed, name)

    def draw(self, generator):
        values = generator.standard_normal(self.static_shape)
        outside = np.abs(values) > 2
        while outside.any():
            values[outside] = generator.standard_normal(int(outside.sum()))
            outside = np.abs(values) > 2
        return self.mean + self.stddev * values


class random_uniform(RandomOp):
    """Values drawn uniformly from ``[minval, maxval)`` (``maxval`` 1 for floats; required for integers).

    Example:
        >>> import symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> u = tf.Session().run(tf.random_uniform([100], -1, 1, seed=2))
        >>> bool(((-1 <= u) & (u < 1)).all()), u.dtype
        (True, dtype('float32'))
        >>> tf.Session().run(tf.random_uniform([3], 0, 10, dtype=tf.int32, seed=2)).dtype
        dtype('int32')
    """

    op_type = "RandomUniform"
    default_name = "random_uniform"

    def __init__(self, shape, minval=0, maxval=None, dtype="float32", seed=None, name=None):
        integer = np.dtype(as_numpy_type(dtype)).kind in "iu"
        if maxval is None:
            if integer:
                raise InvalidArgumentError("random_uniform: maxval must be given for an integer dtype.")
            maxval = 1.0
        self.minval = _number(minval, "minval", "random_uniform")
        self.maxval = _number(maxval, "maxval", "random_uniform")
        if not self.minval < self.maxval:
            raise InvalidArgumentError(f"random_uniform: minval {minval!r} must be below maxval {maxval!r}.")
        super().__init__(shape, dtype, seed, name)

    def draw(self, generator):
        if self.numpy_dtype.kind in "iu":
            return generator.integers(int(self.minval), int(self.maxval), self.static_shape)
        return uniform(generator, self.minval, self.maxval, self.static_shape, self.numpy_dtype)


class random_shuffle(RandomOp):
    """``value`` with its first axis shuffled anew on every run.

    Example:
        >>> import numpy as np, symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> s = tf.Session().run(tf.random_shuffle(tf.constant(np.arange(5)), seed=4))
        >>> sorted(s.tolist())
        [0, 1, 2, 3, 4]
    """

    op_type = "RandomShuffle"
    default_name = "random_shuffle"
    shape_only = False  # it reorders the values themselves

    def __init__(self, value, seed=None, name=None):
        from ..leaves import as_node

        value = as_node(value)
        super().__init__(None, value.dtype or np.float64, seed, name, inputs=[value])

    def infer_shape(self, shape):
        return shape

    def draw(self, generator, value):
        return generator.permutation(np.asarray(value)) if np.ndim(value) else value
