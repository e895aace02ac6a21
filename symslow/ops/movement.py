"""Movement ops: transpose and reshape, which move an array's values without changing any.

Each one's gradient is the same kind of move run backwards: a transpose by the inverse permutation, a reshape back
to the input's shape (``reshape_like``, which takes that shape from the input node when the run decides it).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..graph import Node, format_shape
from ..printing import ArrayTranspose
from .base import Operation, operand


class transpose(Operation):
    """Permute the axes (reverse them when ``perm`` is None); ``x.T`` for a matrix.

    Example:
        >>> import symslow as ts
        >>> _ = ts.Graph().as_default()
        >>> ts.Session().run(ts.transpose(ts.constant([[1, 2, 3]], dtype=ts.int64)))
        array([[1],
               [2],
               [3]])
    """

    def __init__(self, x: Any, perm: Any = None, name: str | None = None):
        self.perm = None if perm is None else tuple(int(p) for p in perm)
        super().__init__([x], name)

    def infer_shape(self, shape):
        if shape is None:
            return None
        if self.perm is None:
            return tuple(reversed(shape))
        if sorted(self.perm) != list(range(len(shape))):
            raise self.shape_error(f"perm {self.perm} is not a permutation of the axes of shape {format_shape(shape)}.")
        return tuple(shape[p] for p in self.perm)

    def formula(self, x):
        return self.function_for(perm=self.perm)(x)

    @staticmethod
    def print_code(printer, x, perm):
        # transpose(), not `.T`: the operand may be a number (a scalar constant gradient), which has no `.T`
        return printer.call("transpose", x) if perm is None else printer.call("transpose", x, repr(perm))

    @staticmethod
    def print_latex(printer, x, perm):
        return rf"\left({x}\right)^{{T}}" if not x.isalnum() else f"{x}^{{T}}"

    @staticmethod
    def diagram_text(printer, args, **attrs):
        return f"{args[0]}ᵀ"

    def formula_for_shapes(self, shape):
        if self.perm is None and shape:
            return ArrayTranspose(operand(self.input_nodes[0]))  # an array: `.T` needs no call
        return self.expr

    def gradient(self, grad, index):
        if self.perm is None:
            return transpose(grad)
        return transpose(grad, tuple(int(i) for i in np.argsort(self.perm)))

    def compute(self, x):
        return np.transpose(x, self.perm)


class reshape(Operation):
    """Give ``x`` a new shape with the same number of elements (one size may be -1).

    Example:
        >>> import symslow as ts
        >>> _ = ts.Graph().as_default()
        >>> ts.reshape(ts.constant([1, 2, 3, 4]), (2, -1)).shape
        (2, 2)
    """

    def __init__(self, x: Any, shape: Any, name: str | None = None):
        self.target = tuple(int(d) for d in ((shape,) if isinstance(shape, int) else shape))
        if sum(d == -1 for d in self.target) > 1 or any(d < -1 for d in self.target):
            raise ValueError(f"reshape: {shape!r} has more than one -1 or a negative size.")
        super().__init__([x], name)

    def infer_shape(self, shape):
        known = int(np.prod([d for d in self.target if d != -1]))
        if shape is not None and None not in shape:
            size = int(np.prod(shape))
            if (-1 not in self.target and size != known) or (-1 in self.target and (known == 0 or size % known)):
                raise self.shape_error(f"cannot reshape {format_shape(shape)} ({size} elements) to {self.target}.")
            return tuple(size // known if d == -1 else d for d in self.target)
        return tuple(None if d == -1 else d for d in self.target)

    def formula(self, x):
        return self.function_for(shape=self.target)(x)

    @staticmethod
    def print_code(printer, x, shape):
        return printer.call("reshape", x, repr(shape))

    @staticmethod
    def print_latex(printer, x, shape):
        return x

    def gradient(self, grad, index):
        return reshape_like(grad, self.input_nodes[0])

    def compute(self, x):
        return np.reshape(x, self.target)


class reshape_like(Operation):
    """Reshape ``x`` to the shape of ``like`` (the gradient of a reshape)."""

    def __init__(self, x: Node, like: Node, name: str | None = None):
        super().__init__([x, like], name)

    def infer_shape(self, x, like):
        return like

    def infer_dtype(self, x, like):
        return x

    def formula(self, x, like):
        shape = self.shape if self.shape is not None and None not in self.shape else None
        return self.function_for(shape=shape)(x, like)

    @staticmethod
    def print_code(printer, x, like, shape):
        return printer.call("reshape", x, repr(shape) if shape is not None else printer.shape(like))

    @staticmethod
    def print_latex(printer, x, like, shape):
        return x

    def formula_for_shapes(self, x_shape, like_shape):
        return reshape.function_for(shape=tuple(like_shape))(operand(self.input_nodes[0]))

    def gradient(self, grad, index):
        return reshape_like(grad, self.input_nodes[0]) if index == 0 else None

    def compute(self, x, like):
        return np.reshape(x, np.shape(like))
