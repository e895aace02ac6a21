"""Indexing: ``x[1:3, 0]``, ``gather`` and ``one_hot``.

Indexing is made of the movement primitives: a slice with unit steps, a ``squeeze`` of the axes an integer picked, an
``expand_dims`` for each ``None`` (new axis); a step other than 1 is a ``gather`` of the indices it takes. The
gradient of ``gather`` adds the incoming gradient into zeros at the gathered indices (:class:`gather_vjp`).
"""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from ..dtypes import literal_array
from ..errors import InvalidArgumentError
from ..graph import Node, format_shape
from ..leaves import as_node
from .array import expand_dims, slice_op, squeeze
from .slice_keys import FULL
from .base import Operation, operand


def _entry(item: Any, what: str) -> tuple:
    """The slice entry of one index item (an int or a unit-step slice)."""
    if isinstance(item, (int, np.integer)) and not isinstance(item, (bool, np.bool_)):
        i = int(item)
        return (i, i + 1 if i != -1 else None, True)
    if isinstance(item, builtins.slice):
        bounds = [None if b is None else int(b) for b in (item.start, item.stop)]
        return (bounds[0], bounds[1], False)
    raise TypeError(f"{what}: index items must be ints, slices, None or ..., not {item!r}.")


def getitem(node: Any, key: Any) -> Node:
    """``node[key]`` as NumPy and TensorFlow index: ints, slices (any step), ``None`` (a new axis) and ``...``.

    Install it as ``Node.__getitem__``. A step other than 1 needs the static size of its axis.

    Example:
        >>> import symslow as tf
        >>> from symslow.ops.indexing import getitem
        >>> _ = tf.Graph().as_default()
        >>> x = tf.constant([[1, 2, 3], [4, 5, 6]])
        >>> tf.Session().run([getitem(x, (slice(None), 0)), getitem(x, (Ellipsis, slice(None, None, -1), None))])
        [array([1, 4], dtype=int32), array([[[3],
                [2],
                [1]],
        <BLANKLINE>
               [[6],
                [5],
                [4]]], dtype=int32)]
    """
    x = as_node(node)
    items = key if isinstance(key, tuple) else (key,)
    if any(isinstance(i, Node) for i in items):
        raise TypeError(f"Indexing {x.name!r}: index with ints and slices; for indices in a tensor use tf.gather.")
    if sum(i is Ellipsis for i in items) > 1:
        raise IndexError(f"Indexing {x.name!r}: an index can only have a single ellipsis ('...').")
    at = next((k for k, i in enumerate(items) if i is Ellipsis), len(items))
    before, after = items[:at], items[at + 1:]
    entries = [(_entry(i, f"Indexing {x.name!r}"), i) for i in (*before, *after) if i is not None]
    n_before = sum(i is not None for i in before)
    axes = [k if k < n_before else k - len(entries) for k in range(len(entries))]  # the input axis of each entry
    if x.shape is not None and len(entries) > len(x.shape):
        raise IndexError(f"Indexing {x.name!r}: {len(entries)} indices for shape {format_shape(x.shape)}.")
    strided = [(axis, item) for axis, (_, item) in zip(axes, entries)
               if isinstance(item, builtins.slice) and item.step not in (None, 1)]
    key = [FULL if isinstance(item, builtins.slice) and item.step not in (None, 1) else e for e, item in entries]
    key = tuple(key[:n_before]) + ((Ellipsis, *key[n_before:]) if at < len(items) and key[n_before:] else ())
    y = slice_op(x, key=key) if any(e != FULL for e in key) else x
    for axis, item in strided:
        y = _strided(y, axis, item)
    dropped = [axis for axis, (_, item) in zip(axes, entries) if not isinstance(item, builtins.slice)]
    if dropped:
        y = squeeze(y, axis=dropped)
    new = _new_axes(before, after)
    if new:
        y = expand_dims(y, new)
    return y if y is not x else slice_op(x, key=())


def _new_axes(before: tuple, after: tuple) -> list[int]:
    """Where the ``None`` items put new axes in the result: counted from its start before the ellipsis, from its end
    after it."""
    new, position = [], 0
    for item in before:
        if item is None:
            new.append(position)
        if item is None or isinstance(item, builtins.slice):
            position += 1
    position = -1
    for item in reversed(after):
        if item is None:
            new.append(position)
        if item is None or isinstance(item, builtins.slice):
            position -= 1
    return new


