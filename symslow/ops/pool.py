r"""Pooling: ``max_pool`` and ``avg_pool`` over windows of NHWC images, and their gradients.

* ``max_pool``'s gradient routes each output pixel's gradient to the first maximum of its window, row by row, as
  TensorFlow does (:class:`max_pool_grad`); that op's own gradient reads the incoming gradient at the same
  positions (:class:`max_pool_grad_grad`), and the gradient of that one is ``max_pool_grad`` again. With respect to
  the pooled values themselves both are zero wherever they have a derivative.
* ``avg_pool`` is linear: its gradient shares each output pixel's gradient evenly among the input pixels of its
  window (:class:`avg_pool_grad`; with "SAME" padding, only the pixels inside the image count), and the gradient of
  that is ``avg_pool`` again.

In formulas each typesets as a function with its window, stride and padding in a subscript (as the convolutions
do, :mod:`symslow.ops.conv`), and a gradient as the transpose (``^{\top}``) of its pooling, which carries the
incoming gradient back: :math:`\operatorname{avgpool}^{\top}_{2\times2,\,s=2,\,\mathrm{SAME}}(g)`. A max pool's
gradient depends on where the maxima of ``x`` are, which follows a bar:
:math:`\operatorname{maxpool}^{\top}_{2\times2,\,s=2,\,\mathrm{VALID}}(g \mid x)` sends each value of ``g`` to the
maximum of its window of ``x``, and :math:`\operatorname{maxpool}_{2\times2,\,s=2,\,\mathrm{VALID}}(h \mid x)`
reads ``h`` there.

The array code is in :mod:`symslow.ops.conv_kernels`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..graph import Node, format_shape
from . import conv_kernels
from .base import Operation, operand, result_dtype
from .window import (check_rank4, floating_dtype, format_attr, future_name, one_of,
                     padding_attr, spatial_size, window_attr, window_latex)


class _Pool(Operation):
    """What the pooling ops share: the window, the strides and the padding."""

    def _attrs(self, ksize: tuple, strides: tuple, padding: str) -> None:
        self.ksize, self.strides, self.padding = ksize, strides, padding
        self.dilations = (1, 1)

    @classmethod
    def _parse(cls, value, ksize, strides, padding, data_format, name) -> tuple:
        node_name = future_name(cls, [value], name)
        format_attr(data_format, cls, node_name)
        ksize = window_attr(ksize, "ksize", cls, node_name, "pooling windows")
        strides = window_attr(strides, "strides", cls, node_name)
        return ksize, strides, padding_attr(padding, cls, node_name)

    def _function(self, **extra):
        return self.function_for(**extra, ksize=self.ksize, strides=self.strides, padding=self.padding)

    def _pooled_shape(self, x, *others) -> tuple:
        """The shape of the pooled ``x``."""
        check_rank4(self, (x, *others), ("value",) * (1 + len(others)))
        if x is None:
            return (None,) * 4
        hw = [spatial_size(self, n, k, s, 1, axis, (x,))
              for n, k, s, axis in zip(x[1:3], self.ksize, self.strides, ("height", "width"))]
        return (x[0], *hw, x[3])

    def _check_grad_shape(self, g, expected, what: str) -> None:
        if g is None:
            return
        if len(g) != 4 or any(None not in (a, b) and a != b for a, b in zip(g, expected)):
            raise self.shape_error(f"{what} has shape {format_shape(g)}, but the pooled value has shape "
                                   f"{format_shape(expected)}.")


def _pool_latex(name: str, ksize, strides, padding, value: str, at: str | None = None, transposed: bool = False
                ) -> str:
    r"""``\operatorname{name}_{window}(value)``; ``^{\top}`` for a gradient; ``(value | at)`` where the maxima of
    ``at`` decide."""
    top = r"^{\top}" if transposed else ""
    inside = value if at is None else rf"{value} \,\middle|\, {at}"
    return rf"\operatorname{{{name}}}{top}_{{{window_latex(padding, strides, ksize=ksize)}}}\left({inside}\right)"


class _PoolImages(_Pool):
    """What ``max_pool`` and ``avg_pool`` share: TensorFlow's arguments, and the shape of the pooled images."""

    def __init__(self, value: Any = None, ksize: Any = None, strides: Any = None, padding: Any = None,
                 data_format: str = "NHWC", name: str | None = None, input: Any = None):
        value = one_of(value, input, "value input")
        self._attrs(*self._parse(value, ksize, strides, padding, data_format, name))
        super().__init__([value], name)

    def infer_shape(self, x):
        return self._pooled_shape(x)

    def formula(self, x):
        return self._function()(x)


