"""The hyperparameters of an optimizer (a learning rate, a decay, a flag), checked once, when it is made, with an
error that names the optimizer, the argument and the value; a learning rate may also be a scalar node (a decaying
schedule)."""

from __future__ import annotations

import numbers
from decimal import Decimal
from typing import Any

import numpy as np

from .errors import InvalidArgumentError
from .graph import Node, format_shape


def hyperparameter(owner: str, argument: str, value: Any, low: float | None = None, high: float | None = None,
                   low_open: bool = False, high_open: bool = False, node: bool = False) -> float | Node:
    """``value`` as a float, checked to be a finite real number in the range; or, if ``node`` allows it, a numeric
    scalar node.

    The error names the optimizer and the argument: ``RMSPropOptimizer: decay must be in [0, 1], not 1.5.``

    Example:
        >>> hyperparameter("MomentumOptimizer", "momentum", 0.9, low=0.0)
        0.9
        >>> hyperparameter("MomentumOptimizer", "momentum", float("nan"), low=0.0)
        Traceback (most recent call last):
        ...
        symslow.errors.InvalidArgumentError: MomentumOptimizer: momentum must be finite, not nan.
    """
    if node and isinstance(value, Node):
        if value.shape is not None and tuple(value.shape) != ():
            raise InvalidArgumentError(f"{owner}: {argument} must be a scalar, but node {value.name!r} has shape "
                                       f"{format_shape(value.shape)}.")
        if value.dtype is not None and np.dtype(value.dtype).kind not in "fiu":
            raise InvalidArgumentError(f"{owner}: {argument} must be a number, but node {value.name!r} has dtype "
                                       f"{np.dtype(value.dtype).name}.")
        return value
    given = value
    if isinstance(value, np.ndarray) and value.shape == ():
        value = value[()]
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.integer, np.floating, Decimal)):
        raise InvalidArgumentError(f"{owner}: {argument} must be a number, not {_shown(given)}.")
    try:
        value = float(value)  # a Fraction, a NumPy scalar, an int too large for a float (then: not finite)
    except (OverflowError, ValueError):  # a signalling NaN too
        value = float("inf")
    if not np.isfinite(value):
        raise InvalidArgumentError(f"{owner}: {argument} must be finite, not {_shown(given)}.")
    below = low is not None and (value <= low if low_open else value < low)
    above = high is not None and (value >= high if high_open else value > high)
    if below or above:
        if high is None:
            wanted = f"{'>' if low_open else '>='} {low:g}"
        else:
            wanted = f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        raise InvalidArgumentError(f"{owner}: {argument} must be {wanted}, not {value!r}.")
    return value


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def flag(owner: str, argument: str, value: Any) -> bool:
    """``value`` if it is a bool (``use_nesterov``, ``centered``): a string such as ``"False"`` would read as True.

    Example:
        >>> flag("RMSPropOptimizer", "centered", "False")
        Traceback (most recent call last):
        ...
        symslow.errors.InvalidArgumentError: RMSPropOptimizer: centered must be True or False, not 'False'.
    """
    if not isinstance(value, (bool, np.bool_)):
        raise InvalidArgumentError(f"{owner}: {argument} must be True or False, not {_shown(value)}.")
    return bool(value)
