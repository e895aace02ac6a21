"""The errors symslow raises, under TensorFlow 1's names where TensorFlow has one.

Every message names the node involved (its name and op) and the shapes or values that were wrong, so a reader can
find the line of their program that built it.
"""

from __future__ import annotations


class SymslowError(Exception):
    """Base class of symslow's own errors."""


class InvalidArgumentError(SymslowError, ValueError):
    """A value fed or computed does not fit the graph: wrong shape, wrong dtype, not a number.

    Raised at graph-building time when static shapes already disagree, and by ``Session.run`` otherwise.
    """


class ShapeError(InvalidArgumentError):
    """Two shapes an op combines are incompatible (both shapes and the op are named in the message)."""


class GraphMismatchError(SymslowError, ValueError):
    """Nodes of different graphs were combined, or a session was asked for a node of another graph."""


class LookupGradientError(SymslowError, LookupError):
    """An op has no gradient rule (a user op without ``@RegisterGradient``)."""


def describe(node) -> str:
    """``'name' (op)``: how messages refer to a node."""
    return f"{node.name!r} ({node.op_type})"