class max_pool(_PoolImages):
    """The maximum of each ``ksize`` window of NHWC images, as TensorFlow's ``tf.nn.max_pool``.

    Args:
        value: images, shape ``(batch, height, width, channels)`` (``input`` is the same).
        ksize: the window: an int, or a list of 1, 2 or 4 ints (``[1, kh, kw, 1]``).
        strides: the step between windows, in the same form.
        padding: ``"SAME"`` (windows reaching past the image see only its pixels) or ``"VALID"``.
        data_format: ``"NHWC"``, the only layout.

    Example:
        >>> import numpy as np, symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> x = tf.constant(np.arange(16.0).reshape(1, 4, 4, 1))
        >>> tf.Session().run(tf.nn.max_pool(x, [1, 2, 2, 1], [1, 2, 2, 1], "SAME"))[0, :, :, 0]
        array([[ 5.,  7.],
               [13., 15.]])
    """

    op_type = "MaxPool"
    default_name = "MaxPool"

    @staticmethod
    def print_code(printer, x, ksize, strides, padding):
        return printer.kernel("max_pool", [x], ksize=ksize, strides=strides, padding=repr(padding))

    @staticmethod
    def print_latex(printer, x, ksize, strides, padding):
        return _pool_latex("maxpool", ksize, strides, padding, x)

    def gradient(self, grad, index):
        return max_pool_grad(self.input_nodes[0], grad, self.ksize, self.strides, self.padding)

    def compute(self, x):
        return conv_kernels.max_pool(np, np.asarray(x), self.ksize, self.strides, self.padding)


class max_pool_grad(_Pool):
    """The gradient of ``max_pool`` of ``x`` for an incoming gradient ``g`` (TensorFlow's ``MaxPoolGrad``): each
    output pixel's gradient goes to the first maximum of its window."""

    op_type = "MaxPoolGrad"
    default_name = "MaxPoolGrad"
    same_dtype_inputs = True

    def __init__(self, x: Node, g: Node, ksize: tuple, strides: tuple, padding: str, name: str | None = None):
        self._attrs(ksize, strides, padding)
        super().__init__([x, g], name)

    def infer_shape(self, x, g):
        self._check_grad_shape(g, self._pooled_shape(x), "the incoming gradient")
        return x if x is not None else g and (g[0], None, None, g[3])

    def formula(self, x, g):
        return self._function()(x, g)

    @staticmethod
    def print_code(printer, x, g, ksize, strides, padding):
        return printer.kernel("max_pool_grad", [x, g], ksize=ksize, strides=strides, padding=repr(padding))

    @staticmethod
    def print_latex(printer, x, g, ksize, strides, padding):
        return _pool_latex("maxpool", ksize, strides, padding, g, at=x, transposed=True)

    def gradient(self, grad, index):
        if index == 0:
            return None  # the position of a maximum does not move under a small change: zero
        return max_pool_grad_grad(self.input_nodes[0], grad, self.ksize, self.strides, self.padding)

    def compute(self, x, g):
        return conv_kernels.max_pool_grad(np, np.asarray(x), np.asarray(g), self.ksize, self.strides, self.padding)


class max_pool_grad_grad(_Pool):
    """``h``, of the shape of ``x``, read at the first maximum of each ``max_pool`` window of ``x`` (TensorFlow's
    ``MaxPoolGradGrad``): the gradient of :class:`max_pool_grad` with respect to its incoming gradient."""

    op_type = "MaxPoolGradGrad"
    default_name = "MaxPoolGradGrad"
    same_dtype_inputs = True

    def __init__(self, x: Node, h: Node, ksize: tuple, strides: tuple, padding: str, name: str | None = None):
        self._attrs(ksize, strides, padding)
        super().__init__([x, h], name)

    def infer_shape(self, x, h):
        self._check_grad_shape(h, x if x is not None else (None,) * 4, "the gradient")
        return self._pooled_shape(x if x is not None else h)

    def formula(self, x, h):
        return self._function()(x, h)

    @staticmethod
    def print_code(printer, x, h, ksize, strides, padding):
        return printer.kernel("max_pool_grad_grad", [x, h], ksize=ksize, strides=strides, padding=repr(padding))

    @staticmethod
    def print_latex(printer, x, h, ksize, strides, padding):
        return _pool_latex("maxpool", ksize, strides, padding, h, at=x)

    def gradient(self, grad, index):
        if index == 0:
            return None
        return max_pool_grad(self.input_nodes[0], grad, self.ksize, self.strides, self.padding)

    def compute(self, x, h):
        return conv_kernels.max_pool_grad_grad(np, np.asarray(x), np.asarray(h), self.ksize, self.strides,
                                               self.padding)


