"""Shape and movement ops: two primitives, ``slice`` and ``pad``, and what is built from them.

A slice and a zero pad are each other's transpose: the gradient of a slice is a pad with zeros back to the shape of
the sliced input (:class:`unslice`), and the gradient of a pad is the slice that cuts the padding off. ``concat``,
``split``, ``stack``, ``unstack``, ``tile`` and the reflecting pads are built from these (and from ``expand_dims``
and ``squeeze``, two reshapes), so they need no gradient op of their own.

A slice's key is a tuple of ``(start, stop, exact)`` entries, one per leading axis, with Python's meaning of
``start`` and ``stop`` (``None``, negative from the end); ``Ellipsis`` may stand for the axes in between. An ``exact``
entry must lie inside the axis (``tf.slice``, an integer index); the others clip, as Python's slices do. Where the
bounds depend on sizes known only at run time (the gradient of a ``concat`` of unknown sizes, an even ``split``),
the key is a :class:`~symslow.ops.slice_keys.Part`, resolved once the compiler or the interpreter knows the shapes
(:mod:`~symslow.ops.slice_keys`).
"""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from ..graph import Node, format_shape
from ..printing import latex_operand
from .base import Operation, operand
from .movement import reshape_like
from .slice_keys import Part, _resolved, expand_key, ints, key_text, python_key, sliced_shape

class slice_op(Operation):
    """The slicing primitive: ``x[key]`` with unit steps (see the module's docstring for the key).

    Its inputs after ``x`` are only references for a :class:`Part` key. Use :func:`~symslow.ops.composed.slice` or
    indexing (``x[1:3]``).
    """

    op_type = "slice"

    def __init__(self, x: Any, *refs: Node, key: tuple | Part, name: str | None = None):
        self.key = key
        super().__init__([x, *refs], name)

    def infer_shape(self, shape, *ref_shapes):
        return sliced_shape(self, _resolved(self, [shape, *ref_shapes]), shape)

    def infer_dtype(self, dtype, *ref_dtypes):
        return dtype

    def formula(self, x, *refs):
        return self.function_for(key=self.key)(x, *refs)

    def formula_for_shapes(self, *shapes):
        return self.function_for(key=_resolved(self, shapes))(operand(self.input_nodes[0]))

    @staticmethod
    def print_code(printer, x, *refs, key):
        if isinstance(key, Part):
            raise NotImplementedError(f"a slice along axis {key.axis} whose bounds depend on shapes unknown "
                                      "when compiling")
        text = key_text(key)
        return printer.index(x, text) if text else x

    @staticmethod
    def print_latex(printer, x, *refs, key):
        where = "?" if isinstance(key, Part) else key_text(key).replace(":", "{:}")
        return rf"{{{latex_operand(x)}}}_{{\left[{where}\right]}}"  # (braced: W_{2} sliced is one subscript)

    @staticmethod
    def diagram_text(printer, args, key, **attrs):
        where = "?" if isinstance(key, Part) else key_text(key) if key is not None else ""
        return f"{args[0]}[{printer.escape(where)}]"

    def gradient(self, grad, index):
        if index:
            return None  # references lend only their shapes
        return unslice(grad, self.input_nodes[0], *self.input_nodes[1:], key=self.key)

    def compute(self, x, *refs):
        key = _resolved(self, [np.shape(x), *[np.shape(r) for r in refs]])
        return np.asarray(x)[python_key(key)]


def pad_widths(key: tuple, shape: tuple, op: Operation) -> tuple:
    """The ``(before, after)`` zeros that put ``x[key]`` back in place in an array of ``shape``."""
    widths = []
    for entry, n in zip(expand_key(key, len(shape), op), shape):
        r = range(n)[builtins.slice(entry[0], entry[1])]
        widths.append((r.start, n - max(r.start, r.stop)))
    return tuple(widths)


class unslice(Operation):
    """``g`` put in place ``key`` of an array of zeros shaped like ``like``: the transpose of a slice, a zero pad."""

    def __init__(self, g: Node, like: Node, *refs: Node, key: tuple | Part, name: str | None = None):
        self.key = key
        super().__init__([g, like, *refs], name)

    def infer_shape(self, g_shape, like_shape, *ref_shapes):
        return like_shape

    def infer_dtype(self, g_dtype, *dtypes):
        return g_dtype

    def formula(self, g, like, *refs):
        return self.function_for(key=self.key)(g, like, *refs)

    def formula_for_shapes(self, g_shape, like_shape, *ref_shapes):
        widths = pad_widths(_resolved(self, [like_shape, *ref_shapes]), like_shape, self)
        return pad_op.function_for(paddings=widths, value=0.0)(operand(self.input_nodes[0]))

    @staticmethod
    def print_code(printer, g, like, *refs, key):
        raise NotImplementedError("the gradient of a slice needs the sliced input's shape when compiling")

    @staticmethod
    def print_latex(printer, g, like, *refs, key):
        return rf"\operatorname{{unslice}}\left({g}\right)"

    @staticmethod
    def diagram_text(printer, args, **attrs):
        return f"{args[0]} into zeros like {args[1]}"

    def gradient(self, grad, index):
        return slice_op(grad, *self.input_nodes[2:], key=self.key) if index == 0 else None

    def compute(self, g, like, *refs):
        key = _resolved(self, [np.shape(like), *[np.shape(r) for r in refs]])
        result = np.zeros(np.shape(like), dtype=np.asarray(g).dtype)
        result[python_key(key)] = g
        return result


