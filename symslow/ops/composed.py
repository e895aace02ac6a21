"""Shape ops built from the movement primitives: concat, stack, unstack, split, slice, tile, pad, reverse.

Only ``concat`` (a join) and ``reverse`` are ops of their own; the gradient of a ``concat`` is a slice of the
incoming gradient per input, and everything else here is made of slices, zero pads, reshapes and joins, so that
its gradient comes from theirs (see :mod:`symslow.ops.array`). The shape facts ``shape``, ``size`` and ``rank``
close the module.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ShapeError
from ..graph import Node, format_shape
from ..leaves import as_node
from .array import _axes, expand_dims, pad_op, slice_op, squeeze
from .slice_keys import Part, axis_key, ints
from .base import Operation


class concat(Operation):
    """Join ``values`` along ``axis``; the other sizes must agree.

    Example:
        >>> import symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> a, b = tf.constant([[1, 2]]), tf.constant([[3, 4], [5, 6]])
        >>> tf.Session().run(tf.concat([a, b], 0))
        array([[1, 2],
               [3, 4],
               [5, 6]], dtype=int32)
    """

    same_dtype_inputs = True

    def __init__(self, values: Any, axis: Any, name: str | None = None):
        values = [values] if isinstance(values, Node) else list(values)
        if not values:
            raise ValueError("concat takes a non-empty list of values.")
        self.axis = int(axis)
        super().__init__(values, name)

    def infer_shape(self, *shapes):
        known = [s for s in shapes if s is not None]
        if not known:
            return None
        rank = len(known[0])
        listed = ", ".join(format_shape(s) for s in shapes)
        if any(len(s) != rank for s in known) or not -rank <= self.axis < rank:
            raise self.shape_error(f"cannot join shapes {listed} along axis {self.axis} (ranks or axis out of range).")
        axis = self.axis % rank
        result = []
        for i in range(rank):
            sizes = [s[i] for s in known]
            if i == axis:
                result.append(None if len(known) < len(shapes) or None in sizes else sum(sizes))
                continue
            fixed = {d for d in sizes if d is not None}
            if len(fixed) > 1:
                raise self.shape_error(f"shapes {listed} differ on axis {i}, not only on the joining axis {axis}.")
            result.append(fixed.pop() if fixed else None)
        return tuple(result)

    def formula(self, *values):
        return self.function_for(axis=self.axis)(*values)

    @staticmethod
    def print_code(printer, *values, axis):
        return printer.concatenate(values, axis)

    @staticmethod
    def print_latex(printer, *values, axis):
        return rf"\left[{', '.join(values)}\right]"

    @staticmethod
    def diagram_text(printer, args, axis, **attrs):
        return f"concat({', '.join(args)}; axis={axis})"

    def gradient(self, grad, index):
        part = Part(self.axis, index)
        key = part.resolve(None, [v.shape for v in self.input_nodes], self)
        if key is not None:
            return slice_op(grad, key=key)
        return slice_op(grad, *self.input_nodes, key=part)

    def compute(self, *values):
        return np.concatenate(values, axis=self.axis)


def stack(values: Any, axis: int = 0, name: str = "stack") -> Node:
    """Stack tensors of one shape along a new axis ``axis`` (a join of the values, each with an axis inserted).

    Example:
        >>> import symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> tf.Session().run(tf.stack([tf.constant([1, 2]), tf.constant([3, 4])], axis=1))
        array([[1, 3],
               [2, 4]], dtype=int32)
    """
    values = list(values)
    if not values:
        raise ValueError("stack takes a non-empty list of values.")
    nodes = [as_node(v, next((n.graph for n in values if isinstance(n, Node)), None)) for v in values]
    shapes = [n.shape for n in nodes if n.shape is not None]
    sizes = [{d for d in dims if d is not None} for dims in zip(*shapes)]  # an unknown size fits any
    if len({len(s) for s in shapes}) > 1 or any(len(known) > 1 for known in sizes):
        raise ShapeError(f"Op stack: the values must have one shape, got {', '.join(format_shape(s) for s in shapes)}.")
    return concat([expand_dims(n, axis) for n in nodes], axis, name=name)


def _static_axis(value: Node, axis: int, op: str) -> tuple[int, int | None]:
    """``axis`` made non-negative where the rank is known, and the static size along it."""
    if value.shape is None:
        return axis, None
    rank = len(value.shape)
    if not -rank <= axis < rank:
        raise ShapeError(f"Op {op}: axis {axis} is out of range for {value.name!r} "
                         f"of shape {format_shape(value.shape)}.")
    return axis % rank, value.shape[axis % rank]


def unstack(value: Any, num: int | None = None, axis: int = 0, name: str = "unstack") -> list[Node]:
    """The slices of ``value`` along ``axis``, each without that axis (``num`` of them; the static size by default).

    Example:
        >>> import symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> rows = tf.unstack(tf.constant([[1, 2], [3, 4]]))
        >>> tf.Session().run(rows)
        [array([1, 2], dtype=int32), array([3, 4], dtype=int32)]
    """
    value = as_node(value)
    axis, n = _static_axis(value, int(axis), "unstack")
    if num is not None and n is not None and int(num) != n:
        raise ShapeError(f"Op unstack: num={num} but axis {axis} of {value.name!r} has size {n}.")
    n = n if num is None else int(num)
    if n is None:
        raise ValueError(f"unstack: cannot infer num from the shape {format_shape(value.shape)} of {value.name!r}; "
                         "give num= or a placeholder shape.")
    pieces = [slice_op(value, key=axis_key(axis, (i, i + 1 if i != -1 else None, True))) for i in range(n)]
    return [squeeze(p, axis=[axis], name=name) for p in pieces]


def split(value: Any, num_or_size_splits: Any, axis: int = 0, num: int | None = None,
          name: str = "split") -> list[Node]:
    """Split ``value`` along ``axis`` into that many equal pieces (an int) or pieces of those sizes (one may be -1).

    Example:
        >>> import symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> x = tf.constant([1, 2, 3, 4, 5, 6])
        >>> [p.shape for p in tf.split(x, 3)], [p.shape for p in tf.split(x, [1, -1])]
        ([(2,), (2,), (2,)], [(1,), (5,)])
    """
    value = as_node(value)
    axis, n = _static_axis(value, int(axis), "split")
    if np.ndim(num_or_size_splits) == 0 and not isinstance(num_or_size_splits, Node):
        count = int(num_or_size_splits)
        if count < 1:
            raise ValueError(f"split: the number of pieces must be positive, got {count}.")
        if n is None:  # the pieces' bounds are decided by the size fed
            return [slice_op(value, key=Part(axis, i, count), name=name) for i in range(count)]
        if n % count:
            raise ShapeError(f"Op split: axis {axis} of {value.name!r} (shape {format_shape(value.shape)}) cannot be "
                             f"split into {count} equal pieces.")
        num_or_size_splits = [n // count] * count
    sizes = list(ints(num_or_size_splits, "split size_splits"))
    if sizes.count(-1) > 1 or any(s < -1 for s in sizes):
        raise ValueError(f"split: size_splits {sizes} may hold one -1 and no other negative size.")
    if n is not None and -1 in sizes:
        sizes[sizes.index(-1)] = n - sum(s for s in sizes if s != -1)
    if n is not None and (sum(sizes) != n or min(sizes) < 0):
        raise ShapeError(f"Op split: sizes {list(ints(num_or_size_splits, 'split'))} do not add up to the size {n} of "
                         f"axis {axis} of {value.name!r} (shape {format_shape(value.shape)}).")
    if -1 in sizes[:-1]:
        raise ValueError(f"split: a -1 before the last size needs the static size of axis {axis} of {value.name!r}.")
    pieces, start = [], 0
    for s in sizes:
        stop = None if s == -1 else start + s
        pieces.append(slice_op(value, key=axis_key(axis, (start, stop, True)), name=name))
        start = stop
    return pieces


def slice(input_: Any, begin: Any, size: Any, name: str | None = None) -> Node:
    """The block of ``input_`` starting at index ``begin`` with ``size`` elements per axis (-1: to the end).

    Example:
        >>> import symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> x = tf.constant([[1, 2, 3], [4, 5, 6]])
        >>> tf.Session().run(tf.slice(x, [0, 1], [-1, 2]))
        array([[2, 3],
               [5, 6]], dtype=int32)
    """
    begin, size = ints(begin, "slice begin"), ints(size, "slice size")
    if len(begin) != len(size) or any(b < 0 for b in begin) or any(s < -1 for s in size):
        raise ValueError(f"slice: begin {list(begin)} and size {list(size)} must have one length, begin no negative "
                         "index and size no negative size but -1.")
    key = tuple((b, None if s == -1 else b + s, True) for b, s in zip(begin, size))
    node = slice_op(input_, key=key, name=name or "slice")
    if node.input_nodes[0].shape is not None and len(node.input_nodes[0].shape) != len(key):
        raise node.shape_error(f"begin {list(begin)} is for rank {len(key)}, the input has shape "
                               f"{format_shape(node.input_nodes[0].shape)}.")
    return node


def tile(input: Any, multiples: Any, name: str | None = None) -> Node:
    """``input`` repeated ``multiples[i]`` times along each axis i (joins of copies).

    Example:
        >>> import symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> tf.Session().run(tf.tile(tf.constant([[1, 2]]), [2, 2]))
        array([[1, 2, 1, 2],
               [1, 2, 1, 2]], dtype=int32)
    """
    from .elementwise import identity

    x = as_node(input)
    multiples = ints(multiples, "tile multiples")
    if x.shape is not None and len(multiples) != len(x.shape) or any(m < 0 for m in multiples):
        raise ShapeError(f"Op tile: multiples {list(multiples)} must be one non-negative count per axis of "
                         f"{x.name!r} (shape {format_shape(x.shape)}).")
    for axis, m in enumerate(multiples):
        if m == 0:
            x = slice_op(x, key=axis_key(axis, (0, 0, True)))
        elif m > 1:
            x = concat([x] * m, axis)
    return identity(x, name=name or "tile")


def pad(tensor: Any, paddings: Any, mode: str = "CONSTANT", name: str | None = None, constant_values: Any = 0) -> Node:
    """Pad ``tensor`` with ``paddings[i] = [before, after]`` elements on axis i: constants, or the ``REFLECT``ed or
    ``SYMMETRIC`` mirror image of the edge (without or with the edge itself).

    Example:
        >>> import symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> x = tf.constant([[1, 2, 3]])
        >>> tf.Session().run([tf.pad(x, [[0, 0], [1, 1]]), tf.pad(x, [[0, 0], [2, 0]], "REFLECT")])
        [array([[0, 1, 2, 3, 0]], dtype=int32), array([[3, 2, 1, 2, 3]], dtype=int32)]
    """
    from .elementwise import identity

    x = as_node(tensor)
    widths = ints(paddings, "pad paddings")
    pairs = tuple(zip(widths[0::2], widths[1::2]))
    mode = str(mode).upper()
    if len(widths) % 2 or mode not in ("CONSTANT", "REFLECT", "SYMMETRIC"):
        raise ValueError(f"pad: paddings must be [before, after] pairs and mode CONSTANT, REFLECT or SYMMETRIC; got "
                         f"{paddings!r} and {mode!r}.")
    if mode == "CONSTANT":
        return pad_op(x, pairs, float(np.asarray(constant_values)), name=name)
    if x.shape is not None and len(x.shape) != len(pairs):
        raise ShapeError(f"Op pad: paddings {[list(p) for p in pairs]} are for rank {len(pairs)}, {x.name!r} has "
                         f"shape {format_shape(x.shape)}.")
    edge = 1 if mode == "REFLECT" else 0
    for axis, (lo, hi) in enumerate(pairs):
        n = None if x.shape is None else x.shape[axis]
        if n is not None and max(lo, hi) > n - edge:
            raise ShapeError(f"Op pad: paddings {[lo, hi]} on axis {axis} must be at most {n - edge} in {mode} mode "
                             f"for {x.name!r} of shape {format_shape(x.shape)}.")
        parts = [x]
        if lo:
            parts.insert(0, reverse(slice_op(x, key=axis_key(axis, (edge, edge + lo, True))), [axis]))
        if hi:
            parts.append(reverse(slice_op(x, key=axis_key(axis, (-hi - edge, -edge or None, True))), [axis]))
        x = concat(parts, axis) if len(parts) > 1 else x
    return identity(x, name=name or "pad")


class reverse(Operation):
    """Reverse the order of the elements along each axis in ``axis`` (its own transpose).

    Example:
        >>> import symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> tf.Session().run(tf.reverse(tf.constant([[1, 2, 3]]), axis=[1]))
        array([[3, 2, 1]], dtype=int32)
    """

    def __init__(self, tensor: Any, axis: Any, name: str | None = None):
        self.axis = _axes(axis, "reverse axis")
        super().__init__([tensor], name)

    def infer_shape(self, shape):
        if shape is not None and any(not -len(shape) <= a < len(shape) for a in self.axis):
            raise self.shape_error(f"axis {self.axis} is out of range for an input of shape {format_shape(shape)}.")
        return shape

    def infer_dtype(self, dtype):
        return dtype

    def formula(self, x):
        return self.function_for(axis=self.axis)(x)

    @staticmethod
    def print_code(printer, x, axis):
        return printer.flip(x, axis)

    @staticmethod
    def print_latex(printer, x, axis):
        return rf"\operatorname{{reverse}}\left({x}\right)"

    def gradient(self, grad, index):
        return reverse(grad, self.axis)

    def compute(self, x):
        return np.flip(x, axis=self.axis)


class _shape_fact(Operation):
    """A fact about an input's shape as an integer tensor (``shape``, ``size``, ``rank``); it has no gradient."""

    numpy_function = ""  # numpy.shape, numpy.size or numpy.ndim

    def __init__(self, input: Any, name: str | None = None, out_type: Any = None):
        self.out_type = np.dtype(getattr(out_type, "as_numpy_dtype", out_type or np.int32)).type
        super().__init__([input], name)

    def infer_dtype(self, dtype):
        return self.out_type

    def formula(self, x):
        return self.function_for(out_type=np.dtype(self.out_type).name)(x)

    @classmethod
    def print_code(cls, printer, x, out_type):
        return printer.cast(printer.call(cls.numpy_function, x), out_type)

    @classmethod
    def print_latex(cls, printer, x, out_type):
        return rf"\operatorname{{{cls.op_type}}}\left({x}\right)"

    def gradient(self, grad, index):
        return None

    def compute(self, x):
        return np.asarray(getattr(np, self.numpy_function)(x), dtype=self.out_type)


