"""Linear algebra: matmul and matrix_inverse (transpose and reshape are movement ops, in :mod:`~symslow.ops.movement`).

Plain SymPy symbols commute (``X*W == W*X``), so the matrix product is its own function in formulas, never ``*``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..graph import Node, format_shape
from ..printing import ArrayTranspose
from .base import Operation, operand
from .movement import reshape, transpose


class matmul(Operation):
    """Matrix product ``a @ b`` of 1-D and 2-D operands, as NumPy's ``matmul``.

    Example:
        >>> import symslow as ts
        >>> _ = ts.Graph().as_default()
        >>> A = ts.Variable([[1, 0], [0, -1]])
        >>> b = ts.Variable([1, 1])
        >>> x = ts.placeholder()
        >>> z = ts.add(ts.matmul(A, x), b)
        >>> ts.Session().run(z, {x: [1, 2]})
        array([ 2., -1.])
    """

    same_dtype_inputs = True

    def __init__(self, a: Any, b: Any, name: str | None = None):
        super().__init__([a, b], name)

    def infer_shape(self, a, b):
        for shape in (a, b):
            if shape is not None and len(shape) not in (1, 2):
                raise self.shape_error(f"takes 1-D or 2-D operands, got shapes {format_shape(a)} and {format_shape(b)}.")
        if a is None or b is None:
            return None
        inner_a, inner_b = a[-1], b[0]
        if inner_a is not None and inner_b is not None and inner_a != inner_b:
            raise self.shape_error(
                f"shapes {format_shape(a)} and {format_shape(b)} are not aligned ({inner_a} != {inner_b})."
            )
        return a[:-1] + b[1:]

    def formula(self, a, b):
        return self.function_for()(a, b)

    @staticmethod
    def print_code(printer, a, b):
        return printer.matmul(a, b)

    @staticmethod
    def print_latex(printer, a, b):
        return f"{a} {b}"

    @staticmethod
    def diagram_text(printer, args, **attrs):
        return f"{args[0]} @ {args[1]}"

    def gradient(self, grad, index):
        from .elementwise import multiply

        a, b = self.input_nodes
        if a.shape is None or b.shape is None:
            return matmul_vjp(grad, a, b, index)
        ranks = (len(a.shape), len(b.shape))
        if ranks == (2, 2):
            return matmul(grad, transpose(b)) if index == 0 else matmul(transpose(a), grad)
        if ranks == (2, 1):  # (m, k) @ (k,) -> (m,)
            return multiply(reshape(grad, (-1, 1)), b) if index == 0 else matmul(transpose(a), grad)
        if ranks == (1, 2):  # (k,) @ (k, n) -> (n,)
            return matmul(b, grad) if index == 0 else multiply(reshape(a, (-1, 1)), grad)
        return multiply(grad, b) if index == 0 else multiply(grad, a)

    def compute(self, a, b):
        return np.matmul(a, b)


class matmul_vjp(Operation):
    """The gradient of a matmul whose operand ranks were unknown when the graph was built (decided at run time)."""

    def __init__(self, grad: Node, a: Node, b: Node, index: int, name: str | None = None):
        self.index = index
        super().__init__([grad, a, b], name)

    def infer_shape(self, g, a, b):
        return (a, b)[self.index]

    def formula(self, g, a, b):
        return self.function_for(index=self.index)(g, a, b)

    @staticmethod
    def print_code(printer, g, a, b, index):
        # g may be a number (a scalar constant gradient): as an array of the backend's module, it has .reshape
        return printer.runtime("matmul_vjp", printer.call("asarray", g), a, b, str(index))

    @staticmethod
    def print_latex(printer, g, a, b, index):
        return f"{g} {b}^T" if index == 0 else f"{a}^T {g}"

    @staticmethod
    def diagram_text(printer, args, index, **attrs):
        g, a, b = args
        return f"{g} @ {b}ᵀ" if index == 0 else f"{a}ᵀ @ {g}"

    def formula_for_shapes(self, g_shape, a_shape, b_shape):
        if (len(a_shape), len(b_shape)) != (2, 2):
            return self.expr
        g, a, b = [operand(n) for n in self.input_nodes]
        product = matmul.function_for()
        return product(g, ArrayTranspose(b)) if self.index == 0 else product(ArrayTranspose(a), g)

    def gradient(self, grad, index):
        raise NotImplementedError(
            f"Second derivatives through matmul {self.input_nodes[1].name!r} @ {self.input_nodes[2].name!r} need "
            "operands of known rank: give the placeholder a shape, e.g. placeholder(shape=(None, 2))."
        )

    def compute(self, g, a, b):
        from .. import runtime

        return runtime.matmul_vjp(np.asarray(g), np.asarray(a), np.asarray(b), self.index)


class matrix_inverse(Operation):
    """The inverse of a square matrix (of each, for a batch ``(..., n, n)``); ``adjoint`` inverts the transpose.

    The gradient is ``-A⁻ᵀ g A⁻ᵀ``, written through the op's output (for a matrix; not yet for a batch).

    Example:
        >>> import symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> tf.Session().run(tf.matrix_inverse(tf.constant([[2.0, 0.0], [0.0, 4.0]])))
        array([[0.5 , 0.  ],
               [0.  , 0.25]], dtype=float32)
    """

    def __new__(cls, input: Any = None, adjoint: bool = False, name: str | None = None):
        if adjoint:  # inv(Aᵀ) = inv(A)ᵀ
            inverse = matrix_inverse(input)
            rank = 2 if inverse.shape is None else len(inverse.shape)  # unknown: a matrix (checked when run)
            perm = (*range(rank - 2), rank - 1, rank - 2) if rank >= 2 else None
            return transpose(inverse, perm, name=name or "matrix_inverse")
        return super().__new__(cls)

    def __init__(self, input: Any = None, adjoint: bool = False, name: str | None = None):
        super().__init__([input], name)  # (adjoint=True never gets here: __new__ returned a transpose)

    def infer_shape(self, shape):
        if shape is None:
            return None
        if len(shape) < 2 or None not in shape[-2:] and shape[-1] != shape[-2]:
            raise self.shape_error(f"takes square matrices (shape (..., n, n)), got shape {format_shape(shape)}.")
        return shape

    def infer_dtype(self, dtype):
        from .base import result_dtype

        return result_dtype(dtype, floating=True)

    def formula(self, x):
        return self.function_for()(x)

    @staticmethod
    def print_code(printer, x):
        return printer.call("linalg.inv", x)

    @staticmethod
    def print_latex(printer, x):
        return rf"\left({x}\right)^{{-1}}" if not x.isalnum() else f"{x}^{{-1}}"

    def gradient(self, grad, index):
        from .elementwise import negative

        if self.shape is not None and len(self.shape) != 2:
            raise NotImplementedError(
                f"The gradient of matrix_inverse {self.name!r} is defined for a matrix, not a batch of shape "
                f"{format_shape(self.shape)}."
            )
        inverse_t = transpose(self, (1, 0))  # a matrix (checked when run where the rank is unknown)
        return negative(matmul(matmul(inverse_t, grad), inverse_t))

    def compute(self, x):
        try:
            return np.linalg.inv(x)
        except np.linalg.LinAlgError as error:
            from ..errors import InvalidArgumentError

            raise InvalidArgumentError(f"Op matrix_inverse (node {self.name!r}): input is not invertible ({error}).")
