"""Ops that change Variables: assign and its variants, and ``group`` to run several together.

A run computes every new value from the values the Variables had when the run began, and changes the Variables
only once the whole run has succeeded: a failed run changes nothing, and the order of assignments in one run does
not matter.
"""

from __future__ import annotations

from typing import Any

from ..errors import InvalidArgumentError, describe
from ..graph import Node, Variable, as_node, format_shape
from .base import Operation


class assign(Operation):
    """Set Variable ``ref`` to ``value`` when the run succeeds; the node's value is the new value.

    Example:
        >>> import symslow as ts
        >>> _ = ts.Graph().as_default()
        >>> v = ts.Variable(1.0, name="v")
        >>> session = ts.Session()
        >>> session.run(ts.assign(v, v * 3))
        array(3.)
        >>> session.run(v)
        array(3.)
    """

    op_type = "Assign"
    default_name = "Assign"

    def __init__(self, ref: Variable, value: Any, name: str | None = None):
        if not isinstance(ref, Variable):
            raise InvalidArgumentError(f"assign: the target must be a Variable, not {ref!r}.")
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
        return ref_dtype

    def formula(self, ref, value):
        return value

    def gradient(self, grad, index):
        return None

    def compute(self, ref, value):
        return value


def assign_add(ref: Variable, delta: Any, name: str | None = None) -> assign:
    """Add ``delta`` to Variable ``ref`` (an ``assign`` of ``ref + delta``)."""
    return assign(ref, ref + as_node(delta, ref.graph), name=name or "AssignAdd")


def assign_sub(ref: Variable, delta: Any, name: str | None = None) -> assign:
    """Subtract ``delta`` from Variable ``ref`` (an ``assign`` of ``ref - delta``)."""
    return assign(ref, ref - as_node(delta, ref.graph), name=name or "AssignSub")


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


def describe_assign(node: assign) -> str:
    return f"{describe(node)} on Variable {node.ref.name!r}"
