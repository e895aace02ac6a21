"""Optimizers, as in TensorFlow 1's ``tf.train`` (which re-exports them).

``minimize(loss)`` is ``apply_gradients(compute_gradients(loss))``: the gradients are graph nodes, so every run of
the training op computes them from that run's feed, and the updates are ``assign`` nodes committed together when
the run succeeds. Each optimizer's update rule is TensorFlow 1's, slot initial values included (RMSProp's mean
square starts at ones, Adagrad's accumulator at ``initial_accumulator_value``); the slots of a Variable are made
once per optimizer and reused by every ``apply_gradients`` of it, as TensorFlow does.
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

import numpy as np

from .errors import InvalidArgumentError
from .graph import Node, format_shape, topological_order
from .leaves import Constant, Variable
from .gradients import gradients
from .hyperparameters import flag, hyperparameter
from .ops.base import Operation
from .ops.state import assign, group


def _np_dtype(dtype) -> np.dtype:
    return np.dtype(getattr(dtype, "as_numpy_dtype", dtype))


class Optimizer:
    """Base class: ``compute_gradients``, ``apply_gradients`` and ``minimize`` as in TensorFlow 1.

    A subclass defines ``_updates(pairs)``, the ``assign`` nodes of one step for ``[(gradient, Variable)]``.
    ``use_locking`` is accepted and ignored (a run commits its updates atomically).
    """

    GATE_NONE, GATE_OP, GATE_GRAPH = 0, 1, 2
    name = "Optimizer"

    def __init__(self, use_locking: bool = False, name: str | None = None):
        if name is not None:
            if not isinstance(name, str) or not name:
                raise InvalidArgumentError(f"{type(self).__name__}: name must be a non-empty string, not {name!r}.")
            self.name = name
        self._use_locking = use_locking
        self._slots: dict[tuple[int, str], tuple[Variable, Variable]] = {}
        self._others: list[Variable] = []  # non-slot state (Adam's beta powers)

    def _check(self, argument: str, value: Any, **limits) -> float | Node:
        return hyperparameter(type(self).__name__, argument, value, **limits)

    def _learning_rate(self, value: Any) -> float | Node:
        return self._check("learning_rate", value, low=0.0, node=True)

    def _rate(self, variable: Variable) -> float | Node:
        """The learning rate for ``variable``: a node of another float dtype (a schedule) cast to the Variable's
        dtype, as TensorFlow casts it."""
        rate = self.learning_rate
        if isinstance(rate, Node) and None not in (rate.dtype, variable.dtype) and \
                np.dtype(rate.dtype) != np.dtype(variable.dtype):
            from .ops.compare import cast

            return cast(rate, variable.dtype)
        return rate

    def get_name(self) -> str:
        return self.name

    def compute_gradients(self, loss: Node, var_list: Sequence[Variable] | None = None, gate_gradients: int = 1,
                          aggregation_method: Any = None, colocate_gradients_with_ops: bool = False,
                          grad_loss: Any = None) -> list[tuple[Node | None, Variable]]:
        """``[(gradient, variable)]`` for ``var_list``, by default every trainable Variable the loss depends on.

        ``grad_loss`` is the gradient flowing into the loss (default 1). The gating and aggregation arguments are
        accepted and ignored.
        """
        if not isinstance(loss, Node):
            raise TypeError(f"{type(self).__name__}.minimize takes the loss node, not {loss!r}.")
        if loss.shape is not None and tuple(loss.shape) != ():
            raise InvalidArgumentError(
                f"The loss {loss.name!r} has shape {format_shape(loss.shape)}; an optimizer minimizes a scalar: "
                "wrap it in reduce_sum or reduce_mean."
            )
        if var_list is None:  # the trainable Variables the loss depends on
            needed = set(map(id, topological_order([loss])))
            var_list = [v for v in loss.graph.variables if v.trainable and id(v) in needed]
        var_list = list(var_list)
        for variable in var_list:
            _check_trainable(variable)
        if not var_list:
            return []
        grad_ys = None if grad_loss is None else [grad_loss]
        return list(zip(gradients([loss], var_list, grad_ys=grad_ys), var_list))

    def apply_gradients(self, grads_and_vars: Iterable[tuple[Any, Variable]], global_step: Variable | None = None,
                        name: str | None = None) -> Operation:
        """One training step: a ``group`` of the Variables' updates (fetching it gives ``None``).

        ``grads_and_vars`` is what ``compute_gradients`` returned, possibly changed (clipped gradients);
        pairs with a ``None`` gradient are skipped. ``global_step``, a Variable, is incremented by one per run.
        """
        pairs = _checked_pairs(type(self).__name__, grads_and_vars)
        if not pairs:
            raise InvalidArgumentError("No gradients to apply: the loss depends on none of the Variables.")
        if global_step is not None and not isinstance(global_step, Variable):
            raise TypeError(f"{type(self).__name__}.apply_gradients: global_step must be a Variable (e.g. "
                            f"tf.train.get_or_create_global_step()), not {global_step!r}.")
        graph = pairs[0][1].graph
        with graph.as_default(), graph.name_scope(name or self.name):
            updates = self._updates(pairs)
            if global_step is not None:
                one = Constant(np.array(1, dtype=_np_dtype(global_step.dtype)), graph=graph, name="one")
                updates.append(assign(global_step, global_step + one, name="increment_global_step"))
            return group(*updates, name="update")

    def minimize(self, loss: Node, global_step: Variable | None = None, var_list: Sequence[Variable] | None = None,
                 gate_gradients: int = 1, aggregation_method: Any = None, colocate_gradients_with_ops: bool = False,
                 name: str | None = None, grad_loss: Any = None) -> Operation:
        """The training op: running it once takes one gradient step on ``loss`` (and adds one to ``global_step``)."""
        grads_and_vars = self.compute_gradients(loss, var_list=var_list, grad_loss=grad_loss)
        return self.apply_gradients(grads_and_vars, global_step=global_step, name=name)

    def _updates(self, pairs: list[tuple[Node, Variable]]) -> list[Node]:
        raise NotImplementedError

    def _slot(self, variable: Variable, name: str, value: float = 0.0) -> Variable:
        """The optimizer's ``name`` slot of ``variable``, made (filled with ``value``) on first use."""
        key = (id(variable), name)
        if key not in self._slots:
            initial = np.full(tuple(variable.shape), value, dtype=_np_dtype(variable.dtype))
            slot = Variable(initial, name=f"{variable.name.replace('/', '_')}_{name}", trainable=False)
            self._slots[key] = (variable, slot)
        return self._slots[key][1]

    def get_slot(self, var: Variable, name: str) -> Variable | None:
        """The slot ``name`` (see ``get_slot_names``) the optimizer keeps for ``var``, or None."""
        entry = self._slots.get((id(var), name))
        return entry[1] if entry is not None and entry[0] is var else None

    def get_slot_names(self) -> list[str]:
        return sorted({name for _, name in self._slots})

    def variables(self) -> list[Variable]:
        """The Variables the optimizer made: its slots and other state."""
        return [*self._others, *(slot for _, slot in self._slots.values())]