def _strided(x: Node, axis: int, item: builtins.slice) -> Node:
    """``x[..., start:stop:step, ...]`` on one axis, as a gather of the indices the step takes."""
    n = None if x.shape is None else x.shape[axis]
    if n is None:
        raise ValueError(f"Indexing {x.name!r} with step {item.step} needs the static size of axis {axis} "
                         f"(shape {format_shape(x.shape)}): give the placeholder a shape.")
    if item.step == 0:
        raise ValueError(f"Indexing {x.name!r}: slice step cannot be zero.")
    indices = np.arange(n)[item]
    return gather(x, as_node(indices.astype(np.int32), x.graph), axis=axis)


class gather(Operation):
    """The slices of ``params`` along ``axis`` at ``indices`` (any shape of integers): ``params[indices]`` for axis 0.

    Example:
        >>> import symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> table = tf.constant([[0.0, 0.1], [1.0, 1.1], [2.0, 2.1]])
        >>> tf.Session().run(tf.gather(table, [2, 0, 2]))
        array([[2. , 2.1],
               [0. , 0.1],
               [2. , 2.1]], dtype=float32)
    """

    def __init__(self, params: Any, indices: Any, validate_indices: Any = None, name: str | None = None,
                 axis: int = 0):
        self.axis = int(axis)
        if not isinstance(indices, Node):  # written in Python: integers, whatever dtype the params have
            indices = as_node(indices, params.graph if isinstance(params, Node) else None)
        super().__init__([params, indices], name)
        dtype = self.input_nodes[1].dtype
        if dtype is not None and np.dtype(dtype).kind not in "iu":
            raise TypeError(f"Op gather (node {self.name!r}): indices must be integers, "
                            f"not {np.dtype(dtype).name} ({self.input_nodes[1].name!r}).")

    def infer_shape(self, params, indices):
        if params is not None and not -len(params) <= self.axis < len(params):
            raise self.shape_error(f"axis {self.axis} is out of range for params of shape {format_shape(params)}.")
        if params is None or indices is None:
            return None
        axis = self.axis % len(params)
        return tuple(params[:axis]) + tuple(indices) + tuple(params[axis + 1:])

    def infer_dtype(self, params, indices):
        return params

    def formula(self, params, indices):
        return self.function_for(axis=self.axis)(params, indices)

    @staticmethod
    def print_code(printer, params, indices, axis):
        return printer.take(params, printer.checked_indices(printer.call("asarray", indices), printer.dim(params, axis)),
                            axis)

    @staticmethod
    def print_latex(printer, params, indices, axis):
        return rf"{params}_{{\left[{indices}\right]}}"

    @staticmethod
    def diagram_text(printer, args, **attrs):
        return f"{args[0]}[{args[1]}]"

    def gradient(self, grad, index):
        return gather_vjp(grad, self.input_nodes[1], self.input_nodes[0], self.axis) if index == 0 else None

    def compute(self, params, indices):
        params, indices = np.asarray(params), np.asarray(indices)
        _check_indices(self, indices, params.shape, "params")
        return np.take(params, indices, axis=self.axis)


def _check_indices(op: Operation, indices: np.ndarray, shape: tuple, what: str) -> None:
    """A clear error naming ``op`` where an index lies outside [0, n) on ``op.axis`` of an array of ``shape``."""
    n = shape[op.axis]
    if indices.size and (indices.min() < 0 or indices.max() >= n):
        bad = indices[(indices < 0) | (indices >= n)].ravel()[0]
        raise InvalidArgumentError(f"Op {op.op_type} (node {op.name!r}): index {bad} is out of range [0, {n}) on axis "
                                   f"{op.axis} of {what} of shape {format_shape(shape)}.")


