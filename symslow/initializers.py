"""TensorFlow 1's initializers: objects that make the initial value of a Variable of a given shape.

An initializer is called as ``init(shape, dtype=None, partition_info=None)`` and returns a node of the graph: a
constant for :class:`Zeros`, :class:`Ones` and :class:`Constant`, a random op for the others. A Variable made from
it (``tf.Variable(init([784, 256]))``, or ``tf.get_variable("W", [784, 256], initializer=init)``) draws its value
when a session initialises it, so ``global_variables_initializer`` draws anew, and ``seed=`` together with
``tf.set_random_seed`` makes the draws reproducible, as for the random ops.

:class:`VarianceScaling` scales its distribution to the shape of the Variable, through the number of inputs and
outputs of a unit (TensorFlow's rule):

* a matrix ``(fan_in, fan_out)`` as it stands;
* a convolution kernel ``(height, width, in_channels, out_channels)`` (any rank above 2): the receptive field
  ``height * width`` times the channels, ``fan_in = height * width * in_channels`` and
  ``fan_out = height * width * out_channels``;
* a vector of ``n`` both ``n``; a scalar both 1.

With ``n`` the fan the ``mode`` picks (``fan_avg``: their mean) and ``s = scale / n``, values are uniform in
``[-√(3s), √(3s)]``, or normal with standard deviation ``√s`` (``untruncated_normal``), or, by default, normal with
draws beyond two standard deviations drawn again and the standard deviation enlarged so that it is ``√s`` after
that truncation. Glorot's (Xavier's) initializers are the ``fan_avg`` cases: uniform in ``±√(6 / (fan_in + fan_out))``.

This module is also ``tf.initializers``: ``tf.initializers.glorot_uniform()``, ``tf.initializers.zeros()``, ...
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .dtypes import as_dtype, float32
from .errors import InvalidArgumentError
from .graph import Node, format_shape
from .initializer_base import TRUNCATED_STDDEV, Initializer, _float_dtype, _full_shape, compute_fans
from .leaves import constant as _constant
from .ops.constant import ones as _ones, zeros as _zeros
from .ops.random import random_normal as _random_normal, random_uniform as _random_uniform
from .ops.random import truncated_normal as _truncated_normal
from .variables import global_variables_initializer as global_variables, variables_initializer as variables

__all__ = [
    "Initializer", "Zeros", "Ones", "Constant", "RandomUniform", "RandomNormal", "TruncatedNormal", "VarianceScaling",
    "GlorotUniform", "GlorotNormal", "zeros_initializer", "ones_initializer", "constant_initializer",
    "random_uniform_initializer", "random_normal_initializer", "truncated_normal_initializer",
    "variance_scaling_initializer", "glorot_uniform_initializer", "glorot_normal_initializer",
    "zeros", "ones", "constant", "random_uniform", "random_normal", "truncated_normal", "variance_scaling",
    "glorot_uniform", "glorot_normal", "he_normal", "he_uniform", "lecun_normal", "lecun_uniform",
    "compute_fans", "global_variables", "variables",
]

class Zeros(Initializer):
    """Zeros (``tf.zeros_initializer()``, ``tf.initializers.zeros()``); the default of biases.

    Example:
        >>> import symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> tf.Session().run(tf.zeros_initializer()([2, 3]))
        array([[0., 0., 0.],
               [0., 0., 0.]], dtype=float32)
    """

    def __init__(self, dtype: Any = float32):
        self.dtype = as_dtype(dtype)

    def __call__(self, shape: Any, dtype: Any = None, partition_info: Any = None) -> Node:
        return _zeros(_full_shape(shape, "zeros_initializer"), self._dtype(dtype, partition_info))

    def get_config(self) -> dict:
        return {"dtype": self.dtype.name}


class Ones(Initializer):
    """Ones (``tf.ones_initializer()``, ``tf.initializers.ones()``).

    Example:
        >>> import symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> tf.Session().run(tf.ones_initializer(tf.int32)([3]))
        array([1, 1, 1], dtype=int32)
    """

    def __init__(self, dtype: Any = float32):
        self.dtype = as_dtype(dtype)

    def __call__(self, shape: Any, dtype: Any = None, partition_info: Any = None) -> Node:
        return _ones(_full_shape(shape, "ones_initializer"), self._dtype(dtype, partition_info))

    def get_config(self) -> dict:
        return {"dtype": self.dtype.name}


class Constant(Initializer):
    """A given value (``tf.constant_initializer(value)``): a scalar fills the shape; a list or array of as many
    elements is laid out in it row by row, and a shorter one is continued with its last element, as in TensorFlow 1.
    ``verify_shape=True`` asks for the value's own shape.

    Example:
        >>> import symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> init = tf.constant_initializer([0, 1, 2, 3, 4, 5, 6, 7])
        >>> tf.Session().run(init([3, 4]))
        array([[0., 1., 2., 3.],
               [4., 5., 6., 7.],
               [7., 7., 7., 7.]], dtype=float32)
    """

    def __init__(self, value: Any = 0, dtype: Any = float32, verify_shape: bool = False):
        if isinstance(value, Node) or not (np.isscalar(value) or isinstance(value, (list, tuple, np.ndarray))):
            raise TypeError(
                f"constant_initializer takes a Python scalar, a list or tuple of values, or a NumPy array, not "
                f"{value!r}."
            )
        self.value = value
        self.dtype = as_dtype(dtype)
        self.verify_shape = bool(verify_shape)

    def __call__(self, shape: Any, dtype: Any = None, partition_info: Any = None,
                 verify_shape: bool | None = None) -> Node:
        dtype = self._dtype(dtype, partition_info)
        dims = _full_shape(shape, "constant_initializer")
        given = np.asarray(self.value)
        if dtype.is_integer and given.dtype.kind == "f" and not np.all(given == np.round(given)):
            raise InvalidArgumentError(f"constant_initializer: the value {self.value!r} is not of dtype {dtype.name}.")
        value = given.astype(dtype.as_numpy_dtype)
        verify = self.verify_shape if verify_shape is None else verify_shape
        if verify and value.shape != dims:
            raise TypeError(f"constant_initializer: expected a value of shape {format_shape(dims)}, got "
                            f"{format_shape(value.shape)}.")
        size, flat = int(np.prod(dims)), value.reshape(-1)
        if flat.size > size:
            raise InvalidArgumentError(
                f"constant_initializer: too many elements provided. Needed at most {size}, but received {flat.size}."
            )
        if flat.size == 0 and size:
            raise InvalidArgumentError("constant_initializer: the value has no elements to fill the shape with.")
        if flat.size < size:  # TensorFlow 1 continues a short value with its last element
            flat = np.concatenate([flat, np.full(size - flat.size, flat[-1], dtype=flat.dtype)])
        return _constant(flat.reshape(dims), dtype=dtype, name="Const")

    def get_config(self) -> dict:
        return {"value": self.value, "dtype": self.dtype.name}


class RandomUniform(Initializer):
    """Uniform values in ``[minval, maxval)`` (``tf.random_uniform_initializer``; ``maxval`` 1 for floats).

    Example:
        >>> import symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> u = tf.Session().run(tf.random_uniform_initializer(-0.1, 0.1, seed=1)([100, 10]))
        >>> bool(abs(u).max() <= 0.1), u.dtype
        (True, dtype('float32'))
    """

    def __init__(self, minval: float = 0, maxval: float | None = None, seed: int | None = None,
                 dtype: Any = float32):
        self.minval, self.maxval, self.seed = minval, maxval, seed
        self.dtype = as_dtype(dtype)

    def __call__(self, shape: Any, dtype: Any = None, partition_info: Any = None) -> Node:
        return _random_uniform(_full_shape(shape, "random_uniform_initializer"), self.minval, self.maxval,
                               self._dtype(dtype, partition_info), seed=self.seed)

    def get_config(self) -> dict:
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed, "dtype": self.dtype.name}


class RandomNormal(Initializer):
    """Normal values of mean ``mean`` and standard deviation ``stddev`` (``tf.random_normal_initializer``).

    Example:
        >>> import symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> w = tf.Session().run(tf.random_normal_initializer(stddev=0.01, seed=2)([784, 256]))
        >>> bool(abs(w.std() - 0.01) < 1e-3)
        True
    """

    def __init__(self, mean: float = 0.0, stddev: float = 1.0, seed: int | None = None, dtype: Any = float32):
        self.mean, self.stddev, self.seed = mean, stddev, seed
        self.dtype = _float_dtype(dtype, type(self).__name__)

    def __call__(self, shape: Any, dtype: Any = None, partition_info: Any = None) -> Node:
        dtype = _float_dtype(self._dtype(dtype, partition_info), type(self).__name__)
        return _random_normal(_full_shape(shape, "random_normal_initializer"), self.mean, self.stddev, dtype,
                              seed=self.seed)

    def get_config(self) -> dict:
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed, "dtype": self.dtype.name}


class TruncatedNormal(RandomNormal):
    """Normal values, those beyond two standard deviations drawn again (``tf.truncated_normal_initializer``): the
    initializer TensorFlow 1's tutorials give weights and filters.

    Example:
        >>> import symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> w = tf.Session().run(tf.truncated_normal_initializer(stddev=0.5, seed=3)([5, 5, 1, 32]))
        >>> bool(abs(w).max() <= 1.0)
        True
    """

    def __call__(self, shape: Any, dtype: Any = None, partition_info: Any = None) -> Node:
        dtype = _float_dtype(self._dtype(dtype, partition_info), type(self).__name__)
        return _truncated_normal(_full_shape(shape, "truncated_normal_initializer"), self.mean, self.stddev, dtype,
                                 seed=self.seed)


class VarianceScaling(Initializer):
    """Values scaled to the Variable's shape (``tf.variance_scaling_initializer``; the rule is in the module's text).

    Args:
        scale: the variance's factor ``s`` before division by the fan (positive).
        mode: ``"fan_in"``, ``"fan_out"`` or ``"fan_avg"``.
        distribution: ``"truncated_normal"`` (``"normal"`` is its older name), ``"untruncated_normal"`` or
            ``"uniform"``.
        seed: the op seed of the random op.
        dtype: a floating dtype.

    Example:
        >>> import math, symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> init = tf.variance_scaling_initializer(scale=2.0, distribution="uniform", seed=1)  # He's uniform
        >>> w = tf.Session().run(init([300, 100]))
        >>> bool(abs(w).max() <= math.sqrt(3 * 2.0 / 300))
        True
    """

    MODES = ("fan_in", "fan_out", "fan_avg")
    DISTRIBUTIONS = ("normal", "truncated_normal", "untruncated_normal", "uniform")

    def __init__(self, scale: float = 1.0, mode: str = "fan_in", distribution: str = "truncated_normal",
                 seed: int | None = None, dtype: Any = float32):
        if not isinstance(scale, (int, float, np.number)) or isinstance(scale, bool) or not scale > 0:
            raise InvalidArgumentError(f"variance_scaling_initializer: scale must be a positive float, not {scale!r}.")
        if mode not in self.MODES:
            raise InvalidArgumentError(f"variance_scaling_initializer: mode must be one of {self.MODES}, not {mode!r}.")
        if not isinstance(distribution, str) or distribution.lower() not in self.DISTRIBUTIONS:
            raise InvalidArgumentError(
                f"variance_scaling_initializer: distribution must be one of {self.DISTRIBUTIONS}, not {distribution!r}."
            )
        self.scale, self.mode, self.distribution, self.seed = float(scale), mode, distribution.lower(), seed
        self.dtype = _float_dtype(dtype, "variance_scaling_initializer")

    def variance(self, shape: Any) -> float:
        """``scale / n``: the variance of the values for a Variable of ``shape`` (``n`` the fan, at least 1)."""
        fan_in, fan_out = compute_fans(shape)
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        return self.scale / max(1.0, fan)

    def __call__(self, shape: Any, dtype: Any = None, partition_info: Any = None) -> Node:
        dtype = _float_dtype(self._dtype(dtype, partition_info), "variance_scaling_initializer")
        dims = _full_shape(shape, "variance_scaling_initializer")
        variance = self.variance(dims)
        if self.distribution == "uniform":
            limit = math.sqrt(3 * variance)
            return _random_uniform(dims, -limit, limit, dtype, seed=self.seed)
        if self.distribution == "untruncated_normal":
            return _random_normal(dims, 0.0, math.sqrt(variance), dtype, seed=self.seed)
        # cutting at two standard deviations narrows the distribution: widen it to keep the variance asked for
        return _truncated_normal(dims, 0.0, math.sqrt(variance) / TRUNCATED_STDDEV, dtype, seed=self.seed)

    def get_config(self) -> dict:
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution, "seed": self.seed,
                "dtype": self.dtype.name}


class GlorotUniform(VarianceScaling):
    """Glorot's (Xavier's) uniform initializer: uniform in ``±√(6 / (fan_in + fan_out))``. It is the default of
    ``tf.get_variable`` for floats, and so of the kernels of ``tf.layers``.

    Example:
        >>> import math, symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> w = tf.Session().run(tf.glorot_uniform_initializer(seed=1)([784, 256]))
        >>> limit = math.sqrt(6 / (784 + 256))
        >>> bool(abs(w).max() <= limit), bool(abs(w).max() > 0.99 * limit)
        (True, True)
    """

    def __init__(self, seed: int | None = None, dtype: Any = float32):
        super().__init__(1.0, "fan_avg", "uniform", seed, dtype)

    def get_config(self) -> dict:
        return {"seed": self.seed, "dtype": self.dtype.name}


class GlorotNormal(VarianceScaling):
    """Glorot's (Xavier's) normal initializer: truncated normal of standard deviation ``√(2 / (fan_in + fan_out))``
    after truncation.

    Example:
        >>> import math, symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> w = tf.Session().run(tf.glorot_normal_initializer(seed=1)([784, 256]))
        >>> bool(abs(w.std() / math.sqrt(2 / (784 + 256)) - 1) < 0.01)
        True
    """

    def __init__(self, seed: int | None = None, dtype: Any = float32):
        super().__init__(1.0, "fan_avg", "truncated_normal", seed, dtype)

    def get_config(self) -> dict:
        return {"seed": self.seed, "dtype": self.dtype.name}


def he_normal(seed: int | None = None) -> VarianceScaling:
    """He's normal initializer: truncated normal of variance ``2 / fan_in`` (``tf.initializers.he_normal``)."""
    return VarianceScaling(2.0, "fan_in", "truncated_normal", seed)


