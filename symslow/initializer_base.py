"""What every initializer is: :class:`Initializer` (called with a shape and a dtype, it returns the initial-value
node), with the checks initializers share and the fans of a shape (:func:`compute_fans`)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .dtypes import DType, as_dtype, float32
from .errors import InvalidArgumentError
from .graph import Node, as_shape, format_shape


# The standard deviation of a standard normal cut to [-2, 2]: 1 - 2·2·φ(2) / (Φ(2) - Φ(-2)) is its variance.
TRUNCATED_STDDEV = math.sqrt(1 - 4 * math.exp(-2) / math.sqrt(2 * math.pi) / math.erf(math.sqrt(2)))


def compute_fans(shape: Any) -> tuple[float, float]:
    """``(fan_in, fan_out)`` of a Variable's shape, as :class:`VarianceScaling` counts them (see the module's text).

    Example:
        >>> compute_fans([784, 256]), compute_fans([5, 5, 3, 32])
        ((784, 256), (75, 800))
    """
    dims = _full_shape(shape, "compute_fans")
    if len(dims) == 0:
        return 1, 1
    if len(dims) == 1:
        return dims[0], dims[0]
    if len(dims) == 2:
        return dims[0], dims[1]
    receptive_field = int(np.prod(dims[:-2]))
    return dims[-2] * receptive_field, dims[-1] * receptive_field


def _full_shape(shape: Any, what: str) -> tuple:
    dims = as_shape(list(shape) if isinstance(shape, np.ndarray) else shape)
    if dims is None or None in dims:
        raise InvalidArgumentError(f"{what}: the shape must be fully known, not {format_shape(dims)}.")
    return dims


def _float_dtype(dtype: Any, what: str) -> DType:
    dtype = as_dtype(dtype)
    if not dtype.is_floating:
        raise InvalidArgumentError(f"{what}: expected a floating point dtype, got {dtype.name}.")
    return dtype


class Initializer:
    """The base of initializers: ``init(shape, dtype=None, partition_info=None)`` returns the initial-value node.

    ``dtype`` None takes the dtype the initializer was made with; ``partition_info`` (TensorFlow's partitioned
    Variables) is accepted and must be None.
    """

    dtype: DType = float32

    def __call__(self, shape: Any, dtype: Any = None, partition_info: Any = None) -> Node:
        raise NotImplementedError(f"{type(self).__name__} does not say how it makes a value.")

    def _dtype(self, dtype: Any, partition_info: Any) -> DType:
        if partition_info is not None:
            raise NotImplementedError(f"{type(self).__name__}: partitioned Variables are not supported.")
        return self.dtype if dtype is None else as_dtype(dtype)

    def get_config(self) -> dict:
        """The arguments that make this initializer again: ``type(init).from_config(init.get_config())``."""
        return {}

    @classmethod
    def from_config(cls, config: dict) -> "Initializer":
        """An initializer made from :meth:`get_config`'s dictionary."""
        return cls(**config)

    def __repr__(self) -> str:
        arguments = ", ".join(f"{key}={value!r}" for key, value in self.get_config().items())
        return f"{type(self).__name__}({arguments})"