class gather_vjp(Operation):
    """The gradient of ``gather``: ``g`` added into zeros shaped like ``like`` at ``indices`` along ``axis``.

    Printed as a contraction with the one-hot encoding of the indices, one expression on every backend.
    """

    def __init__(self, g: Node, indices: Node, like: Node, axis: int, name: str | None = None):
        self.axis = axis
        super().__init__([g, indices, like], name)

    def infer_shape(self, g, indices, like):
        return like

    def infer_dtype(self, g, indices, like):
        return g

    def formula(self, g, indices, like):
        return self.function_for(axis=self.axis, depth=None, rank=None)(g, indices, like)

    def formula_for_shapes(self, g_shape, indices_shape, like_shape):
        g, indices = operand(self.input_nodes[0]), operand(self.input_nodes[1])
        axis, rank = self.axis % len(like_shape), len(indices_shape)
        function = self.function_for(axis=axis, depth=like_shape[axis], rank=rank)
        return function(g, indices)

    @staticmethod
    def print_code(printer, g, indices, *like, axis, depth, rank):
        if depth is None:
            raise NotImplementedError("the gradient of gather needs the shapes of its inputs when compiling")
        g = g if g.isidentifier() else printer.call("asarray", g)
        indices = printer.checked_indices(printer.call("asarray", indices), str(depth))
        hot = printer.call("equal", printer.expand_dims(indices, -1), printer.call("arange", str(depth)))
        summed = printer.tensordot(printer.astype(hot, printer.dtype_of(g)), g,
                                   (tuple(range(rank)), tuple(range(axis, axis + rank))))
        return summed if axis == 0 else printer.call("moveaxis", summed, "0", str(axis))

    @staticmethod
    def print_latex(printer, g, indices, *like, axis, depth, rank):
        return rf"\operatorname{{scatter\_add}}\left({g}, {indices}\right)"

    @staticmethod
    def diagram_text(printer, args, **attrs):
        return f"scatter-add({args[0]} at {args[1]})"

    def gradient(self, grad, index):
        return gather(grad, self.input_nodes[1], axis=self.axis) if index == 0 else None

    def compute(self, g, indices, like):
        g, indices = np.asarray(g), np.asarray(indices)
        axis = self.axis % np.ndim(like)
        _check_indices(self, indices, np.shape(like), "a gradient")
        result = np.zeros(np.shape(like), dtype=g.dtype)
        rank = indices.ndim
        moved = np.moveaxis(g, list(range(axis, axis + rank)), list(range(rank)))
        np.add.at(np.moveaxis(result, axis, 0), indices, moved)  # moveaxis gives a view: this adds into result
        return result


class one_hot(Operation):
    """``on_value`` where the index equals the position along a new axis ``axis`` of size ``depth``, else
    ``off_value`` (indices outside [0, depth) give a row of ``off_value``). It has no gradient in the indices.

    Example:
        >>> import symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> tf.Session().run(tf.one_hot([0, 2, -1], 3))
        array([[1., 0., 0.],
               [0., 0., 1.],
               [0., 0., 0.]], dtype=float32)
    """

    def __init__(self, indices: Any, depth: int, on_value: Any = None, off_value: Any = None, axis: int | None = None,
                 dtype: Any = None, name: str | None = None):
        self.depth = int(depth)
        if dtype is None:  # the dtype of the values written, by TensorFlow 1's rule (a Python int is int32)
            written = [v for v in (on_value, off_value) if v is not None]
            dtype = literal_array(written[0]).dtype if written else np.float32
        self.out_type = np.dtype(getattr(dtype, "as_numpy_dtype", dtype)).type
        self.on = 1 if on_value is None else np.asarray(on_value).item()
        self.off = 0 if off_value is None else np.asarray(off_value).item()
        self.axis = -1 if axis is None else int(axis)
        if self.depth < 0:
            raise ValueError(f"one_hot: depth must not be negative, got {depth}.")
        super().__init__([indices], name)

    def infer_shape(self, shape):
        if shape is None:
            return None
        if not -1 <= self.axis <= len(shape):
            raise self.shape_error(f"axis {self.axis} is out of range for indices of shape {format_shape(shape)}.")
        axis = len(shape) if self.axis == -1 else self.axis
        return tuple(shape[:axis]) + (self.depth,) + tuple(shape[axis:])

    def infer_dtype(self, dtype):
        if dtype is not None and np.dtype(dtype).kind not in "iu":
            raise TypeError(f"Op one_hot (node {self.display_name!r}): indices must be integers, "
                            f"not {np.dtype(dtype).name}.")
        return self.out_type

    def formula(self, indices):
        attrs = dict(depth=self.depth, on=self.on, off=self.off, axis=self.axis, dtype=np.dtype(self.out_type).name)
        return self.function_for(**attrs)(indices)

    @staticmethod
    def print_code(printer, indices, depth, on, off, axis, dtype):
        hot = printer.call("equal", printer.expand_dims(indices, -1), printer.call("arange", str(depth)))
        filled = printer.astype(printer.call("where", hot, repr(on), repr(off)), repr(dtype))
        return filled if axis == -1 else printer.call("moveaxis", filled, "-1", str(axis))

    @staticmethod
    def print_latex(printer, indices, depth, on, off, axis, dtype):
        return rf"\operatorname{{one\_hot}}_{{{depth}}}\left({indices}\right)"

    def gradient(self, grad, index):
        return None

    def compute(self, indices):
        hot = np.expand_dims(np.asarray(indices), -1) == np.arange(self.depth)
        result = np.where(hot, self.on, self.off).astype(self.out_type)
        return result if self.axis == -1 else np.moveaxis(result, -1, self.axis)