def _check_trainable(variable: Any) -> None:
    if not isinstance(variable, Variable):
        raise TypeError(f"var_list holds {variable!r}, which is not a Variable.")
    if _np_dtype(variable.dtype).kind not in "fc":
        raise InvalidArgumentError(
            f"Variable {variable.name!r} has dtype {_np_dtype(variable.dtype).name}: only floating-point "
            "Variables can be trained (make it with a float initial value, e.g. Variable(0.0))."
        )


def _checked_pairs(owner: str, grads_and_vars: Iterable) -> list[tuple[Node, Variable]]:
    """The ``(gradient, Variable)`` pairs that have a gradient, each gradient a node of the Variable's shape."""
    pairs, seen = [], set()
    for pair in grads_and_vars:
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise TypeError(f"{owner}.apply_gradients takes (gradient, Variable) pairs, not {pair!r}.")
        grad, variable = pair
        _check_trainable(variable)
        if id(variable) in seen:
            raise InvalidArgumentError(f"{owner}.apply_gradients: Variable {variable.name!r} appears twice.")
        seen.add(id(variable))
        if grad is None:
            continue
        if not isinstance(grad, Node):
            grad = Constant(np.asarray(grad, dtype=_np_dtype(variable.dtype)), graph=variable.graph)
        shape = grad.shape
        if shape is not None and (len(shape) != len(variable.shape) or any(
                d is not None and d != s for d, s in zip(shape, variable.shape))):
            raise InvalidArgumentError(
                f"{owner}.apply_gradients: the gradient {grad.name!r} has shape {format_shape(shape)}, but Variable "
                f"{variable.name!r} has shape {format_shape(variable.shape)}."
            )
        pairs.append((grad, variable))
    return pairs