class pad_op(Operation):
    """The padding primitive: ``x`` with ``paddings[i] = (before, after)`` elements of ``value`` around axis i.

    Use :func:`~symslow.ops.composed.pad` (``tf.pad``) from programs.
    """

    op_type = "pad"

    def __init__(self, x: Any, paddings: tuple, value: float = 0.0, name: str | None = None):
        self.paddings = tuple((int(lo), int(hi)) for lo, hi in paddings)
        self.value = float(value)
        if any(lo < 0 or hi < 0 for lo, hi in self.paddings):
            raise ValueError(f"pad: paddings must not be negative, got {[list(p) for p in self.paddings]}.")
        super().__init__([x], name)

    def infer_shape(self, shape):
        if shape is None:
            return None
        if len(shape) != len(self.paddings):
            raise self.shape_error(f"paddings {[list(p) for p in self.paddings]} are for rank {len(self.paddings)}, "
                                   f"the input has shape {format_shape(shape)}.")
        return tuple(None if n is None else n + lo + hi for n, (lo, hi) in zip(shape, self.paddings))

    def infer_dtype(self, dtype):
        return dtype

    def formula(self, x):
        return self.function_for(paddings=self.paddings, value=self.value)(x)

    @staticmethod
    def print_code(printer, x, paddings, value):
        if not paddings:  # a scalar: nothing to pad (NumPy's pad refuses an empty pad width)
            return x
        return printer.pad(x, paddings, value)

    @staticmethod
    def print_latex(printer, x, paddings, value):
        return rf"\operatorname{{pad}}\left({x}\right)"

    @staticmethod
    def diagram_text(printer, args, **attrs):
        return f"pad({args[0]})"

    def gradient(self, grad, index):
        return slice_op(grad, key=tuple((lo, -hi if hi else None, True) for lo, hi in self.paddings))

    def compute(self, x):
        if not self.paddings:
            return np.asarray(x)
        return np.pad(np.asarray(x), self.paddings, constant_values=self.value)


def _axes(axis: Any, what: str) -> tuple[int, ...]:
    return (int(axis),) if np.ndim(axis) == 0 else ints(axis, what)


class expand_dims(Operation):
    """Insert an axis of size 1 at ``axis`` (negative: counted from the end of the result). A reshape.

    TensorFlow 1's ``dim=`` is accepted for ``axis``.

    Example:
        >>> import symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> x = tf.constant([1.0, 2.0])
        >>> tf.expand_dims(x, 0).shape, tf.expand_dims(x, -1).shape
        ((1, 2), (2, 1))
    """

    def __init__(self, input: Any, axis: Any = None, name: str | None = None, dim: Any = None):
        if axis is None:
            axis = dim
        if axis is None:
            raise TypeError("expand_dims takes an axis (axis= or TensorFlow 1's dim=).")
        self.axis = _axes(axis, "expand_dims axis")
        super().__init__([input], name)

    def infer_shape(self, shape):
        if shape is None:
            return None
        rank = len(shape) + len(self.axis)
        if any(not -rank <= a < rank for a in self.axis) or len({a % rank for a in self.axis}) != len(self.axis):
            raise self.shape_error(f"axis {self.axis} is out of range for an input of shape {format_shape(shape)}.")
        new = {a % rank for a in self.axis}
        dims = iter(shape)
        return tuple(1 if i in new else next(dims) for i in range(rank))

    def infer_dtype(self, dtype):
        return dtype

    def formula(self, x):
        return self.function_for(axis=self.axis)(x)

    @staticmethod
    def print_code(printer, x, axis):
        return printer.expand_dims(x, axis[0] if len(axis) == 1 else axis)

    @staticmethod
    def print_latex(printer, x, axis):
        return x

    def gradient(self, grad, index):
        return reshape_like(grad, self.input_nodes[0])

    def compute(self, x):
        return np.expand_dims(x, self.axis)


class squeeze(Operation):
    """Remove axes of size 1: those in ``axis`` (TensorFlow 1's ``squeeze_dims=``), or all of them. A reshape.

    Example:
        >>> import symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> x = tf.constant([[[1.0], [2.0]]])
        >>> tf.squeeze(x).shape, tf.squeeze(x, axis=[2]).shape, tf.squeeze(x, squeeze_dims=[0]).shape
        ((2,), (1, 2), (2, 1))
    """

    def __init__(self, input: Any, axis: Any = None, name: str | None = None, squeeze_dims: Any = None):
        if axis is None:
            axis = squeeze_dims
        self.axis = None if axis is None else _axes(axis, "squeeze axis")
        super().__init__([input], name)

    def infer_shape(self, shape):
        if shape is None:
            return None
        if self.axis is None:
            return None if None in shape else tuple(d for d in shape if d != 1)
        rank = len(shape)
        if any(not -rank <= a < rank for a in self.axis):
            raise self.shape_error(f"axis {self.axis} is out of range for an input of shape {format_shape(shape)}.")
        axes = {a % rank for a in self.axis}
        for a in sorted(axes):
            if shape[a] not in (1, None):
                raise self.shape_error(f"cannot squeeze axis {a} of size {shape[a]} "
                                       f"(input shape {format_shape(shape)}).")
        return tuple(d for i, d in enumerate(shape) if i not in axes)

    def infer_dtype(self, dtype):
        return dtype

    def formula(self, x):
        return self.function_for(axis=self.axis)(x)

    @staticmethod
    def print_code(printer, x, axis):
        return printer.squeeze(x, axis)

    @staticmethod
    def print_latex(printer, x, axis):
        return x

    def gradient(self, grad, index):
        return reshape_like(grad, self.input_nodes[0])

    def compute(self, x):
        return np.squeeze(x, axis=self.axis)

