"""What convolutions and poolings share: their window attributes (strides, padding, dilations, data format),
parsed and checked once, when the op is built, with TensorFlow's errors; the sizes they give; and how a window's
attributes are typeset as the subscript of the op's symbol."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from sympy.printing.precedence import PRECEDENCE

from ..errors import InvalidArgumentError
from ..graph import Node, format_shape, get_default_graph
from . import conv_kernels
from .base import Operation, result_dtype


# attributes: parsed and checked once, when the op is built -----------------------------------------------------------


def future_name(op: type, inputs: Sequence[Any], name: str | None) -> str:
    """The name the node of ``op`` will get (for errors raised before it is made)."""
    graph = next((n.graph for n in inputs if isinstance(n, Node)), None) or get_default_graph()
    return graph._unique_name(name or op.default_name)


def attr_error(op: type, node_name: str, message: str) -> InvalidArgumentError:
    return InvalidArgumentError(f"Op {op.op_type} (node {node_name!r}): {message}")


def window_attr(value: Any, what: str, op: type, node_name: str, axes: str = "strides") -> tuple[int, int]:
    """``(height, width)`` from TensorFlow's forms: an int, or a list of 1, 2 or 4 (NHWC, batch and channels 1)."""
    if value is None:
        raise attr_error(op, node_name, f"{what} must be given (a list of 4 ints such as [1, 1, 1, 1]).")
    items = [value] if isinstance(value, (int, np.integer)) else list(value)
    integers = all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in items)
    if not integers or len(items) not in (1, 2, 4):
        raise attr_error(op, node_name, f"{what} must be an int or a list of 1, 2 or 4 ints, not {value!r}.")
    items = [int(v) for v in items]
    if len(items) == 4:
        if items[0] != 1 or items[3] != 1:
            raise attr_error(op, node_name, f"{what} {items}: {axes} in the batch and depth dimensions are not "
                                            "supported (the first and last entries must be 1).")
        items = items[1:3]
    if len(items) == 1:
        items = items * 2
    if min(items) < 1:
        raise attr_error(op, node_name, f"{what} {list(value) if not isinstance(value, int) else value} must be "
                                        "positive.")
    return items[0], items[1]


def padding_attr(padding: Any, op: type, node_name: str) -> str:
    if padding not in ("SAME", "VALID"):
        raise attr_error(op, node_name, f'padding must be "SAME" or "VALID", not {padding!r}.')
    return padding


def format_attr(data_format: Any, op: type, node_name: str) -> None:
    if data_format not in (None, "NHWC"):
        raise attr_error(op, node_name, f'data_format {data_format!r}: symslow computes "NHWC" only (batch, height, '
                                        'width, channels); transpose NCHW images with tf.transpose(x, [0, 2, 3, 1]).')


def one_of(first: Any, second: Any, names: str) -> Any:
    """An argument TensorFlow 1 accepts under two names (``filter`` and ``filters``)."""
    if first is not None and second is not None:
        raise TypeError(f"Give {names.replace(' ', ' or ', 1)}, not both.")
    return first if first is not None else second


def floating_dtype(op: Operation, dtype: Any, what: str) -> Any:
    """TensorFlow's rule for convolutions and average pools: floating-point values only."""
    dtype = result_dtype(dtype)
    if np.dtype(dtype).kind != "f":
        raise InvalidArgumentError(
            f"Op {op.op_type} (node {op.display_name!r}): {what} has dtype {np.dtype(dtype).name}, not one of "
            "float16, float32, float64; convert it with tf.cast."
        )
    return dtype


def check_rank4(op: Operation, shapes: Sequence, names: Sequence[str]) -> None:
    for shape, what in zip(shapes, names):
        if shape is not None and len(shape) != 4:
            listed = " and ".join(format_shape(s) for s in shapes)
            raise op.shape_error(f"{what} must be 4-D, got shape {format_shape(shape)} (input shapes {listed}).")


def spatial_size(op: Operation, size: int | None, k: int | None, stride: int, dilation: int, axis: str,
                 shapes: Sequence) -> int | None:
    """The output size along one axis; an error naming the shapes where a "VALID" window does not fit."""
    if size is None or k is None:
        return None
    out = conv_kernels.output_size(size, k, stride, dilation, op.padding)
    if out < 1:
        listed = " and ".join(format_shape(s) for s in shapes)
        raise op.shape_error(
            f"computed output {axis} would be {out} [input {axis}: {size}, effective filter {axis}: "
            f"{conv_kernels.span(k, dilation)}, stride: {stride}] (input shapes {listed}); use padding=\"SAME\" or a "
            "smaller window."
        )
    return out


def _check_equal(op: Operation, a: int | None, b: int | None, what: str, shapes: Sequence) -> None:
    if a is not None and b is not None and a != b:
        listed = " and ".join(format_shape(s) for s in shapes)
        raise op.shape_error(f"{what} must be equal, but are {a} and {b} (input shapes {listed}).")


def _size_of(like: Node | None, axes: slice) -> tuple | None:
    """The static sizes of ``like`` along ``axes``, or None where one is unknown (read at run time instead)."""
    if like is None or like.shape is None or None in like.shape[axes]:
        return None
    return tuple(int(d) for d in like.shape[axes])


# typesetting ---------------------------------------------------------------------------------------------------------

# An operator such as x ⋆ W binds less tightly than a product, 2 (x ⋆ W), and more tightly than a sum, x ⋆ W + b.
OPERATOR_PRECEDENCE = PRECEDENCE["Mul"] - 1

def _spacing(name: str, pair: Sequence[int]) -> list[str]:
    """``["s=2"]`` for strides (2, 2), ``["s=(2,1)"]`` for (2, 1), nothing for (1, 1)."""
    if tuple(pair) == (1, 1):
        return []
    return [f"{name}={pair[0]}" if pair[0] == pair[1] else f"{name}=({pair[0]},{pair[1]})"]


def window_latex(padding: str, strides: Sequence[int], dilations: Sequence[int] = (1, 1),
                 ksize: Sequence[int] | None = None) -> str:
    r"""The attributes of a convolution or a pooling as its subscript shows them: the window (a pooling's), the
    stride and the dilation where they are not 1, the padding.

    Example:
        >>> print(window_latex("SAME", (2, 2)), window_latex("VALID", (1, 1), (2, 1), ksize=(3, 3)))
        s=2,\,\mathrm{SAME} 3\times3,\,d=(2,1),\,\mathrm{VALID}
    """
    window = [rf"{ksize[0]}\times{ksize[1]}"] if ksize is not None else []
    return r",\,".join(window + _spacing("s", strides) + _spacing("d", dilations) + [rf"\mathrm{{{padding}}}"])