class GradientDescentOptimizer(Optimizer):
    """``var ← var - learning_rate · gradient``.

    Example:
        >>> import numpy as np, symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> w = tf.Variable(np.float64(5.0), name="w")
        >>> train_op = tf.train.GradientDescentOptimizer(learning_rate=0.25).minimize(tf.square(w))
        >>> sess = tf.Session()
        >>> sess.run(train_op)
        >>> float(sess.run(w))
        2.5
    """

    name = "GradientDescent"

    def __init__(self, learning_rate: float | Node, use_locking: bool = False, name: str | None = None):
        super().__init__(use_locking, name)
        self.learning_rate = self._learning_rate(learning_rate)

    def _updates(self, pairs):
        return [assign(v, v - self._rate(v) * g) for g, v in pairs]


class MomentumOptimizer(Optimizer):
    """``accumulation ← momentum · accumulation + gradient``; ``var ← var - learning_rate · accumulation``.

    With ``use_nesterov=True``: ``var ← var - learning_rate · (gradient + momentum · accumulation)``, the new
    accumulation, as TensorFlow's kernel does. Slot: ``"momentum"``.
    """

    name = "Momentum"

    def __init__(self, learning_rate: float | Node, momentum: float, use_locking: bool = False,
                 name: str | None = None, use_nesterov: bool = False):
        super().__init__(use_locking, name)
        self.learning_rate = self._learning_rate(learning_rate)
        self.momentum = self._check("momentum", momentum, low=0.0)
        self.use_nesterov = flag(type(self).__name__, "use_nesterov", use_nesterov)

    def _updates(self, pairs):
        updates = []
        for g, v in pairs:
            accumulation = self._slot(v, "momentum")
            new = self.momentum * accumulation + g
            step = g + self.momentum * new if self.use_nesterov else new
            updates += [assign(accumulation, new), assign(v, v - self._rate(v) * step)]
        return updates


class AdamOptimizer(Optimizer):
    """Adam (Kingma & Ba), with TensorFlow 1's defaults and its form of the bias correction.

    At step t: ``m ← β₁ m + (1 - β₁) g``; ``v ← β₂ v + (1 - β₂) g²``;
    ``var ← var - lr √(1 - β₂ᵗ) / (1 - β₁ᵗ) · m / (√v + ε)``. As in TensorFlow, ``β₁ᵗ`` and ``β₂ᵗ`` are Variables
    (``beta1_power``, ``beta2_power``, one pair per dtype trained) multiplied by β after each step. Slots: ``"m"``,
    ``"v"``.
    """

    name = "Adam"

    def __init__(self, learning_rate: float | Node = 0.001, beta1: float = 0.9, beta2: float = 0.999,
                 epsilon: float = 1e-8, use_locking: bool = False, name: str | None = None):
        super().__init__(use_locking, name)
        self.learning_rate = self._learning_rate(learning_rate)
        self.beta1 = self._check("beta1", beta1, low=0.0, high=1.0, high_open=True)
        self.beta2 = self._check("beta2", beta2, low=0.0, high=1.0, high_open=True)
        self.epsilon = self._check("epsilon", epsilon, low=0.0, low_open=True)
        self._powers: dict[tuple[int, np.dtype], tuple[Variable, Variable]] = {}

    def _beta_powers(self, variable: Variable) -> tuple[Variable, Variable]:
        dtype = _np_dtype(variable.dtype)
        key = (id(variable.graph), dtype)
        if key not in self._powers:
            suffix = "" if not self._powers else f"_{dtype.name}"
            powers = (Variable(np.array(self.beta1, dtype), name="beta1_power" + suffix, trainable=False),
                      Variable(np.array(self.beta2, dtype), name="beta2_power" + suffix, trainable=False))
            self._powers[key] = powers
            self._others += powers
        return self._powers[key]

    def _updates(self, pairs):
        from .ops.elementwise import sqrt

        updates, used = [], {}
        for g, v in pairs:
            beta1_power, beta2_power = self._beta_powers(v)
            used[id(beta1_power)] = (beta1_power, beta2_power)
            rate = self._rate(v) * sqrt(1.0 - beta2_power) / (1.0 - beta1_power)
            m, s = self._slot(v, "m"), self._slot(v, "v")
            new_m = self.beta1 * m + (1.0 - self.beta1) * g
            new_s = self.beta2 * s + (1.0 - self.beta2) * g * g
            updates += [assign(m, new_m), assign(s, new_s), assign(v, v - rate * new_m / (sqrt(new_s) + self.epsilon))]
        for beta1_power, beta2_power in used.values():  # after the step, as TensorFlow's _finish
            updates += [assign(beta1_power, beta1_power * self.beta1), assign(beta2_power, beta2_power * self.beta2)]
        return updates


