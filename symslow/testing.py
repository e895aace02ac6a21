"""Checks for gradients, offered to users who write their own ops and used by symslow's own tests."""

from __future__ import annotations

from typing import Any

import numpy as np

from .graph import Node
from .leaves import Placeholder
from .gradients import gradients
from .ops.registered import own_rules


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
                    atol: float = 1e-8, eps: float = 1e-6, reference: Node | None = None) -> None:
    """Assert that ``gradients(reduce_sum(y), xs)`` equals central finite differences at ``feed_dict``, and, with a
    ``reference``, the gradient symslow derives for the reference.

    This is the check for a gradient of your own (an op's ``gradient`` rule, or a function registered with
    ``@RegisterGradient``): finite differences need only the values of ``y``; ``reference`` is the same function
    written with symslow's built-in ops (``x * x * x`` for a ``cube`` op), whose gradient symslow derives from the
    formulas, so the two gradients must agree, and so must the two values.

    ``xs`` are placeholders fed in ``feed_dict``; ``y`` may have any shape (its sum is differentiated). Raises
    ``AssertionError`` naming the placeholder, what the gradient was compared with, and the largest error; returns
    nothing when all agree.

    Example:
        >>> import sympy, symslow as ts
        >>> from symslow.testing import check_gradients
        >>> _ = ts.Graph().as_default()
        >>> x = ts.placeholder(name="x")
        >>> softplus = ts.elementwise("softplus", lambda x: sympy.log(1 + sympy.exp(x)))
        >>> check_gradients(softplus(x) * x, [x], {x: [0.5, -1.0, 2.0]})
        >>> y = softplus(x, name="y")
        >>> check_gradients(y, [x], {x: [0.5, -1.0]}, reference=ts.log(1 + ts.exp(x)))
        >>> check_gradients(y, [x], {x: [0.5, -1.0]}, reference=ts.log(2 + ts.exp(x), name="wrong"))
        ... # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        AssertionError: 'y' and its reference 'wrong' differ in value by up to 0.549:
        ...
    """
    from .ops.reduce import reduce_sum
    from .session import Session

    session = session or Session(graph=y.graph)
    total = reduce_sum(y)
    symbolic = _gradient_values(session, total, xs, feed_dict)
    if reference is not None:
        value, expected_value = session.run([y, reference], feed_dict)
        if np.shape(value) != np.shape(expected_value) or not np.allclose(value, expected_value, rtol=rtol, atol=atol):
            raise AssertionError(f"{y.name!r} and its reference {reference.name!r} differ in value by up to "
                                 f"{_largest_error(value, expected_value)}:\n{value}\nreference:\n{expected_value}")
        with own_rules():  # the reference's gradient by symslow's rules, not by the function being checked
            expected = _gradient_values(session, reduce_sum(reference), xs, feed_dict)
        for x, grad, want in zip(xs, symbolic, expected):
            _compare(y, x, grad, want, "symslow's gradient of the reference", rtol, atol)
    for x, grad in zip(xs, symbolic):
        def f(value, x=x):
            return float(session.run(total, {**feed_dict, x: value}))

        numeric = numeric_gradient(f, np.asarray(feed_dict[x], dtype=np.float64), eps)
        _compare(y, x, grad, numeric, "finite differences", rtol, atol)


def _gradient_values(session: Any, total: Node, xs: list[Placeholder], feed_dict: dict) -> list[np.ndarray]:
    """The gradients' values; zeros for an ``x`` the total does not depend on (``gradients`` gives ``None``)."""
    grads = gradients(total, xs)
    wanted = [g for g in grads if g is not None]
    values = iter(session.run(wanted, feed_dict) if wanted else [])
    return [np.zeros(np.shape(feed_dict[x])) if g is None else np.asarray(next(values)) for x, g in zip(xs, grads)]


def _largest_error(a: Any, b: Any) -> str:
    try:
        return f"{np.max(np.abs(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64))):.3g}"
    except ValueError:
        return f"shape {np.shape(a)} against {np.shape(b)}"


def _compare(y: Node, x: Node, grad: np.ndarray, expected: np.ndarray, what: str, rtol: float, atol: float) -> None:
    if np.shape(grad) != np.shape(expected) or not np.allclose(grad, expected, rtol=rtol, atol=atol):
        raise AssertionError(
            f"Gradient of {y.name!r} with respect to {x.name!r} differs from {what} by up to "
            f"{_largest_error(grad, expected)}:\nsymbolic:\n{grad}\n{what}:\n{expected}"
        )
