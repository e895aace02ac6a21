"""Optimizers, as in TensorFlow 1's ``tf.train``.

``minimize(loss)`` is ``apply_gradients(compute_gradients(loss))``: the gradients are graph nodes, so every run of
the training op computes them from that run's feed, and the updates are ``assign`` nodes committed together when
the run succeeds.
"""

from __future__ import annotations

import numbers
from typing import Sequence

import numpy as np

from .errors import InvalidArgumentError
from .graph import Node, Variable, format_shape
from .gradients import gradients
from .ops.base import Operation
from .ops.state import assign, group


class Optimizer:
    """Base class: ``compute_gradients``, ``apply_gradients`` and ``minimize`` as in TensorFlow 1."""

    name = "Optimizer"

    def __init__(self, learning_rate: float):
        if isinstance(learning_rate, bool) or not isinstance(learning_rate, (numbers.Real, np.number)):
            raise InvalidArgumentError(f"{type(self).__name__}: learning_rate must be a number, not {learning_rate!r}.")
        if not np.isfinite(learning_rate):
            raise InvalidArgumentError(f"{type(self).__name__}: learning_rate must be finite, not {learning_rate!r}.")
        self.learning_rate = float(learning_rate)

    def compute_gradients(self, loss: Node, var_list: Sequence[Variable] | None = None) -> list[tuple[Node | None, Variable]]:
        """``[(gradient, variable)]`` for ``var_list``, by default every trainable Variable the loss depends on."""
        if not isinstance(loss, Node):
            raise TypeError(f"{type(self).__name__}.minimize takes the loss node, not {loss!r}.")
        if loss.shape is not None and loss.shape != ():
            raise InvalidArgumentError(
                f"The loss {loss.name!r} has shape {format_shape(loss.shape)}; an optimizer minimizes a scalar: "
                "wrap it in reduce_sum or reduce_mean."
            )
        if var_list is None:  # the trainable Variables the loss depends on
            from .gradients import topological_order

            needed = set(map(id, topological_order([loss])))
            var_list = [v for v in loss.graph.variables if v.trainable and id(v) in needed]
        var_list = list(var_list)
        for variable in var_list:
            if not isinstance(variable, Variable):
                raise TypeError(f"var_list holds {variable!r}, which is not a Variable.")
            if np.dtype(variable.dtype).kind not in "fc":
                raise InvalidArgumentError(
                    f"Variable {variable.name!r} has dtype {np.dtype(variable.dtype).name}: only floating-point "
                    "Variables can be trained (make it with a float initial value, e.g. Variable(0.0))."
                )
        grads = gradients(loss, var_list) if var_list else []
        return list(zip(grads, var_list))

    def apply_gradients(self, grads_and_vars: Sequence[tuple[Node | None, Variable]], name: str | None = None) -> Operation:
        """One training step: a ``group`` of the Variables' updates (fetching it gives ``None``)."""
        pairs = [(g, v) for g, v in grads_and_vars if g is not None]
        if not pairs:
            raise InvalidArgumentError("No gradients to apply: the loss depends on none of the Variables.")
        graph = pairs[0][1].graph
        with graph.name_scope(name or self.name):
            updates = self._updates(pairs)
            return group(*updates, name="update")

    def minimize(self, loss: Node, var_list: Sequence[Variable] | None = None, name: str | None = None) -> Operation:
        """The training op: running it once takes one gradient step on ``loss``."""
        return self.apply_gradients(self.compute_gradients(loss, var_list), name=name)

    def _updates(self, pairs) -> list[Node]:
        raise NotImplementedError

    def _slot(self, variable: Variable, name: str, value: float = 0.0) -> Variable:
        return Variable(np.full(variable.shape, value, dtype=variable.dtype), name=f"{variable.name.replace('/', '_')}_{name}", trainable=False)


class GradientDescentOptimizer(Optimizer):
    """``var ← var - learning_rate · gradient``.

    Example:
        >>> import symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> w = tf.Variable(5.0, name="w")
        >>> train_op = tf.train.GradientDescentOptimizer(0.25).minimize(tf.square(w))
        >>> sess = tf.Session()
        >>> sess.run(train_op)
        >>> float(sess.run(w))
        2.5
    """

    name = "GradientDescent"

    def _updates(self, pairs):
        return [assign(v, v - self.learning_rate * g) for g, v in pairs]


class MomentumOptimizer(Optimizer):
    """``accumulation ← momentum · accumulation + gradient``; ``var ← var - learning_rate · accumulation``."""

    name = "Momentum"

    def __init__(self, learning_rate: float, momentum: float):
        super().__init__(learning_rate)
        if isinstance(momentum, bool) or not isinstance(momentum, (numbers.Real, np.number)):
            raise InvalidArgumentError(f"MomentumOptimizer: momentum must be a number, not {momentum!r}.")
        self.momentum = float(momentum)

    def _updates(self, pairs):
        updates = []
        for g, v in pairs:
            accumulation = self._slot(v, "momentum")
            new_accumulation = self.momentum * accumulation + g
            updates += [assign(accumulation, new_accumulation), assign(v, v - self.learning_rate * new_accumulation)]
        return updates


class AdamOptimizer(Optimizer):
    """Adam (Kingma & Ba), with TensorFlow 1's defaults and its form of the bias correction.

    ``t ← t + 1``; ``m ← β₁ m + (1 - β₁) g``; ``v ← β₂ v + (1 - β₂) g²``;
    ``var ← var - lr √(1 - β₂ᵗ) / (1 - β₁ᵗ) · m / (√v + ε)``.
    """

    name = "Adam"

    def __init__(self, learning_rate: float = 0.001, beta1: float = 0.9, beta2: float = 0.999, epsilon: float = 1e-8):
        super().__init__(learning_rate)
        self.beta1, self.beta2, self.epsilon = float(beta1), float(beta2), float(epsilon)

    def _updates(self, pairs):
        from .ops.elementwise import sqrt

        graph = pairs[0][1].graph
        with graph.as_default():
            step = Variable(0.0, name="step", trainable=False)
            new_step = step + 1.0
            updates = [assign(step, new_step)]
            rate = self.learning_rate * sqrt(1.0 - self.beta2**new_step) / (1.0 - self.beta1**new_step)
            for g, v in pairs:
                m, s = self._slot(v, "m"), self._slot(v, "v")
                new_m = self.beta1 * m + (1.0 - self.beta1) * g
                new_s = self.beta2 * s + (1.0 - self.beta2) * g * g
                updates += [assign(m, new_m), assign(s, new_s), assign(v, v - rate * new_m / (sqrt(new_s) + self.epsilon))]
        return updates


def global_variables_initializer() -> Operation:
    """An op that sets every Variable of the default graph to its initial value.

    Sessions also initialise a Variable on its first use, so calling this is optional (the tutorial never does).
    """
    from .graph import Constant, get_default_graph

    graph = get_default_graph()
    with graph.name_scope("init"):
        return group(*[assign(v, Constant(v.initial_value, graph=graph, name="initial_value")) for v in graph.variables], name="init")


from .saver import Saver  # noqa: E402  (saving and restoring Variables, in its own module)

__all__ = ["Optimizer", "GradientDescentOptimizer", "MomentumOptimizer", "AdamOptimizer", "Saver"]
