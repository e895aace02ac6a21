"""``tf.layers``: TensorFlow 1's layers as functions that make their Variables and return the layer's output.

Each layer opens a variable scope of its name (``dense``, then ``dense_1``, ... for unnamed layers, as TensorFlow
names them) and makes its Variables there with :func:`~symslow.get_variable`: ``dense/kernel`` and ``dense/bias``.
So ``name=`` with ``reuse=True`` (or an enclosing ``tf.variable_scope(..., reuse=True)``) applies a layer again with
the same Variables. A kernel's initializer is Glorot's uniform unless ``kernel_initializer`` says otherwise, a
bias's zeros.

The layers are built from symslow's ops (``matmul``, ``bias_add``, ``reshape``, ``where``, and ``tf.nn``'s
convolution, pooling and dropout), so their gradients are those ops' gradients, formulas and all.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .errors import InvalidArgumentError
from .graph import Node, format_shape
from .leaves import as_node
from .initializers import Zeros
from .ops.compare import where
from .ops.elementwise import identity
from .ops.linalg import matmul
from .ops.movement import reshape, transpose
from .ops.nn import bias_add
from .variable_scope import _refuse, get_variable, variable_scope

__all__ = ["dense", "dropout", "flatten", "conv2d", "max_pooling2d", "average_pooling2d"]

_ZEROS = Zeros()  # the biases' initializer (an initializer holds no state, so one default object serves every layer)


def _scope(name: str | None, base: str, reuse: Any):
    """The variable scope of a layer: ``name``, or ``base`` made unique, or ``base`` itself to reuse it."""
    if name is None and reuse:
        return variable_scope(base, reuse=reuse)
    return variable_scope(name, default_name=base, reuse=reuse)


def _float_input(inputs: Any, layer: str) -> tuple[Node, Any]:
    """The input as a node, and the dtype of the layer's Variables: the input's (float32 when not known)."""
    inputs = as_node(inputs)
    dtype = np.float32 if inputs.dtype is None else inputs.dtype
    if np.dtype(dtype).kind != "f":
        raise InvalidArgumentError(
            f"tf.layers.{layer}: the input {inputs.name!r} is {np.dtype(dtype).name}; a layer computes in floats "
            "(convert it with tf.cast)."
        )
    return inputs, dtype


def _positive_int(value: Any, what: str, layer: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise InvalidArgumentError(f"tf.layers.{layer}: {what} must be a positive int, not {value!r}.")
    return int(value)


def _pair(value: Any, what: str, layer: str) -> tuple[int, int]:
    """``3`` as ``(3, 3)``; a pair as it is (kernel sizes, strides, pool sizes)."""
    values = (value, value) if isinstance(value, (int, np.integer)) else value
    if not isinstance(values, (tuple, list)) or len(values) != 2:
        raise InvalidArgumentError(f"tf.layers.{layer}: {what} must be an int or a pair of ints, not {value!r}.")
    return tuple(_positive_int(v, what, layer) for v in values)


def _padding(padding: Any, layer: str) -> str:
    if not isinstance(padding, str) or padding.lower() not in ("valid", "same"):
        raise InvalidArgumentError(f"tf.layers.{layer}: padding must be 'valid' or 'same', not {padding!r}.")
    return padding.upper()


def _channels_last(data_format: Any, layer: str) -> None:
    if data_format != "channels_last":
        raise NotImplementedError(
            f"tf.layers.{layer}: data_format={data_format!r} is not supported; symslow's images are NHWC "
            "(data_format='channels_last')."
        )


def _finish(outputs: Node, bias: Node | None, activation: Callable | None) -> Node:
    if bias is not None:
        outputs = bias_add(outputs, bias)
    return outputs if activation is None else activation(outputs)


def dense(inputs: Any, units: int, activation: Callable | None = None, use_bias: bool = True,
          kernel_initializer: Any = None, bias_initializer: Any = _ZEROS, kernel_regularizer: Any = None,
          bias_regularizer: Any = None, activity_regularizer: Any = None, kernel_constraint: Any = None,
          bias_constraint: Any = None, trainable: bool = True, name: str | None = None, reuse: Any = None) -> Node:
    """A fully connected layer: ``activation(inputs @ kernel + bias)``.

    Args:
        inputs: a node of shape ``(batch, in)``, or of higher rank (the last axis is the one multiplied).
        units: the number of outputs.
        activation: a function of a node (``tf.nn.relu``), or None for a linear layer.
        use_bias: whether to add a bias.
        kernel_initializer: the initializer of the kernel ``(in, units)``; None: Glorot's uniform.
        bias_initializer: the initializer of the bias ``(units,)``; zeros unless given.
        trainable: whether optimizers train the Variables.
        name: the layer's variable scope (``dense``, ``dense_1``, ... when None).
        reuse: True to use the Variables made before under this name.

    Regularizers and constraints are not supported.

    Example:
        >>> import numpy as np, symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> x = tf.placeholder(tf.float32, [None, 3])
        >>> h = tf.layers.dense(x, 4, activation=tf.nn.relu)
        >>> y = tf.layers.dense(h, 2, kernel_initializer=tf.ones_initializer())
        >>> [(v.name, v.shape) for v in tf.trainable_variables()]
        [('dense/kernel', (3, 4)), ('dense/bias', (4,)), ('dense_1/kernel', (4, 2)), ('dense_1/bias', (2,))]
        >>> tf.Session().run(y, {x: np.zeros((1, 3))})
        array([[0., 0.]], dtype=float32)
    """
    _refuse("tf.layers.dense", kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
            activity_regularizer=activity_regularizer, kernel_constraint=kernel_constraint,
            bias_constraint=bias_constraint)
    inputs, dtype = _float_input(inputs, "dense")
    units = _positive_int(units, "units", "dense")
    shape = inputs.shape
    if shape is None or len(shape) < 2 or shape[-1] is None:
        raise InvalidArgumentError(
            f"tf.layers.dense: the input {inputs.name!r} must have rank 2 or more and a known last axis, not shape "
            f"{format_shape(shape)}."
        )
    if len(shape) > 2 and None in shape[1:-1]:
        raise InvalidArgumentError(
            f"tf.layers.dense: an input of rank {len(shape)} needs known sizes but for the first axis, not shape "
            f"{format_shape(shape)} ({inputs.name!r})."
        )
    with _scope(name, "dense", reuse):
        kernel = get_variable("kernel", [shape[-1], units], dtype, kernel_initializer, trainable=trainable)
        bias = get_variable("bias", [units], dtype, bias_initializer, trainable=trainable) if use_bias else None
        if len(shape) == 2:
            outputs = matmul(inputs, kernel)
        else:  # the same kernel for every position of the middle axes: one matrix product of the flattened rows
            rows = matmul(reshape(inputs, (-1, shape[-1])), kernel)
            outputs = reshape(rows, (-1, *shape[1:-1], units))
        return _finish(outputs, bias, activation)


def flatten(inputs: Any, name: str | None = None, data_format: str = "channels_last") -> Node:
    """Each example as one row: ``(batch, d1, d2, ...)`` becomes ``(batch, d1 * d2 * ...)``.

    ``data_format="channels_first"`` takes ``(batch, channels, ...)`` and flattens it in channels-last order, as
    TensorFlow does.

    Example:
        >>> import numpy as np, symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> images = tf.placeholder(tf.float32, [None, 7, 7, 64])
        >>> tf.layers.flatten(images).shape
        (None, 3136)
    """
    inputs = as_node(inputs)
    shape = inputs.shape
    if shape is None or len(shape) < 1:
        raise InvalidArgumentError(
            f"tf.layers.flatten: the input {inputs.name!r} must have rank 1 or more, not shape {format_shape(shape)}."
        )
    if data_format not in ("channels_last", "channels_first"):
        raise InvalidArgumentError(
            f"tf.layers.flatten: data_format must be 'channels_last' or 'channels_first', not {data_format!r}."
        )
    with _scope(name, "flatten", None):
        if data_format == "channels_first" and len(shape) >= 3:
            inputs = transpose(inputs, (0, *range(2, len(shape)), 1))
            shape = inputs.shape
        if len(shape) == 1:
            return reshape(inputs, (-1, 1))
        if None not in shape[1:]:
            return reshape(inputs, (-1, int(np.prod(shape[1:]))))
        if shape[0] is not None:
            return reshape(inputs, (shape[0], -1))
        raise InvalidArgumentError(
            f"tf.layers.flatten: the input {inputs.name!r} of shape {format_shape(shape)} needs known sizes but for "
            "the first axis."
        )


def dropout(inputs: Any, rate: Any = 0.5, noise_shape: Any = None, seed: int | None = None, training: Any = False,
            name: str | None = None) -> Node:
    """Dropout while training: each element zeroed with probability ``rate``, the others scaled by
    ``1 / (1 - rate)``; the input as it is otherwise.

    Args:
        inputs: the node to drop elements of.
        rate: the fraction dropped (TensorFlow 1's ``tf.nn.dropout`` takes ``keep_prob = 1 - rate``).
        noise_shape: the shape of the random mask, broadcast to the input (see ``tf.nn.dropout``).
        seed: the op seed of the mask.
        training: a Python bool, or a bool node (a placeholder fed True while training): where it is false the
            layer is the identity. TensorFlow 1 picks between the two with ``tf.cond``; here both are computed and
            ``tf.where`` picks one, which gives the same values and gradients.
        name: the layer's scope (``dropout``, ``dropout_1``, ... when None).

    Example:
        >>> import numpy as np, symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> x = tf.ones([2, 1000])
        >>> is_training = tf.placeholder(tf.bool, [])
        >>> y = tf.layers.dropout(x, rate=0.5, training=is_training, seed=1)
        >>> sess = tf.Session()
        >>> bool((sess.run(y, {is_training: False}) == 1).all())
        True
        >>> values = sess.run(y, {is_training: True})
        >>> sorted(set(values.ravel().tolist())), bool(abs((values == 0).mean() - 0.5) < 0.03)
        ([0.0, 2.0], True)
    """
    from .nn import dropout as nn_dropout

    inputs = as_node(inputs)
    if isinstance(training, Node):
        if training.dtype is not None and np.dtype(training.dtype).kind != "b":
            raise InvalidArgumentError(
                f"tf.layers.dropout: training must be a bool or a bool node, not the {np.dtype(training.dtype).name} "
                f"node {training.name!r}."
            )
        if training.shape is not None and training.shape != ():
            raise InvalidArgumentError(
                f"tf.layers.dropout: the node training={training.name!r} must be a scalar, not of shape "
                f"{format_shape(training.shape)}."
            )
    elif not isinstance(training, (bool, np.bool_)):
        raise InvalidArgumentError(f"tf.layers.dropout: training must be a bool or a bool node, not {training!r}.")
    with _scope(name, "dropout", None):
        if isinstance(training, Node):
            dropped = nn_dropout(inputs, noise_shape=noise_shape, seed=seed, rate=rate)
            return where(training, dropped, inputs)
        if training:
            return nn_dropout(inputs, noise_shape=noise_shape, seed=seed, rate=rate)
        return identity(inputs)


def conv2d(inputs: Any, filters: int, kernel_size: Any, strides: Any = (1, 1), padding: str = "valid",
           data_format: str = "channels_last", dilation_rate: Any = (1, 1), activation: Callable | None = None,
           use_bias: bool = True, kernel_initializer: Any = None, bias_initializer: Any = _ZEROS,
           kernel_regularizer: Any = None, bias_regularizer: Any = None, activity_regularizer: Any = None,
           kernel_constraint: Any = None, bias_constraint: Any = None, trainable: bool = True,
           name: str | None = None, reuse: Any = None) -> Node:
    """A 2-D convolution layer on NHWC images: ``activation(conv2d(inputs, kernel) + bias)``.

    Args:
        inputs: a node of shape ``(batch, height, width, channels)`` with known channels.
        filters: the number of output channels.
        kernel_size: the kernel's ``(height, width)``, or one int for both.
        strides: the step between windows, ``(down, across)`` or one int.
        padding: ``"valid"`` (windows inside the image) or ``"same"`` (padded so that stride 1 keeps the size).
        dilation_rate: the spacing of the kernel's taps, ``(down, across)`` or one int.
        activation, use_bias, kernel_initializer, bias_initializer, trainable, name, reuse: as in :func:`dense`;
            the kernel has shape ``(kernel height, kernel width, channels, filters)`` (HWIO), Glorot's uniform
            with the fans of a kernel unless told otherwise.

    Only ``data_format="channels_last"`` is supported; regularizers and constraints are not.

    Example:
        >>> import numpy as np, symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> images = tf.placeholder(tf.float32, [None, 28, 28, 1])
        >>> conv = tf.layers.conv2d(images, 32, 5, padding="same", activation=tf.nn.relu)
        >>> pool = tf.layers.max_pooling2d(conv, 2, 2)
        >>> [(v.name, v.shape) for v in tf.trainable_variables()], pool.shape
        ([('conv2d/kernel', (5, 5, 1, 32)), ('conv2d/bias', (32,))], (None, 14, 14, 32))
    """
    from .nn import conv2d as nn_conv2d

    _refuse("tf.layers.conv2d", kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
            activity_regularizer=activity_regularizer, kernel_constraint=kernel_constraint,
            bias_constraint=bias_constraint)
    _channels_last(data_format, "conv2d")
    inputs, dtype = _float_input(inputs, "conv2d")
    filters = _positive_int(filters, "filters", "conv2d")
    kernel_hw = _pair(kernel_size, "kernel_size", "conv2d")
    step, dilation = _pair(strides, "strides", "conv2d"), _pair(dilation_rate, "dilation_rate", "conv2d")
    shape = inputs.shape
    if shape is None or len(shape) != 4 or shape[-1] is None:
        raise InvalidArgumentError(
            f"tf.layers.conv2d: the input {inputs.name!r} must be (batch, height, width, channels) with known "
            f"channels, not shape {format_shape(shape)}."
        )
    with _scope(name, "conv2d", reuse):
        kernel = get_variable("kernel", [*kernel_hw, shape[-1], filters], dtype, kernel_initializer,
                              trainable=trainable)
        bias = get_variable("bias", [filters], dtype, bias_initializer, trainable=trainable) if use_bias else None
        outputs = nn_conv2d(inputs, kernel, strides=[1, *step, 1], padding=_padding(padding, "conv2d"),
                            dilations=[1, *dilation, 1])
        return _finish(outputs, bias, activation)


def _pooling(op: str, layer: str, inputs: Any, pool_size: Any, strides: Any, padding: str, data_format: str,
             name: str | None) -> Node:
    from . import nn

    _channels_last(data_format, layer)
    inputs = as_node(inputs)
    window, step = _pair(pool_size, "pool_size", layer), _pair(strides, "strides", layer)
    with _scope(name, layer, None):
        return getattr(nn, op)(inputs, ksize=[1, *window, 1], strides=[1, *step, 1],
                               padding=_padding(padding, layer))


def max_pooling2d(inputs: Any, pool_size: Any, strides: Any, padding: str = "valid",
                  data_format: str = "channels_last", name: str | None = None) -> Node:
    """The maximum of each ``pool_size`` window of NHWC images, windows ``strides`` apart (``tf.nn.max_pool``).

    Example:
        >>> import numpy as np, symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> x = tf.constant(np.arange(16.0).reshape(1, 4, 4, 1))
        >>> tf.Session().run(tf.layers.max_pooling2d(x, pool_size=2, strides=2))[0, :, :, 0]
        array([[ 5.,  7.],
               [13., 15.]])
    """
    return _pooling("max_pool", "max_pooling2d", inputs, pool_size, strides, padding, data_format, name)


def average_pooling2d(inputs: Any, pool_size: Any, strides: Any, padding: str = "valid",
                      data_format: str = "channels_last", name: str | None = None) -> Node:
    """The mean of each ``pool_size`` window of NHWC images, windows ``strides`` apart (``tf.nn.avg_pool``; with
    ``padding="same"`` a window at the border averages the pixels it covers, as in TensorFlow).

    Example:
        >>> import numpy as np, symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> x = tf.constant(np.arange(16.0).reshape(1, 4, 4, 1))
        >>> tf.Session().run(tf.layers.average_pooling2d(x, pool_size=2, strides=2))[0, :, :, 0]
        array([[ 2.5,  4.5],
               [10.5, 12.5]])
    """
    return _pooling("avg_pool", "average_pooling2d", inputs, pool_size, strides, padding, data_format, name)
