"""The Variables of ``get_variable``: a new one made from its initializer (TensorFlow's default initializers, the
value's shape and dtype checked), named in its variable scope alone whatever name scopes are open, and an existing
one refused where it is asked for under another shape or dtype."""

from __future__ import annotations

import contextlib
import inspect
from typing import Any, Iterator

import numpy as np

from .dtypes import as_dtype
from .errors import InvalidArgumentError
from .graph import Graph, Node, format_shape
from .leaves import Variable


def _check_shared(variable: Variable, full_name: str, dims: tuple | None, dtype: Any) -> None:
    """Refuse to share a Variable under a shape or dtype other than its own, as TensorFlow does (the dtype asked
    for is the scope's, float32 unless set, when ``get_variable`` is given none)."""
    compatible = dims is None or (len(dims) == len(variable.shape) and
                                  all(d is None or d == s for d, s in zip(dims, variable.shape)))
    if not compatible:
        raise InvalidArgumentError(
            f"Trying to share variable {full_name}, but specified shape {format_shape(dims)} and found shape "
            f"{format_shape(variable.shape)}."
        )
    if as_dtype(dtype) != as_dtype(variable.dtype):
        raise InvalidArgumentError(
            f"Trying to share variable {full_name}, but specified dtype {as_dtype(dtype).name} and found dtype "
            f"{as_dtype(variable.dtype).name}."
        )


def _new_variable(graph: Graph, scope_name: str, name: str, full_name: str, dims: tuple | None, dtype: Any,
                  initializer: Any, from_value: bool, trainable: bool, validate_shape: bool) -> Variable:
    from .initializers import GlorotUniform, Zeros

    if from_value:
        if dims is not None:
            raise InvalidArgumentError(
                f"get_variable {full_name!r}: if initializer is a constant, do not specify shape."
            )
        with _absolute_name_scope(graph, scope_name):
            return Variable(initializer, name=name, trainable=trainable)
    if dims is None or None in dims:
        raise InvalidArgumentError(
            f"Shape of a new variable ({full_name}) must be fully defined, but instead was {format_shape(dims)}."
        )
    if initializer is None:  # TensorFlow's defaults: Glorot's uniform for floats, zeros for integers and bools
        if dtype.is_floating:
            initializer = GlorotUniform()
        elif dtype.is_integer or dtype.is_bool:
            initializer = Zeros()
        else:
            raise InvalidArgumentError(f"An initializer for variable {full_name} of {dtype.name} is required.")
    with _absolute_name_scope(graph, f"{full_name}/Initializer"):
        value = call_initializer(initializer, dims, dtype)
    value_shape = value.shape if isinstance(value, Node) else np.shape(value)
    if validate_shape and value_shape is not None and tuple(value_shape) != dims:
        raise InvalidArgumentError(
            f"get_variable {full_name!r}: the initializer gave a value of shape {format_shape(value_shape)}, not the "
            f"shape {format_shape(dims)} asked for."
        )
    if isinstance(value, Node) and value.dtype is not None and as_dtype(value.dtype) != dtype:
        raise InvalidArgumentError(
            f"get_variable {full_name!r}: the initializer gave a node of dtype {as_dtype(value.dtype).name} "
            f"({value.name!r}), not the dtype {dtype.name} asked for."
        )
    with _absolute_name_scope(graph, scope_name):
        return Variable(value, name=name, trainable=trainable, dtype=dtype)


@contextlib.contextmanager
def _absolute_name_scope(graph: Graph, scope: str) -> Iterator[None]:
    """Nodes made inside are named in ``scope`` alone, whatever name scopes are open (Variables follow variable
    scopes, not name scopes)."""
    stack = graph._scope_stack()
    saved = stack[:]
    stack[:] = [scope] if scope else []
    try:
        yield
    finally:
        stack[:] = saved


def call_initializer(initializer: Any, shape: tuple, dtype: Any) -> Any:
    """Call an initializer as ``tf.get_variable`` does: a class is made first, and a function of ``(shape,
    dtype)`` without ``partition_info`` is called without it."""
    if isinstance(initializer, type):
        initializer = initializer()
    try:
        parameters = inspect.signature(initializer).parameters
    except (TypeError, ValueError):  # a callable without a signature to read: call it as TensorFlow does
        parameters = {"partition_info": None}
    takes_info = "partition_info" in parameters or any(p.kind is p.VAR_KEYWORD for p in parameters.values())
    if takes_info:
        return initializer(list(shape), dtype=dtype, partition_info=None)
    return initializer(list(shape), dtype=dtype)
