"""Ops that change Variables: assign and its variants, and ``group`` to run several together.

A run computes every new value from the values the Variables had when the run began, and changes the Variables
only once the whole run has succeeded: a failed run changes nothing, and the order of assignments in one run does
not matter.

``Variable.assign``, ``Variable.assign_add`` and ``Variable.assign_sub`` build these ops too.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import sympy

from ..errors import InvalidArgumentError, describe
from ..graph import Node, format_shape
from ..leaves import Constant, Variable, as_node
from .base import Operation


class assign(Operation):
    """Set Variable ``ref`` to ``value`` when the run succeeds; the node's value is the new value.

    ``value`` has the Variable's shape, or is a scalar (then every element gets it). ``validate_shape`` and
    ``use_locking`` are TensorFlow 1's arguments, accepted and ignored (a Variable never changes shape here, and
    runs commit their updates atomically).

    Example:
        >>> import symslow as ts
        >>> _ = ts.Graph().as_default()
        >>> v = ts.Variable(1.0, name="v")
        >>> session = ts.Session()
        >>> float(session.run(ts.assign(v, v * 3)))
        3.0
        >>> float(session.run(v))
        3.0
        >>> float(session.run(ts.assign(v, 5.0)))
        5.0
    """

    op_type = "Assign"
    default_name = "Assign"

    def __init__(self, ref: Variable, value: Any, validate_shape: Any = None, use_locking: Any = None,
                 name: str | None = None):
        if not isinstance(ref, Variable):
            raise InvalidArgumentError(f"assign: the target must be a Variable, not {ref!r}.")
        if not isinstance(value, Node):
            value = Constant(value, dtype=ref.dtype if _fits(value, ref.dtype) else None, graph=ref.graph)
        super().__init__([ref, value], name)

    @property
    def ref(self) -> Variable:
        return self.input_nodes[0]

    def infer_shape(self, ref_shape, value_shape):
        if value_shape is not None and len(value_shape) != len(ref_shape) and value_shape != ():
            raise self.shape_error(
                f"cannot assign a value of shape {format_shape(value_shape)} to Variable of shape {format_shape(ref_shape)}."
            )
        if value_shape is not None and value_shape != ():
            for a, b in zip(ref_shape, value_shape):
                if b is not None and a != b:
                    raise self.shape_error(
                        f"cannot assign a value of shape {format_shape(value_shape)} to Variable of shape "
                        f"{format_shape(ref_shape)}."
                    )
        return ref_shape

    def infer_dtype(self, ref_dtype, value_dtype):
        ref_kind = np.dtype(ref_dtype).kind
        if value_dtype is not None and ref_kind in "iub" and np.dtype(value_dtype).kind in "fc":
            raise InvalidArgumentError(
                f"Op {self.op_type} (node {self.display_name!r}): cannot assign a value of dtype "
                f"{np.dtype(value_dtype).name} to Variable of dtype {np.dtype(ref_dtype).name}."
            )
        return ref_dtype

    def formula(self, ref, value):
        # The new value has the Variable's shape: a scalar (a number once the compiler has folded it, printed as a
        # Python float) is broadcast to it, and so is any value whose static shape is not exactly the Variable's.
        value_node = self.input_nodes[1]
        if value_node.shape == self.ref.shape and self.ref.shape != () and not isinstance(value, sympy.Number):
            return value
        return self.function_for(shape=tuple(int(d) for d in self.ref.shape))(ref, value)  # diagrams: ref ← value

    @staticmethod
    def print_code(printer, ref, value, shape):
        return printer.broadcast_to(value, repr(shape))

    @staticmethod
    def print_latex(printer, ref, value, shape):
        return value

    @staticmethod
    def diagram_text(printer, args, **attrs):
        return f"{args[0]} ← {args[1]}"

    def gradient(self, grad, index):
        return None

    def compute(self, ref, value):
        # the Variable's dtype and shape, as TensorFlow converts an assigned value to its Variable's dtype
        return np.array(np.broadcast_to(value, np.shape(ref)), dtype=self.dtype)


def _fits(value: Any, dtype) -> bool:
    """Whether a Python or NumPy value converts to ``dtype`` without losing its kind (2.0 to an int32 does not)."""
    try:
        kind = np.asarray(value).dtype.kind
    except (ValueError, TypeError):  # ragged lists: the constant names the problem
        return False
    target = np.dtype(dtype).kind
    return kind in "biu" or (kind == "f" and target in "fc") or (kind == "c" and target == "c")


def assign_add(ref: Variable, value: Any = None, use_locking: Any = None, name: str | None = None, *,
               delta: Any = None) -> assign:
    """Add ``value`` to Variable ``ref``: an ``assign`` of ``ref + value`` (TensorFlow 1's ``tf.assign_add``).

    Example:
        >>> import symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> step = tf.Variable(0, name="step")
        >>> sess = tf.Session()
        >>> for _ in range(3):
        ...     _ = sess.run(tf.assign_add(step, 1))
        >>> int(sess.run(step))
        3
    """
    return _update(ref, value, delta, "assign_add", lambda r, d: r + d, name or "AssignAdd")


def assign_sub(ref: Variable, value: Any = None, use_locking: Any = None, name: str | None = None, *,
               delta: Any = None) -> assign:
    """Subtract ``value`` from Variable ``ref``: an ``assign`` of ``ref - value`` (TensorFlow 1's ``tf.assign_sub``).

    Example:
        >>> import symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> w = tf.Variable([1.0, 2.0], name="w")
        >>> tf.Session().run(tf.assign_sub(w, [0.5, 0.5])).tolist()
        [0.5, 1.5]
    """
    return _update(ref, value, delta, "assign_sub", lambda r, d: r - d, name or "AssignSub")


def _update(ref: Any, value: Any, delta: Any, op: str, combine, name: str) -> assign:
    if not isinstance(ref, Variable):
        raise InvalidArgumentError(f"{op}: the target must be a Variable, not {ref!r}.")
    if value is None:
        value = delta
    if value is None:
        raise TypeError(f"{op} takes the Variable and the value to combine with it, e.g. {op}(v, 1).")
    if not isinstance(value, Node):
        value = Constant(value, dtype=ref.dtype if _fits(value, ref.dtype) else None, graph=ref.graph)
    return assign(ref, combine(ref, as_node(value, ref.graph)), name=name)


class group(Operation):
    """Run several nodes together; fetching a group gives ``None`` (TensorFlow 1's ``tf.group``)."""

    op_type = "NoOp"
    default_name = "group"

    def __init__(self, *inputs: Node, name: str | None = None):
        if len(inputs) == 1 and isinstance(inputs[0], (list, tuple)):
            inputs = tuple(inputs[0])
        for node in inputs:
            if not isinstance(node, Node):
                raise TypeError(f"group takes nodes, not {node!r}.")
        super().__init__(inputs, name)

    def infer_shape(self, *shapes):
        return None

    def formula(self, *inputs):
        return None

    def gradient(self, grad, index):
        return None

    def compute(self, *values):
        return None


def check_one_assignment_each(order: Sequence[Node]) -> list[assign]:
    """The ``assign`` nodes of a run's nodes (in evaluation order), or an error if two assign one Variable.

    A run commits its new values together, so two assignments of one Variable would leave it to the order of the
    commit which one wins; every backend refuses such a run before computing anything.
    """
    updates = [n for n in order if isinstance(n, assign)]
    first: dict[int, assign] = {}
    for update in updates:
        earlier = first.setdefault(id(update.ref), update)
        if earlier is not update:
            raise InvalidArgumentError(
                f"Variable {update.ref.name!r} is assigned twice in one run, by {earlier.name!r} and "
                f"{update.name!r}; run them separately."
            )
    return updates


def describe_assign(node: assign) -> str:
    return f"{describe(node)} on Variable {node.ref.name!r}"
