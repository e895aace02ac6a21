"""Learning-rate schedules, as TensorFlow 1's ``tf.train`` has them: a learning rate that is a node of the graph.

Each schedule is a small formula of the global step, built from ordinary ops, so it prints, draws and runs like
any other node. Give the result to an optimizer as its ``learning_rate`` and the step to ``minimize`` as its
``global_step``: every run of the training op then uses the rate of the current step, and counts one step on.

The rate takes the dtype of ``learning_rate`` (a Python float gives float32, as in TensorFlow); an optimizer uses it
in the dtype of each Variable it updates.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .graph import Node, name_scope
from .leaves import as_node
from .ops.compare import cast, less_equal, where
from .ops.elementwise import exp, pow
from .ops.elementwise_math import floor


def _rate_and_step(learning_rate: Any, global_step: Any, name: str) -> tuple[Node, Node]:
    """The learning rate as a floating node, and the global step cast to its dtype."""
    if global_step is None:
        raise ValueError(f"{name} needs a global_step (for example tf.train.get_or_create_global_step()).")
    rate = as_node(learning_rate)
    dtype = np.dtype(rate.dtype or np.float64)
    if dtype.kind != "f":
        raise TypeError(f"{name}: learning_rate must be a float, got a {dtype.name} value ({rate.name!r}).")
    return rate, cast(global_step, dtype.type)


def _decay_start(learning_rate: Any, global_step: Any, decay_steps: Any, staircase: bool,
                 name: str) -> tuple[Node, Node, type]:
    """What the decays share: the rate, ``global_step / decay_steps`` (floored with ``staircase``) and their dtype."""
    rate, step = _rate_and_step(learning_rate, global_step, name)
    dtype = np.dtype(rate.dtype).type
    steps = step / _steps(decay_steps, dtype)
    return rate, floor(steps) if staircase else steps, dtype


def _steps(value: Any, dtype: type) -> Any:
    """A schedule's constant argument in the rate's dtype (a node is cast, a number taken as it is)."""
    return cast(value, dtype) if isinstance(value, Node) else np.asarray(value, dtype=dtype)


def exponential_decay(learning_rate: Any, global_step: Any, decay_steps: Any, decay_rate: Any,
                      staircase: bool = False, name: str | None = None) -> Node:
    """``learning_rate · decay_rate ^ (global_step / decay_steps)``; with ``staircase``, the exponent is floored, so
    the rate drops once every ``decay_steps`` steps.

    Example:
        >>> import symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> step = tf.placeholder(tf.int64, shape=(), name="step")
        >>> rate = tf.train.exponential_decay(0.1, step, decay_steps=2, decay_rate=0.5, staircase=True)
        >>> sess = tf.Session()
        >>> [float(sess.run(rate, {step: s})) for s in range(5)]  # doctest: +ELLIPSIS
        [0.1..., 0.1..., 0.05..., 0.05..., 0.025...]
    """
    with name_scope(name or "ExponentialDecay"):
        rate, exponent, dtype = _decay_start(learning_rate, global_step, decay_steps, staircase, "exponential_decay")
        return rate * pow(_steps(decay_rate, dtype), exponent)


def natural_exp_decay(learning_rate: Any, global_step: Any, decay_steps: Any, decay_rate: Any,
                      staircase: bool = False, name: str | None = None) -> Node:
    """``learning_rate · exp(-decay_rate · global_step / decay_steps)``; ``staircase`` floors the step count.

    Example:
        >>> import numpy as np, symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> step = tf.placeholder(tf.int64, shape=(), name="step")
        >>> rate = tf.train.natural_exp_decay(np.float64(1.0), step, decay_steps=1, decay_rate=np.log(2.0))
        >>> sess = tf.Session()
        >>> [round(float(sess.run(rate, {step: s})), 12) for s in range(3)]
        [1.0, 0.5, 0.25]
    """
    with name_scope(name or "NaturalExpDecay"):
        rate, steps, dtype = _decay_start(learning_rate, global_step, decay_steps, staircase, "natural_exp_decay")
        return rate * exp(-_steps(decay_rate, dtype) * steps)


def inverse_time_decay(learning_rate: Any, global_step: Any, decay_steps: Any, decay_rate: Any,
                       staircase: bool = False, name: str | None = None) -> Node:
    """``learning_rate / (1 + decay_rate · global_step / decay_steps)``; ``staircase`` floors the step count.

    Example:
        >>> import numpy as np, symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> step = tf.placeholder(tf.int64, shape=(), name="step")
        >>> rate = tf.train.inverse_time_decay(np.float64(1.0), step, decay_steps=10, decay_rate=1.0)
        >>> sess = tf.Session()
        >>> [float(sess.run(rate, {step: s})) for s in (0, 10, 30)]
        [1.0, 0.5, 0.25]
    """
    with name_scope(name or "InverseTimeDecay"):
        rate, steps, dtype = _decay_start(learning_rate, global_step, decay_steps, staircase, "inverse_time_decay")
        return rate / (1 + _steps(decay_rate, dtype) * steps)


def piecewise_constant(x: Any, boundaries: Sequence[Any], values: Sequence[Any], name: str | None = None) -> Node:
    """``values[0]`` while ``x <= boundaries[0]``, ``values[1]`` while ``x <= boundaries[1]``, ..., and
    ``values[-1]`` after the last boundary (one more value than boundaries).

    Example:
        >>> import symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> step = tf.placeholder(tf.int64, shape=(), name="step")
        >>> rate = tf.train.piecewise_constant(step, [2, 4], [1.0, 0.5, 0.1])
        >>> sess = tf.Session()
        >>> [float(sess.run(rate, {step: s})) for s in range(6)]  # doctest: +ELLIPSIS
        [1.0, 1.0, 1.0, 0.5, 0.5, 0.1...]
    """
    if len(values) != len(boundaries) + 1:
        raise ValueError(f"piecewise_constant takes one more value than boundaries, got {len(boundaries)} "
                         f"boundaries and {len(values)} values.")
    with name_scope(name or "PiecewiseConstant"):
        step = as_node(x)
        nodes = [as_node(v) for v in values]
        dtypes = {np.dtype(n.dtype) for n in nodes if n.dtype is not None}
        if len(dtypes) > 1:
            raise TypeError(f"piecewise_constant: values must have one dtype, got {sorted(d.name for d in dtypes)}.")
        step_type = np.dtype(step.dtype or np.float64).type
        result = nodes[-1]
        for boundary, value in zip(reversed(boundaries), reversed(nodes[:-1])):
            result = where(less_equal(step, np.asarray(boundary, dtype=step_type)), value, result)
        return result

