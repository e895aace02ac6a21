"""The keys of slices: a tuple of ``(start, stop, exact)`` entries, one per leading axis, with Python's meaning of
``start`` and ``stop`` (``None``, negative from the end), ``Ellipsis`` for the axes in between; checked against a
shape, sized, printed as Python's index, and, where bounds depend on sizes known only at run time, a :class:`Part`
resolved once the shapes are known."""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from ..graph import Node, format_shape
from .base import Operation


FULL = (None, None, False)  # an axis taken whole


def _sized(x: Any, what: str) -> int:
    if isinstance(x, Node) and hasattr(x, "value"):
        x = x.value  # a constant node
    whole = isinstance(x, (int, np.integer)) or np.ndim(x) == 0 and float(x) == int(x)
    if isinstance(x, (bool, np.bool_)) or not whole:
        raise TypeError(f"{what}: expected an integer, got {x!r}.")
    return int(x)


def ints(values: Any, what: str) -> tuple[int, ...]:
    """A tuple of Python ints from an int, a list, an array or a constant node (``what`` names the argument)."""
    if isinstance(values, Node):
        if not hasattr(values, "value"):
            raise TypeError(f"{what} must be known when the graph is built (a list or a constant), "
                            f"not node {values.name!r}.")
        values = values.value
    return tuple(_sized(v, what) for v in np.ravel(np.asarray(values)))


def expand_key(key: tuple, rank: int, op: Operation) -> list:
    """One ``(start, stop, exact)`` entry per axis: the Ellipsis (or the end) filled with whole axes."""
    if Ellipsis in key:
        at = key.index(Ellipsis)
        before, after = key[:at], key[at + 1:]
    else:
        before, after = key, ()
    fill = rank - len(before) - len(after)
    if fill < 0:
        count = len(before) + len(after)
        raise op.shape_error(f"index [{key_text(key)}] has {count} entries for an input of rank {rank}.")
    return [*before, *([FULL] * fill), *after]


def entry_size(entry: tuple, n: int | None, axis: int, op: Operation, shape) -> int | None:
    """The size of one axis after slicing it (``n`` its size, None when unknown); errors for an exact entry outside."""
    start, stop, exact = entry
    if n is None:
        if exact and start is not None and stop is not None and (start >= 0) == (stop >= 0):
            return max(stop - start, 0)
        if exact and start is not None and start < 0 and stop is None:
            return -start
        return None
    if exact:
        s = 0 if start is None else start + n if start < 0 else start
        e = n if stop is None else stop + n if stop < 0 else stop
        if not 0 <= s <= e <= n:
            raise op.shape_error(
                f"[{_entry_text(entry)}] is out of range for axis {axis} of size {n} "
                f"(input shape {format_shape(shape)})."
            )
    return len(range(n)[builtins.slice(start, stop)])


def _entry_text(entry) -> str:
    if entry is Ellipsis:
        return "..."
    start, stop = entry[0], entry[1]
    return f"{'' if start is None else start}:{'' if stop is None else stop}"


def key_text(key: tuple) -> str:
    """``1:3, :, -1:`` (whole axes at the end left out)."""
    parts = [_entry_text(e) for e in key]
    while parts and parts[-1] == ":":
        parts.pop()
    return ", ".join(parts)


def python_key(key: tuple) -> tuple:
    """The key as Python indexes a NumPy array with it."""
    return tuple(e if e is Ellipsis else builtins.slice(e[0], e[1]) for e in key)


def axis_key(axis: int, entry: tuple) -> tuple:
    """A key slicing one axis (a negative axis counts from the end, through an Ellipsis)."""
    if axis >= 0:
        return (FULL,) * axis + (entry,)
    return (Ellipsis, entry) + (FULL,) * (-axis - 1)


@dataclass(frozen=True)
class Part:
    """A key that the shapes decide: along ``axis``, piece ``index`` of ``count`` equal pieces of the sliced input
    (``split``), or, when ``count`` is None, the place of reference input ``index`` among the reference inputs laid
    end to end (the gradient of ``concat``)."""

    axis: int
    index: int
    count: int | None = None

    def resolve(self, x_shape, ref_shapes: Sequence, op: Operation) -> tuple | None:
        """The concrete key, or None while a size it needs is unknown."""
        if self.count is not None:
            if x_shape is None or x_shape[self.axis] is None:
                return None
            n = x_shape[self.axis]
            if n % self.count:
                raise op.shape_error(f"axis {self.axis} of size {n} (shape {format_shape(x_shape)}) cannot be split "
                                     f"into {self.count} equal pieces.")
            size = n // self.count
            start = self.index * size
            return axis_key(self.axis % len(x_shape), (start, start + size, True))
        if any(s is None or s[self.axis] is None for s in ref_shapes):
            return None
        sizes = [s[self.axis] for s in ref_shapes]
        start = sum(sizes[: self.index])
        return axis_key(self.axis % len(ref_shapes[0]), (start, start + sizes[self.index], True))


def _resolved(op: Operation, shapes: Sequence) -> tuple | None:
    key = op.key
    return key.resolve(shapes[0], shapes[1:], op) if isinstance(key, Part) else key


def sliced_shape(op: Operation, key: tuple | None, shape) -> tuple | None:
    if shape is None:
        return None
    if key is None:  # a Part not resolved yet: that axis is unknown
        axis = op.key.axis % len(shape)
        return tuple(None if i == axis else d for i, d in enumerate(shape))
    entries = expand_key(key, len(shape), op)
    return tuple(entry_size(e, n, i, op, shape) for i, (e, n) in enumerate(zip(entries, shape)))