def shape(input: Any, name: str | None = None, out_type: Any = None) -> Node:
    """The shape of ``input`` as a vector of ``out_type`` (int32), computed when the graph runs.

    Example:
        >>> import symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> x = tf.placeholder(tf.float32, shape=[None, 3])
        >>> tf.Session().run(tf.shape(x), {x: [[1, 2, 3], [4, 5, 6]]})
        array([2, 3], dtype=int32)
    """
    return shape_of(input, name, out_type)


class shape_of(_shape_fact):
    """The op behind :func:`shape` (a class named ``shape`` would hide the ``shape`` of its own nodes)."""

    op_type = "shape"
    numpy_function = "shape"

    def infer_shape(self, shape):
        return (None,) if shape is None else (len(shape),)


class size(_shape_fact):
    """The number of elements of ``input`` as an ``out_type`` (int32) scalar.

    Example:
        >>> import symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> int(tf.Session().run(tf.size(tf.constant([[1.0, 2.0, 3.0]]))))
        3
    """

    numpy_function = "size"

    def infer_shape(self, shape):
        return ()


class rank(_shape_fact):
    """The number of axes of ``input`` as an int32 scalar.

    Example:
        >>> import symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> int(tf.Session().run(tf.rank(tf.constant([[1.0, 2.0, 3.0]]))))
        2
    """

    numpy_function = "ndim"

    def __init__(self, input: Any, name: str | None = None):
        super().__init__(input, name)

    def infer_shape(self, shape):
        return ()
