"""Checks for gradients, offered to users who write their own ops and used by symslow's own tests."""

from __future__ import annotations

from typing import Any

import numpy as np

from .graph import Node, Placeholder
from .gradients import gradients


def numeric_gradient(function, value: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central finite differences of a scalar ``function`` of an array, one element at a time."""
    value = np.array(value, dtype=np.float64)
    grad = np.zeros_like(value)
    for index in np.ndindex(value.shape):
        original = value[index]
        value[index] = original + eps
        plus = function(value.copy())
        value[index] = original - eps
        minus = function(value.copy())
        value[index] = original
        grad[index] = (plus - minus) / (2 * eps)
    return grad


def check_gradients(y: Node, xs: list[Placeholder], feed_dict: dict, session: Any = None, rtol: float = 1e-6,
                    atol: float = 1e-8, eps: float = 1e-6) -> None:
    """Assert that ``gradients(reduce_sum(y), xs)`` equals central finite differences at ``feed_dict``.

    ``xs`` are placeholders fed in ``feed_dict``; ``y`` may have any shape (its sum is differentiated). Raises
    ``AssertionError`` naming the placeholder and the largest error.

    Example:
        >>> import sympy, symslow as ts
        >>> from symslow.testing import check_gradients
        >>> _ = ts.Graph().as_default()
        >>> x = ts.placeholder(name="x")
        >>> softplus = ts.elementwise("softplus", lambda x: sympy.log(1 + sympy.exp(x)))
        >>> check_gradients(softplus(x) * x, [x], {x: [0.5, -1.0, 2.0]})
    """
    from .ops.reduce import reduce_sum
    from .session import Session

    session = session or Session(graph=y.graph)
    total = reduce_sum(y)
    symbolic = session.run([g for g in gradients(total, xs)], feed_dict)
    for x, grad in zip(xs, symbolic):
        def f(value, x=x):
            return float(session.run(total, {**feed_dict, x: value}))

        numeric = numeric_gradient(f, np.asarray(feed_dict[x], dtype=np.float64), eps)
        if not np.allclose(grad, numeric, rtol=rtol, atol=atol):
            error = np.max(np.abs(np.asarray(grad) - numeric))
            raise AssertionError(
                f"Gradient of {y.name!r} with respect to {x.name!r} differs from finite differences by up to "
                f"{error:.3g}:\nsymbolic:\n{np.asarray(grad)}\nnumeric:\n{numeric}"
            )