class avg_pool(_PoolImages):
    """The mean of each ``ksize`` window of NHWC images, as TensorFlow's ``tf.nn.avg_pool``; with "SAME" padding a
    window reaching past the image averages only the pixels inside it.

    Args: as :class:`max_pool`'s.

    Example:
        >>> import numpy as np, symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> x = tf.constant(np.arange(9.0).reshape(1, 3, 3, 1))
        >>> tf.Session().run(tf.nn.avg_pool(x, [1, 2, 2, 1], [1, 2, 2, 1], "SAME"))[0, :, :, 0]
        array([[2. , 3.5],
               [6.5, 8. ]])
    """

    op_type = "AvgPool"
    default_name = "AvgPool"

    def infer_dtype(self, dtype):
        return floating_dtype(self, dtype, "the value")

    @staticmethod
    def print_code(printer, x, ksize, strides, padding):
        return printer.kernel("avg_pool", [x], ksize=ksize, strides=strides, padding=repr(padding))

    @staticmethod
    def print_latex(printer, x, ksize, strides, padding):
        return _pool_latex("avgpool", ksize, strides, padding, x)

    def gradient(self, grad, index):
        return avg_pool_grad(grad, self.input_nodes[0], self.ksize, self.strides, self.padding)

    def compute(self, x):
        return conv_kernels.avg_pool(np, np.asarray(x), self.ksize, self.strides, self.padding)


class avg_pool_grad(_Pool):
    """The gradient of ``avg_pool`` for an incoming gradient ``g`` (TensorFlow's ``AvgPoolGrad``): each output
    pixel's gradient shared evenly among the input pixels of its window.

    ``like`` is the pooled value, which lends its height and width where they are not known statically.
    """

    op_type = "AvgPoolGrad"
    default_name = "AvgPoolGrad"

    def __init__(self, g: Node, like: Node, ksize: tuple, strides: tuple, padding: str, name: str | None = None):
        self._attrs(ksize, strides, padding)
        shape = like.shape
        self.size = None if shape is None or None in shape[1:3] else tuple(int(d) for d in shape[1:3])
        super().__init__([g] + ([like] if self.size is None else []), name)

    def _input_shape(self, g, like):
        if self.size is not None:
            return (g and g[0], *self.size, g and g[3])
        return like[0] if like and like[0] is not None else (g and g[0], None, None, g and g[3])

    def infer_shape(self, g, *like):
        x = self._input_shape(g, like)
        self._check_grad_shape(g, self._pooled_shape(x), "the incoming gradient")
        return x

    def infer_dtype(self, dtype, *like):
        return result_dtype(dtype)

    def formula(self, g, *like):
        return self._function(size=self.size)(g, *like)

    def formula_for_shapes(self, g_shape, *like_shapes):
        if self.size is not None:
            return self.expr
        return self._function(size=tuple(like_shapes[0][1:3]))(operand(self.input_nodes[0]))

    @staticmethod
    def print_code(printer, g, *like, size, ksize, strides, padding):
        size_code = repr(size) if size is not None else f"{printer.shape(like[0])}[1:3]"
        return printer.kernel("avg_pool_grad", [g], size=size_code, ksize=ksize, strides=strides, padding=repr(padding))

    @staticmethod
    def print_latex(printer, g, *like, size, ksize, strides, padding):
        return _pool_latex("avgpool", ksize, strides, padding, g, transposed=True)

    def gradient(self, grad, index):
        if index > 0:
            return None  # `like` lends only its shape
        return avg_pool(grad, self.ksize, self.strides, self.padding)

    def compute(self, g, *like):
        size = self.size or np.shape(like[0])[1:3]
        return conv_kernels.avg_pool_grad(np, np.asarray(g), tuple(size), self.ksize, self.strides, self.padding)