class RMSPropOptimizer(Optimizer):
    """RMSProp, TensorFlow 1's form:

    ``ms ← decay · ms + (1 - decay) g²``; ``mom ← momentum · mom + lr · g / √(ms + ε)``; ``var ← var - mom``.
    ``ms`` starts at ones (TensorFlow 1's ``"rms"`` slot), ``mom`` at zeros (slot ``"momentum"``). With
    ``centered=True`` a moving mean of the gradient, ``mg ← decay · mg + (1 - decay) g`` (slot ``"mg"``, from
    zeros), is taken out: ``mom ← momentum · mom + lr · g / √(ms - mg² + ε)``.

    Example:
        >>> import numpy as np, symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> w = tf.Variable(np.float64(1.0), name="w")
        >>> train = tf.train.RMSPropOptimizer(0.1, decay=0.5).minimize(tf.square(w))
        >>> sess = tf.Session()
        >>> sess.run(train)  # g = 2, ms = 0.5 + 0.5 * 4 = 2.5, w = 1 - 0.1 * 2 / √2.5
        >>> round(float(sess.run(w)), 6)
        0.873509
    """

    name = "RMSProp"

    def __init__(self, learning_rate: float | Node, decay: float = 0.9, momentum: float = 0.0,
                 epsilon: float = 1e-10, use_locking: bool = False, centered: bool = False, name: str | None = None):
        super().__init__(use_locking, name)
        self.learning_rate = self._learning_rate(learning_rate)
        self.decay = self._check("decay", decay, low=0.0, high=1.0)
        self.momentum = self._check("momentum", momentum, low=0.0)
        self.epsilon = self._check("epsilon", epsilon, low=0.0, low_open=True)
        self.centered = flag(type(self).__name__, "centered", centered)

    def _updates(self, pairs):
        from .ops.elementwise import sqrt

        updates = []
        for g, v in pairs:
            ms, mom = self._slot(v, "rms", 1.0), self._slot(v, "momentum")
            new_ms = self.decay * ms + (1.0 - self.decay) * g * g
            denominator = new_ms + self.epsilon
            if self.centered:
                mg = self._slot(v, "mg")
                new_mg = self.decay * mg + (1.0 - self.decay) * g
                updates.append(assign(mg, new_mg))
                denominator = new_ms - new_mg * new_mg + self.epsilon
            new_mom = self.momentum * mom + self._rate(v) * g / sqrt(denominator)
            updates += [assign(ms, new_ms), assign(mom, new_mom), assign(v, v - new_mom)]
        return updates


class AdagradOptimizer(Optimizer):
    """Adagrad, TensorFlow 1's form: ``accumulator ← accumulator + g²``; ``var ← var - lr · g / √accumulator``.

    The accumulator (slot ``"accumulator"``) starts at ``initial_accumulator_value``, which must be positive.

    Example:
        >>> import numpy as np, symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> w = tf.Variable(np.float64(1.0), name="w")
        >>> train = tf.train.AdagradOptimizer(0.5, initial_accumulator_value=5.0).minimize(tf.square(w))
        >>> sess = tf.Session()
        >>> sess.run(train)  # g = 2, accumulator = 5 + 4, w = 1 - 0.5 * 2 / 3
        >>> round(float(sess.run(w)), 6)
        0.666667
    """

    name = "Adagrad"

    def __init__(self, learning_rate: float | Node, initial_accumulator_value: float = 0.1,
                 use_locking: bool = False, name: str | None = None):
        super().__init__(use_locking, name)
        self.learning_rate = self._learning_rate(learning_rate)
        self.initial_accumulator_value = self._check("initial_accumulator_value", initial_accumulator_value,
                                                     low=0.0, low_open=True)

    def _updates(self, pairs):
        from .ops.elementwise import sqrt

        updates = []
        for g, v in pairs:
            accumulator = self._slot(v, "accumulator", self.initial_accumulator_value)
            new = accumulator + g * g
            updates += [assign(accumulator, new), assign(v, v - self._rate(v) * g / sqrt(new))]
        return updates
