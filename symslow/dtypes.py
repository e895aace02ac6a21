"""TensorFlow 1's dtypes: ``tf.float32``, ``tf.int32``, ``tf.bool``, ``tf.string`` ... and the rules for literals.

A :class:`DType` names a NumPy type (``tf.float32.as_numpy_dtype is numpy.float32``) and stands wherever NumPy takes a
dtype (``numpy.zeros(3, dtype=tf.float32)``). Nodes keep their dtype as the NumPy type, so ``node.dtype ==
tf.float32`` and ``node.dtype == numpy.float32`` both hold.

The rules for values written in Python, as TensorFlow 1 has them:

* a Python float (or a list of them) becomes ``float32``, a Python int ``int32``, a Python bool ``bool``, a string
  ``string`` (bytes);
* a NumPy array or scalar keeps its dtype (``numpy.random.randn`` gives float64, and so does the tutorial);
* a Python number next to a node inside an op takes that node's dtype (``2 * x`` is float32 when ``x`` is).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .errors import InvalidArgumentError


class DType:
    """A TensorFlow 1 dtype: a name and the NumPy type it computes in.

    Example:
        >>> import numpy as np, symslow as tf
        >>> tf.float32.name, tf.float32.as_numpy_dtype is np.float32
        ('float32', True)
        >>> tf.as_dtype("float") == tf.float32, tf.as_dtype(np.int64) == tf.int64
        (True, True)
        >>> np.zeros(2, dtype=tf.float32).dtype
        dtype('float32')
    """

    def __init__(self, name: str, numpy_type: type):
        self.name = name
        self.as_numpy_dtype = numpy_type

    @property
    def dtype(self) -> np.dtype:
        """The NumPy dtype; with it NumPy accepts a ``DType`` wherever it takes a dtype."""
        return np.dtype(self.as_numpy_dtype)

    @property
    def base_dtype(self) -> "DType":
        return self

    @property
    def is_floating(self) -> bool:
        return self.dtype.kind == "f"

    @property
    def is_integer(self) -> bool:
        return self.dtype.kind in "iu"

    @property
    def is_bool(self) -> bool:
        return self.dtype.kind == "b"

    @property
    def size(self) -> int:
        return self.dtype.itemsize

    def __eq__(self, other: Any) -> bool:
        try:
            return as_numpy_type(other) is self.as_numpy_dtype
        except (InvalidArgumentError, TypeError):
            return False

    def __hash__(self) -> int:
        return hash(self.as_numpy_dtype)

    def __repr__(self) -> str:
        return f"tf.{self.name}"


float16 = DType("float16", np.float16)
float32 = DType("float32", np.float32)
float64 = DType("float64", np.float64)
int8 = DType("int8", np.int8)
int16 = DType("int16", np.int16)
int32 = DType("int32", np.int32)
int64 = DType("int64", np.int64)
uint8 = DType("uint8", np.uint8)
bool = DType("bool", np.bool_)  # noqa: A001  (TensorFlow's name)
string = DType("string", np.bytes_)

DTYPES = (float16, float32, float64, int8, int16, int32, int64, uint8, bool, string)
_BY_NAME = {d.name: d for d in DTYPES}
# TensorFlow's other spellings: "float" is float32 (NumPy's "float" is float64), "double" float64
_BY_NAME.update({"float": float32, "double": float64, "half": float16, "int": int32, "long": int64})
_BY_NUMPY = {np.dtype(d.as_numpy_dtype): d for d in DTYPES}


def as_dtype(value: Any) -> DType:
    """The :class:`DType` of a DType, a NumPy type or dtype, or a name (``"float32"``, ``"float"``, ``"int32"``).

    Example:
        >>> import symslow as tf
        >>> tf.as_dtype("double")
        tf.float64
    """
    if isinstance(value, DType):
        return value
    if isinstance(value, str) and value in _BY_NAME:
        return _BY_NAME[value]
    try:
        numpy_dtype = np.dtype(value)
    except TypeError:
        raise InvalidArgumentError(f"{value!r} is not a dtype (use tf.float32, tf.float64, tf.int32, ...).") from None
    if numpy_dtype.kind in "SU":
        return string
    if numpy_dtype not in _BY_NUMPY:
        raise InvalidArgumentError(f"dtype {numpy_dtype.name} has no TensorFlow 1 counterpart here.")
    return _BY_NUMPY[numpy_dtype]


def as_numpy_type(value: Any) -> type:
    """The NumPy scalar type of anything :func:`as_dtype` takes (``numpy.float32`` for ``"float"``)."""
    return as_dtype(value).as_numpy_dtype


def literal_array(value: Any) -> np.ndarray:
    """A value written in Python as an array, with TensorFlow 1's dtypes for literals (see the module docstring).

    Example:
        >>> literal_array(0.5).dtype, literal_array([1, 2]).dtype, literal_array(np.ones(2)).dtype
        (dtype('float32'), dtype('int32'), dtype('float64'))
    """
    array = np.asarray(value)
    if isinstance(value, (np.ndarray, np.generic)):
        return array
    if array.dtype == np.float64:
        return array.astype(np.float32)
    if array.dtype == np.int64 and np.all(np.abs(array) <= np.iinfo(np.int32).max):
        return array.astype(np.int32)
    if array.dtype.kind == "U":
        return np.char.encode(array, "utf-8")
    return array