def he_uniform(seed: int | None = None) -> VarianceScaling:
    """He's uniform initializer: uniform in ``±√(6 / fan_in)`` (``tf.initializers.he_uniform``)."""
    return VarianceScaling(2.0, "fan_in", "uniform", seed)


def lecun_normal(seed: int | None = None) -> VarianceScaling:
    """LeCun's normal initializer: truncated normal of variance ``1 / fan_in`` (``tf.initializers.lecun_normal``)."""
    return VarianceScaling(1.0, "fan_in", "truncated_normal", seed)


def lecun_uniform(seed: int | None = None) -> VarianceScaling:
    """LeCun's uniform initializer: uniform in ``±√(3 / fan_in)`` (``tf.initializers.lecun_uniform``)."""
    return VarianceScaling(1.0, "fan_in", "uniform", seed)


# TensorFlow 1's names: tf.zeros_initializer() ... and tf.initializers.zeros() ...
zeros_initializer = zeros = Zeros
ones_initializer = ones = Ones
constant_initializer = constant = Constant
random_uniform_initializer = random_uniform = RandomUniform
random_normal_initializer = random_normal = RandomNormal
truncated_normal_initializer = truncated_normal = TruncatedNormal
variance_scaling_initializer = variance_scaling = VarianceScaling
glorot_uniform_initializer = glorot_uniform = GlorotUniform
glorot_normal_initializer = glorot_normal = GlorotNormal
