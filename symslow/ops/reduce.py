"""The sum and its transposes: reduce_sum, and the broadcasts that run it backwards.

The transpose of a sum is a broadcast (``broadcast_like``), and the transpose of a broadcast is a sum
(``sum_to``, the un-broadcast that makes a bias gradient sum over the batch; :func:`unbroadcast` gives an
elementwise op's input its share). The mean and TensorFlow 1's other reductions are in
:mod:`~symslow.ops.reductions`.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import sympy

from ..graph import Node
from ..printing import ArraySum
from .base import Operation, operand, result_dtype
from .movement import reshape


def normalize_axis(axis: Any, rank: int | None, op: Operation) -> tuple[int, ...] | None:
    """``None`` (all axes) or a sorted tuple of axes, non-negative when the rank is known."""
    if axis is None:
        return None
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    if not all(isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in axes):
        raise op.shape_error(f"axis must be None, an int or a tuple of ints, not {axis!r}.")
    axes = tuple(int(a) for a in axes)
    if rank is not None:
        for a in axes:
            if not -rank <= a < max(rank, 1):
                raise op.shape_error(f"axis {a} is out of range for an input of rank {rank}.")
        axes = tuple(sorted(a % max(rank, 1) for a in axes))
    if len(set(axes)) != len(axes):
        raise op.shape_error(f"axis {axis!r} repeats an axis.")
    return axes


def reduced_shape(shape, axis, keepdims):
    if axis is None and not keepdims:
        return ()  # a sum over everything is a scalar, whatever the input's rank
    if shape is None:
        return None
    if axis is None:
        return tuple(1 for _ in shape) if keepdims else ()
    if any(a < 0 for a in axis):
        return None
    return tuple((1 if keepdims else None) if i in axis else d for i, d in enumerate(shape) if keepdims or i not in axis)


def tf1_alias(op_name: str, name: str, value: Any, old_name: str, old_value: Any) -> Any:
    """The value of an argument TensorFlow 1 also spells by an older name (``keep_dims`` for ``keepdims``)."""
    if old_value is None:
        return value
    if value is not None:
        raise ValueError(f"{op_name}: cannot specify both {name!r} and {old_name!r} (its old name).")
    return old_value


class Reduction(Operation):
    """A reduction over ``axis`` by one NumPy function (``numpy_function``), keeping size-1 axes if ``keepdims``.

    ``axis`` is None (all axes), an int or a tuple; TensorFlow 1's old names ``reduction_indices`` and
    ``keep_dims`` are accepted beside ``axis`` and ``keepdims``.
    """

    numpy_function = "sum"

    def __init__(self, input_tensor: Any, axis: Any = None, keepdims: Any = None, name: str | None = None,
                 reduction_indices: Any = None, keep_dims: Any = None):
        axis = tf1_alias(self.op_type, "axis", axis, "reduction_indices", reduction_indices)
        keepdims = tf1_alias(self.op_type, "keepdims", keepdims, "keep_dims", keep_dims)
        self.axis_argument, self.keepdims = axis, bool(keepdims)
        super().__init__([input_tensor], name)
        shape = self.input_nodes[0].shape
        self.axis = normalize_axis(axis, None if shape is None else len(shape), self)

    def infer_shape(self, shape):
        axis = normalize_axis(self.axis_argument, None if shape is None else len(shape), self)
        return reduced_shape(shape, axis, self.keepdims)

    def formula(self, x):
        return self.function_for(axis=self.axis, keepdims=self.keepdims)(x)

    @classmethod
    def print_code(cls, printer, x, axis, keepdims):
        return printer.reduce(cls.numpy_function, x, axis, keepdims)

    def compute(self, x):
        return getattr(np, self.numpy_function)(x, axis=self.axis, keepdims=self.keepdims)


def _latex_reduction(symbol: str, x: str, axis) -> str:
    index = "" if axis is None else "_{" + ",".join("ijklmn"[a] if 0 <= a < 6 else str(a) for a in axis) + "}"
    plain = x.replace("_", "").replace("{", "").replace("}", "").isalnum()
    return rf"{symbol}{index} {x}" if plain else rf"{symbol}{index} \left({x}\right)"


class reduce_sum(Reduction):
    """Sum over ``axis`` (None: all axes; an int; a tuple), keeping the reduced axes as size 1 if ``keepdims``.

    Example:
        >>> import symslow as ts
        >>> _ = ts.Graph().as_default()
        >>> x = ts.constant([[1.0, 2.0], [3.0, 4.0]])
        >>> ts.Session().run([ts.reduce_sum(x), ts.reduce_sum(x, axis=1), ts.reduce_sum(x, 0, keepdims=True)])
        [np.float32(10.0), array([3., 7.], dtype=float32), array([[4., 6.]], dtype=float32)]
        >>> ts.Session().run(ts.reduce_sum(x, reduction_indices=[1], keep_dims=True))  # TensorFlow 1's old names
        array([[3.],
               [7.]], dtype=float32)
    """

    @staticmethod
    def print_latex(printer, x, axis, keepdims):
        return _latex_reduction(r"\sum", x, axis)

    @staticmethod
    def diagram_text(printer, args, axis, **attrs):
        where = "" if axis is None else ", axis=" + ",".join(map(str, axis))
        return f"Σ({args[0]}{where})"

    def formula_for_shapes(self, shape):
        if not shape:
            return self.expr
        axes = tuple(range(len(shape))) if self.axis is None else tuple(a % len(shape) for a in self.axis)
        keepdims = sympy.true if self.keepdims else sympy.false
        return ArraySum(operand(self.input_nodes[0]), sympy.Tuple(*axes), keepdims, sympy.Tuple(*shape))

    def gradient(self, grad, index):
        return broadcast_like(grad, self.input_nodes[0], axis=None if self.keepdims else self.axis)


class count(Operation):
    """The number of elements a reduction over ``axis`` takes together (for a mean whose shape is not static)."""

    def __init__(self, x: Node, axis: tuple | None, name: str | None = None):
        self.axis = axis
        super().__init__([x], name)

    def infer_shape(self, shape):
        return ()

    def infer_dtype(self, dtype):
        return dtype if dtype is not None and np.dtype(dtype).kind == "f" else result_dtype(float)

    def formula(self, x):
        return self.function_for(axis=self.axis)(x)

    @staticmethod
    def print_code(printer, x, axis):
        return printer.runtime("count", x, repr(axis))

    @staticmethod
    def print_latex(printer, x, axis):
        return rf"\left|{x}\right|"

    @staticmethod
    def diagram_text(printer, args, **attrs):
        return f"|{args[0]}|"

    def formula_for_shapes(self, shape):
        n = 1
        for axis in range(len(shape)) if self.axis is None else self.axis:
            n *= shape[axis]
        return sympy.Integer(n)

    def gradient(self, grad, index):
        return None  # a count does not change with the values

    def compute(self, x):
        from .. import runtime

        return float(runtime.count(x, self.axis))


class broadcast_like(Operation):
    """Broadcast ``g`` to the shape of ``like``, first re-inserting the ``axis`` a reduction removed.

    The transpose of ``reduce_sum``: it carries a sum's gradient back to the shape of the summed input.
    """

    def __init__(self, g: Node, like: Node, axis: tuple | None = None, name: str | None = None):
        self.axis = axis
        super().__init__([g, like], name)

    def infer_shape(self, g_shape, like_shape):
        return like_shape

    def infer_dtype(self, g_dtype, like_dtype):
        return result_dtype(g_dtype, like_dtype)

    def formula(self, g, like):
        shape = self.shape if self.shape is not None and None not in self.shape else None
        return self.function_for(axis=self.axis, shape=shape)(g, like)

    @staticmethod
    def print_code(printer, g, like, axis, shape):
        if axis is not None:
            g = printer.expand_dims(g, axis)
        return printer.broadcast_to(g, repr(shape) if shape is not None else printer.shape(like))

    @staticmethod
    def print_latex(printer, g, like, axis, shape):
        return g

    @staticmethod
    def print_text(args, **attrs):
        return f"broadcast({args[0]} to {args[1]})"

    def gradient(self, grad, index):
        if index == 1:
            return None  # only the shape of `like` is used
        if self.axis is not None:
            return reduce_sum(grad, axis=self.axis, keepdims=False)
        return sum_to(grad, self.input_nodes[0])

    def compute(self, g, like):
        import numpy as np

        if self.axis is not None:
            g = np.expand_dims(g, self.axis)
        return np.broadcast_to(g, np.shape(like))


class sum_to_op(Operation):
    """Sum ``g`` down to the shape of ``like``: the transpose of broadcasting (un-broadcast).

    ``plan`` is ``(leading axes, size-1 axes of like)`` when the static shapes decide it, else ``None`` and the
    axes are found at run time.
    """

    op_type = "sum_to"

    def __init__(self, g: Node, like: Node, plan: tuple | None = None, name: str | None = None):
        self.plan = plan
        super().__init__([g, like], name)

    def infer_shape(self, g_shape, like_shape):
        return like_shape

    def infer_dtype(self, g_dtype, like_dtype):
        return result_dtype(g_dtype)

    def formula(self, g, like):
        return self.function_for(plan=self.plan)(g, like)

    @staticmethod
    def print_code(printer, g, like, plan):
        if plan is None or all(plan):  # (one sum over every axis, as runtime.sum_to adds them, not two)
            return printer.runtime("sum_to", g, like)
        lead, ones = plan
        if lead:
            g = printer.reduce("sum", g, lead)
        if ones:
            g = printer.reduce("sum", g, ones, keepdims=True)
        return g

    @staticmethod
    def print_latex(printer, g, like, plan):
        return rf"\operatorname{{unbroadcast}}\left({g}\right)"

    @staticmethod
    def print_text(args, **attrs):
        return f"unbroadcast({args[0]} to {args[1]})"

    def formula_for_shapes(self, g_shape, like_shape):
        plan = broadcast_plan([g_shape, like_shape], 1)  # the gradient has the broadcast's full shape
        if plan is None:
            return self.expr
        lead, ones = plan
        expr = operand(self.input_nodes[0])
        if lead and ones:  # one sum over every axis, as runtime.sum_to adds them (two sums would add in another order)
            axes = (*lead, *(len(lead) + a for a in ones))
            total = ArraySum(expr, sympy.Tuple(*axes), sympy.true, sympy.Tuple(*g_shape))
            return reshape.function_for(shape=tuple(like_shape))(total)
        if lead:
            return ArraySum(expr, sympy.Tuple(*lead), sympy.false, sympy.Tuple(*g_shape))
        if ones:
            return ArraySum(expr, sympy.Tuple(*ones), sympy.true, sympy.Tuple(*g_shape))
        return expr

    def gradient(self, grad, index):
        return broadcast_like(grad, self.input_nodes[0]) if index == 0 else None

    def compute(self, g, like):
        from .. import runtime

        return runtime.sum_to(g, like)


def broadcast_plan(shapes: list, index: int) -> tuple | None:
    """``(leading axes, size-1 axes)`` along which operand ``index`` of a broadcast was expanded.

    ``None`` when the static shapes cannot tell (an unknown size that may be 1 next to a larger one). Summing over
    a size-1 axis that was not expanded changes nothing, so such axes are always safe to include.
    """
    if any(s is None for s in shapes):
        return None
    x = shapes[index]
    rank = max(len(s) for s in shapes)
    lead = rank - len(x)
    ones = []
    for i, size in enumerate(x):
        axis = lead + i
        others = [s[axis - rank + len(s)] for j, s in enumerate(shapes) if j != index and axis - rank + len(s) >= 0]
        if size == 1 and any(o != 1 for o in others):
            ones.append(i)
        elif size is None and others and not all(o == 1 for o in others):
            return None  # this size may be 1 while another is larger
    return tuple(range(lead)), tuple(ones)


def unbroadcast(contribution: Node, inputs: Sequence[Node], index: int) -> Node:
    """An input's share of an elementwise gradient, summed back to the input's shape where it was broadcast.

    Only another input of higher or unknown rank or size can have broadcast this one: next to scalars, an input
    keeps its shape, and so does the gradient.
    """
    others = [n for i, n in enumerate(inputs) if i != index and n is not inputs[index]]
    if all(n.shape == () for n in others):
        return contribution
    return sum_to(contribution, inputs[index], broadcast_plan([n.shape for n in inputs], index))


def sum_to(g: Node, like: Node, plan: tuple | None = None) -> Node:
    """``g`` summed down to the shape of ``like``; ``g`` itself when nothing was broadcast.

    ``plan`` (from :func:`broadcast_plan`) says which axes; without it the static shapes of ``g`` and ``like`` do.
    """
    if plan is None:
        plan = broadcast_plan([g.shape, like.shape], 1)
    if plan == ((), ()):
        return g
    return sum_to_op(g, like, plan, name="sum_to")


class fill_like(Operation):
    """An array of the shape and dtype of ``like`` filled with ``value`` (``ones_like``, ``zeros_like``)."""

    def __init__(self, like: Node, value: float, name: str | None = None):
        self.value = float(value)
        super().__init__([like], name)

    def infer_shape(self, shape):
        return shape

    def infer_dtype(self, dtype):
        return result_dtype(dtype)

    def formula(self, like):
        return self.function_for(value=self.value)(like)

    @staticmethod
    def print_code(printer, like, value):
        return printer.call("full_like", like, repr(value))

    @staticmethod
    def print_latex(printer, like, value):
        return sympy.latex(sympy.Float(value) if value != int(value) else sympy.Integer(int(value)))

    @staticmethod
    def diagram_text(printer, args, value, **attrs):
        return f"{printer.number(value)} like {args[0]}"

    def gradient(self, grad, index):
        return None

    def compute(self, like):
        import numpy as np

        return np.full_like(like, self.value)
