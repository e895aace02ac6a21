"""TensorFlow 1's ``tf.train``: optimizers, the global step, checkpoints, and the Variables' initializer.

The optimizers live in :mod:`symslow.optimizers`, checkpoints in :mod:`symslow.saver` and learning-rate schedules in
:mod:`symslow.learning_rate_decay`; this module is the
namespace a TensorFlow 1 program reaches them by (``tf.train.AdamOptimizer``, ``tf.train.Saver``).
"""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np

from .graph import Graph, Node, get_default_graph
from .leaves import Variable
from .optimizers import (AdagradOptimizer, AdamOptimizer, GradientDescentOptimizer, MomentumOptimizer, Optimizer,
                         RMSPropOptimizer)
from .variables import global_variables_initializer  # tf.train has it too
from .learning_rate_decay import exponential_decay, inverse_time_decay, natural_exp_decay, piecewise_constant
from .saver import CheckpointState, Saver, checkpoint_exists, get_checkpoint_state, latest_checkpoint, \
    update_checkpoint_state

# the global step each graph has had created by create_global_step (a graph's own name lookup is the fallback)
_global_steps: "weakref.WeakKeyDictionary[Graph, Variable]" = weakref.WeakKeyDictionary()


def get_global_step(graph: Graph | None = None) -> Variable | None:
    """The graph's global step Variable (made by ``create_global_step``, or a Variable named ``global_step``), or
    None if it has none.

    Example:
        >>> import symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> tf.train.get_global_step() is None
        True
        >>> step = tf.train.get_or_create_global_step()
        >>> tf.train.get_global_step() is step, step.name, step.dtype.__name__
        (True, 'global_step', 'int64')
    """
    graph = graph or get_default_graph()
    step = _global_steps.get(graph)
    if step is not None:
        return step
    try:
        node = graph.get_node("global_step")
    except KeyError:
        return None
    return node if isinstance(node, Variable) else None


def create_global_step(graph: Graph | None = None) -> Variable:
    """Make the graph's global step: a scalar int64 Variable named ``global_step``, starting at 0, not trainable.

    Raises:
        ValueError: the graph has a global step already (as TensorFlow 1).
    """
    graph = graph or get_default_graph()
    if get_global_step(graph) is not None:
        raise ValueError('"global_step" already exists in this graph; use tf.train.get_global_step() to get it.')
    with graph.as_default():
        step = Variable(np.array(0, dtype=np.int64), name="global_step", trainable=False)
    _global_steps[graph] = step
    return step


def get_or_create_global_step(graph: Graph | None = None) -> Variable:
    """The graph's global step, made on first use (see ``create_global_step``).

    Pass it to ``minimize(loss, global_step=...)``: each run of the training op then adds one to it.

    Example:
        >>> import numpy as np, symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> w = tf.Variable(np.float64(1.0), name="w")
        >>> step = tf.train.get_or_create_global_step()
        >>> train = tf.train.GradientDescentOptimizer(0.1).minimize(tf.square(w), global_step=step)
        >>> sess = tf.Session()
        >>> for _ in range(3):
        ...     sess.run(train)
        >>> int(sess.run(step))
        3
    """
    step = get_global_step(graph)
    return step if step is not None else create_global_step(graph)


def global_step(sess: Any, global_step_tensor: Node) -> int:
    """The value of the global step in ``sess``, as a Python int."""
    return int(sess.run(global_step_tensor))


__all__ = [
    "Optimizer", "GradientDescentOptimizer", "MomentumOptimizer", "AdamOptimizer", "RMSPropOptimizer",
    "AdagradOptimizer", "Saver", "latest_checkpoint", "get_checkpoint_state", "checkpoint_exists",
    "update_checkpoint_state", "CheckpointState", "get_global_step", "create_global_step",
    "get_or_create_global_step", "global_step", "global_variables_initializer",
    "exponential_decay", "natural_exp_decay", "inverse_time_decay", "piecewise_constant",
]
