r"""Convolution: ``conv2d``, ``conv2d_transpose``, and the two convolutions its gradient is made of.

Images are NHWC (batch, height, width, channels) and filters HWIO (height, width, in-channels, out-channels), as in
TensorFlow 1. A ``conv2d`` is linear in its input and in its filter, and so are its two gradients:

* with respect to the input, :class:`conv2d_backprop_input`, the transposed convolution of the incoming gradient
  with the same filter (also what ``conv2d_transpose`` is);
* with respect to the filter, :class:`conv2d_backprop_filter`, the correlation of the input with the incoming
  gradient.

The gradient of each of these three is again one of the three, so second derivatives (``hessians``) work through
any stack of convolutions. The array code, one strided view and one matrix product per op on NumPy and CuPy, one XLA
convolution on JAX, is in :mod:`symslow.ops.conv_kernels` and :mod:`symslow.ops.lax_kernels`.

In formulas (:func:`symslow.latex`) the three read:

* ``conv2d``: :math:`x \star_{s=2,\,\mathrm{SAME}} W`, the convolution as an operator;
* ``conv2d_backprop_input``: :math:`g \star^{\top}_{s=2,\,\mathrm{SAME}} W`, the transposed convolution;
* ``conv2d_backprop_filter``: :math:`\operatorname{corr}_{s=2,\,\mathrm{SAME}}(x, g)`, the correlation.

The subscript holds what decides the result besides the operands: the stride ``s`` and the dilation ``d`` where
they are not 1 (``s=(2,1)`` where height and width differ), and the padding, always. A pooling reads the same way,
with its window first: :math:`\operatorname{maxpool}_{2\times2,\,s=2,\,\mathrm{VALID}}(x)`. An operand that is
more than one term (a sum, a product) is parenthesised, and so is an operator inside a product:
:math:`(2 x) \star_{\mathrm{VALID}} W` and :math:`2 (x \star_{\mathrm{VALID}} W)`.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..graph import Node, format_shape
from ..leaves import Constant, as_node
from ..printing import latex_operand
from . import conv_kernels
from .base import Operation, operand, result_dtype
from .window import (OPERATOR_PRECEDENCE, _check_equal, _size_of, attr_error, check_rank4, floating_dtype,
                     format_attr, future_name, one_of, padding_attr, spatial_size, window_attr, window_latex)

class _Convolution(Operation):
    """What the three convolutions share: strides, padding, dilations, and the shape of the result."""

    same_dtype_inputs = True

    def _attrs(self, strides: tuple, padding: str, dilations: tuple) -> None:
        self.strides, self.padding, self.dilations = strides, padding, dilations

    def _function(self, **extra):
        return self.function_for(**extra, strides=self.strides, padding=self.padding, dilations=self.dilations)

    def infer_dtype(self, *dtypes):
        return floating_dtype(self, result_dtype(*dtypes), "the input")

    def _output_hw(self, x_hw: Sequence, k_hw: Sequence, shapes: Sequence) -> list:
        return [spatial_size(self, n, k, s, d, axis, shapes)
                for n, k, s, d, axis in zip(x_hw, k_hw, self.strides, self.dilations, ("height", "width"))]


class conv2d(_Convolution):
    """The 2-D convolution of NHWC images with HWIO filters, as TensorFlow's ``tf.nn.conv2d``.

    Output pixel ``(i, j)`` of filter ``o`` is ``Σ_{a, b, c} x[i s + a d, j s + b d, c] W[a, b, c, o]`` (a
    cross-correlation, as in TensorFlow) with strides ``s`` and dilations ``d``; "SAME" pads the input with zeros so
    that there are ``ceil(size / stride)`` outputs, "VALID" keeps only the windows that fit.

    Args:
        input: images, shape ``(batch, height, width, in_channels)``.
        filter: filters, shape ``(filter_height, filter_width, in_channels, out_channels)`` (``filters`` is the same).
        strides: an int, or a list of 1, 2 or 4 ints (``[1, sh, sw, 1]``).
        padding: ``"SAME"`` or ``"VALID"``.
        use_cudnn_on_gpu: accepted for TensorFlow's programs; it changes nothing.
        data_format: ``"NHWC"``, the only layout.
        dilations: the spacing of the filter's taps, in the form of ``strides``.

    Example:
        >>> import numpy as np, symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> x = tf.placeholder(tf.float32, [None, 3, 3, 1])
        >>> W = tf.constant(np.ones((2, 2, 1, 1), np.float32))
        >>> y = tf.nn.conv2d(x, W, strides=[1, 1, 1, 1], padding="VALID")
        >>> y.shape
        (None, 2, 2, 1)
        >>> tf.Session().run(y, {x: np.arange(9.0).reshape(1, 3, 3, 1)})[0, :, :, 0]
        array([[ 8., 12.],
               [20., 24.]], dtype=float32)
    """

    op_type = "Conv2D"
    default_name = "Conv2D"

    def __init__(self, input: Any, filter: Any = None, strides: Any = None, padding: Any = None,
                 use_cudnn_on_gpu: bool = True, data_format: str = "NHWC", dilations: Any = (1, 1, 1, 1),
                 name: str | None = None, filters: Any = None):
        filter = one_of(filter, filters, "filter filters")
        node_name = future_name(type(self), [input, filter], name)
        format_attr(data_format, type(self), node_name)
        self._attrs(window_attr(strides, "strides", type(self), node_name),
                    padding_attr(padding, type(self), node_name),
                    window_attr(dilations, "dilations", type(self), node_name, "dilations"))
        super().__init__([input, filter], name)

    def infer_shape(self, x, w):
        check_rank4(self, (x, w), ("input", "filter"))
        _check_equal(self, x and x[3], w and w[2], "the input's channels and the filter's in-channels", (x, w))
        if x is None and w is None:
            return None
        x, w = x or (None,) * 4, w or (None,) * 4
        return (x[0], *self._output_hw(x[1:3], w[0:2], (x, w)), w[3])

    def formula(self, x, w):
        return self._function()(x, w)

    @staticmethod
    def print_code(printer, x, w, strides, padding, dilations):
        return printer.kernel("conv2d", [x, w], strides=strides, padding=repr(padding), dilations=dilations)

    precedence = OPERATOR_PRECEDENCE

    @staticmethod
    def print_latex(printer, x, w, strides, padding, dilations):
        star = rf"\mathbin{{\star_{{{window_latex(padding, strides, dilations)}}}}}"
        return f"{latex_operand(x)} {star} {latex_operand(w)}"

    def gradient(self, grad, index):
        x, w = self.input_nodes
        if index == 0:
            return conv2d_backprop_input(grad, w, x, self.strides, self.padding, self.dilations)
        return conv2d_backprop_filter(x, grad, w, self.strides, self.padding, self.dilations)

    def compute(self, x, w):
        return conv_kernels.conv2d(np, np.asarray(x), np.asarray(w), self.strides, self.padding, self.dilations)


class conv2d_backprop_input(_Convolution):
    """The gradient of a ``conv2d`` with respect to its input (TensorFlow's ``Conv2DBackpropInput``), for an
    incoming gradient ``out_backprop`` and the filter: the transposed convolution.

    ``like`` is the convolution's input, which lends its height and width; once these are known (statically or
    from the fed shapes) it is not read.
    """

    op_type = "Conv2DBackpropInput"
    default_name = "Conv2DBackpropInput"

    def __init__(self, out_backprop: Any, filter: Any, like: Node | None, strides: tuple, padding: str,
                 dilations: tuple, size: tuple | None = None, name: str | None = None):
        self._attrs(strides, padding, dilations)
        self.size = size or _size_of(like, slice(1, 3))
        super().__init__([out_backprop, filter] + ([like] if self.size is None else []), name)

    def infer_shape(self, g, w, *like):
        check_rank4(self, (g, w, *like), ("out_backprop", "filter", "input"))
        _check_equal(self, g and g[3], w and w[3], "out_backprop's channels and the filter's out-channels", (g, w))
        size = self.size or (like[0][1:3] if like and like[0] is not None else (None, None))
        g, w = g or (None,) * 4, w or (None,) * 4
        for n, o, k, s, d, axis in zip(size, g[1:3], w[0:2], self.strides, self.dilations, ("height", "width")):
            expected = spatial_size(self, n, k, s, d, axis, (g, w))
            if expected is not None and o is not None and expected != o:
                raise self.shape_error(
                    f"out_backprop's {axis} is {o}, but a convolution of an input of {axis} {n} with a filter of "
                    f"{axis} {k} (stride {s}, dilation {d}, padding {self.padding}) has {expected}."
                )
        return (g[0], *size, w[2])

    def formula(self, g, w, *like):
        return self._function(size=self.size)(g, w, *like)

    def formula_for_shapes(self, g_shape, w_shape, *like_shapes):
        if self.size is not None:
            return self.expr
        g, w = (operand(n) for n in self.input_nodes[:2])
        return self._function(size=tuple(like_shapes[0][1:3]))(g, w)

    @staticmethod
    def print_code(printer, g, w, *like, size, strides, padding, dilations):
        size_code = repr(size) if size is not None else f"{printer.shape(like[0])}[1:3]"
        return printer.kernel("conv2d_backprop_input", [g, w], size=size_code, strides=strides,
                              padding=repr(padding), dilations=dilations)

    precedence = OPERATOR_PRECEDENCE

    @staticmethod
    def print_latex(printer, g, w, *like, size, strides, padding, dilations):
        star = rf"\mathbin{{\star^{{\top}}_{{{window_latex(padding, strides, dilations)}}}}}"
        return f"{latex_operand(g)} {star} {latex_operand(w)}"

    def gradient(self, grad, index):
        g, w = self.input_nodes[:2]
        if index == 0:
            return conv2d(grad, w, self.strides, self.padding, dilations=self.dilations)
        if index == 1:
            return conv2d_backprop_filter(grad, g, w, self.strides, self.padding, self.dilations)
        return None  # `like` lends only its shape

    def compute(self, g, w, *like):
        size = self.size or np.shape(like[0])[1:3]
        return conv_kernels.conv2d_backprop_input(np, np.asarray(g), np.asarray(w), tuple(size), self.strides,
                                                  self.padding, self.dilations)


class conv2d_backprop_filter(_Convolution):
    """The gradient of a ``conv2d`` with respect to its filter (TensorFlow's ``Conv2DBackpropFilter``), for the
    convolution's input and the incoming gradient ``out_backprop``: the correlation of the two.

    ``like`` is the filter, which lends its height and width where they are not known statically.
    """

    op_type = "Conv2DBackpropFilter"
    default_name = "Conv2DBackpropFilter"

    def __init__(self, input: Any, out_backprop: Any, like: Node | None, strides: tuple, padding: str,
                 dilations: tuple, name: str | None = None):
        self._attrs(strides, padding, dilations)
        self.size = _size_of(like, slice(0, 2))
        super().__init__([input, out_backprop] + ([like] if self.size is None else []), name)

    def infer_shape(self, x, g, *like):
        check_rank4(self, (x, g, *like), ("input", "out_backprop", "filter"))
        size = self.size or (like[0][0:2] if like and like[0] is not None else (None, None))
        x, g = x or (None,) * 4, g or (None,) * 4
        for n, o, k, s, d, axis in zip(x[1:3], g[1:3], size, self.strides, self.dilations, ("height", "width")):
            expected = spatial_size(self, n, k, s, d, axis, (x, g))
            if expected is not None and o is not None and expected != o:
                raise self.shape_error(f"out_backprop's {axis} is {o}, but the convolution of an input of {axis} {n} "
                                       f"with a filter of {axis} {k} has {expected}.")
        return (*size, x[3], g[3])

    def formula(self, x, g, *like):
        return self._function(size=self.size)(x, g, *like)

    def formula_for_shapes(self, x_shape, g_shape, *like_shapes):
        if self.size is not None:
            return self.expr
        x, g = (operand(n) for n in self.input_nodes[:2])
        return self._function(size=tuple(like_shapes[0][0:2]))(x, g)

    @staticmethod
    def print_code(printer, x, g, *like, size, strides, padding, dilations):
        size_code = repr(size) if size is not None else f"{printer.shape(like[0])}[0:2]"
        return printer.kernel("conv2d_backprop_filter", [x, g], k_hw=size_code, strides=strides,
                              padding=repr(padding), dilations=dilations)

    @staticmethod
    def print_latex(printer, x, g, *like, size, strides, padding, dilations):
        return rf"\operatorname{{corr}}_{{{window_latex(padding, strides, dilations)}}}\left({x}, {g}\right)"

    def gradient(self, grad, index):
        x, g = self.input_nodes[:2]
        if index == 0:
            return conv2d_backprop_input(g, grad, x, self.strides, self.padding, self.dilations)
        if index == 1:
            return conv2d(x, grad, self.strides, self.padding, dilations=self.dilations)
        return None

    def compute(self, x, g, *like):
        size = self.size or np.shape(like[0])[0:2]
        return conv_kernels.conv2d_backprop_filter(np, np.asarray(x), np.asarray(g), tuple(size), self.strides,
                                                   self.padding, self.dilations)


def _static_output_shape(output_shape: Any, node_name: str) -> list:
    """``output_shape`` as a list of four ints or None: a list, a tuple, an array or a constant node."""
    if isinstance(output_shape, Constant):
        output_shape = output_shape.value
    if isinstance(output_shape, Node):
        raise attr_error(conv2d_backprop_input, node_name, f"output_shape {output_shape.name!r} is computed in the "
                         "graph; give it as a list of ints such as [batch, height, width, channels] (the batch may "
                         "be None or -1).")
    items = list(np.asarray(output_shape, dtype=object).reshape(-1)) if output_shape is not None else []
    if len(items) != 4 or not all(v is None or isinstance(v, (int, np.integer)) or isinstance(v, Node)
                                  for v in items):
        raise attr_error(conv2d_backprop_input, node_name,
                         f"output_shape must be a list of 4 ints (NHWC), not {output_shape!r}.")
    # the batch is the value's: an entry computed in the graph (tf.shape(x)[0]) or -1 says nothing more
    return [None if (v is None or isinstance(v, Node) or (i == 0 and int(v) == -1)) else int(v)
            for i, v in enumerate(items)]


def conv2d_transpose(value: Any = None, filter: Any = None, output_shape: Any = None, strides: Any = None,
                     padding: str = "SAME", data_format: str = "NHWC", name: str | None = None, input: Any = None,
                     filters: Any = None, dilations: Any = None) -> Node:
    """The transpose of ``conv2d`` (sometimes called deconvolution): the gradient of a convolution with respect to
    its input, as TensorFlow's ``tf.nn.conv2d_transpose``.

    Args:
        value: images, shape ``(batch, height, width, in_channels)`` (``input`` is the same).
        filter: shape ``(filter_height, filter_width, out_channels, in_channels)``: the filter of the convolution
            this is the transpose of (``filters`` is the same).
        output_shape: ``[batch, out_height, out_width, out_channels]``; the batch may be None or -1 (it is the
            value's).
        strides, padding, dilations: those of that convolution.

    Example:
        >>> import numpy as np, symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> x = tf.constant(np.ones((1, 2, 2, 1), np.float32))
        >>> W = tf.constant(np.ones((2, 2, 1, 1), np.float32))
        >>> y = tf.nn.conv2d_transpose(x, W, output_shape=[1, 4, 4, 1], strides=[1, 2, 2, 1], padding="VALID")
        >>> tf.Session().run(y)[0, :, :, 0]
        array([[1., 1., 1., 1.],
               [1., 1., 1., 1.],
               [1., 1., 1., 1.],
               [1., 1., 1., 1.]], dtype=float32)
    """
    value = one_of(value, input, "value input")
    filter = one_of(filter, filters, "filter filters")
    op = conv2d_backprop_input
    node_name = future_name(op, [value, filter], name or "conv2d_transpose")
    format_attr(data_format, op, node_name)
    strides = window_attr(strides, "strides", op, node_name)
    padding = padding_attr(padding, op, node_name)
    dilations = window_attr(dilations if dilations is not None else 1, "dilations", op, node_name, "dilations")
    target = _static_output_shape(output_shape, node_name)
    value = as_node(value)
    filter = as_node(filter, value.graph, dtype=value.dtype)
    v, w = value.shape, filter.shape
    if None in target[1:3]:
        raise attr_error(op, node_name, f"output_shape {target} must give the height and the width.")
    if w is not None and len(w) == 4 and None not in (w[2], target[3]) and w[2] != target[3]:
        raise attr_error(op, node_name, f"output_shape does not match the filter's output channels, {target[3]} != "
                                        f"{w[2]} (filter shape {format_shape(w)}).")
    if v is not None and w is not None and len(v) == len(w) == 4 and None not in (v[3], w[3]) and v[3] != w[3]:
        raise attr_error(op, node_name, f"the value's channels do not match the filter's input channels (its last "
                                        f"axis), {v[3]} != {w[3]} (value shape {format_shape(v)}, filter shape "
                                        f"{format_shape(w)}).")
    if v is not None and len(v) == 4 and None not in (v[0], target[0]) and v[0] != target[0]:
        raise attr_error(op, node_name, f"output_shape's batch {target[0]} is not the value's (shape "
                                        f"{format_shape(v)}).")
    return op(value, filter, None, strides, padding, dilations, size=tuple(target[1:3]),
              name=name or "conv2d_transpose")
