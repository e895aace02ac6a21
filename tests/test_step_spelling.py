"""The step function of the kinks' gradients, ``Heaviside(x, h0)`` (``symslow.ops.elementwise.step``), as every
backend prints it: the values of NumPy's own ``heaviside(x, h0)`` at every kind of value (NaN, -0.0 and +0.0,
±inf, subnormal and huge numbers), in float16, float32 and float64, for arrays and NumPy scalars.

The NumPy printer spells it with ``sign`` and ``maximum``/``minimum``, which the interpreter uses too, so that a
comparison of the two would not notice a wrong spelling: here ``numpy.heaviside`` is the reference.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy

import symslow as ts
from symslow.backends import get_backend
from test_backends import BACKENDS, WITH_INTERPRETER, _numpy_in_cupys_place  # noqa: F401  (the autouse fixture)

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def edges(dtype, subnormal: bool = True) -> np.ndarray:
    """Every kind of value of ``dtype``, with NaNs of both signs and one with a payload."""
    info = np.finfo(dtype)
    values = [0.0, -0.0, 1.0, -1.0, 0.5, -2.5, np.inf, -np.inf, info.max, info.min, info.tiny, -info.tiny, np.nan,
              -np.nan]
    if subnormal:
        values += [info.smallest_subnormal, -info.smallest_subnormal]
    x = np.array(values, dtype=dtype)
    bits = np.array([np.nan], dtype=dtype).view(f"u{x.itemsize}") | 1
    return np.concatenate([x, bits.view(dtype)])


def assert_identical(got, expected, where: str) -> None:
    """The same type, dtype and values: NaN where NaN, the sign of every zero."""
    assert type(got) is type(expected), f"{where}: {type(got)}, expected {type(expected)}"
    got, expected = np.asarray(got), np.asarray(expected)
    assert got.dtype == expected.dtype and got.shape == expected.shape, where
    nan = np.isnan(expected)
    assert np.array_equal(np.isnan(got), nan), f"{where}: {got!r}, expected {expected!r}"
    assert np.array_equal(got[~nan], expected[~nan]), f"{where}: {got!r}, expected {expected!r}"
    assert np.array_equal(np.signbit(got[~nan]), np.signbit(expected[~nan])), f"{where}: signs of zeros"


@pytest.mark.parametrize("h0", [0, 1, sympy.Rational(1, 2)], ids=["0", "1", "half"])
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_numpy_prints_heavisides_values(dtype, h0):
    x = sympy.Symbol("x")
    code = get_backend("numpy").print_code(sympy.Heaviside(x, h0), {x: "v"})
    step = eval(f"lambda v: {code}", {"numpy": np})
    values = edges(dtype)
    assert_identical(step(values), np.heaviside(values, float(h0)), code)
    for value in values:  # NumPy scalars, and 0-d arrays
        assert_identical(step(value), np.heaviside(value, float(h0)), f"{code} at {value!r}")
        assert_identical(step(np.asarray(value)), np.heaviside(np.asarray(value), float(h0)), f"{code} at {value!r}")


@pytest.mark.parametrize("backend", WITH_INTERPRETER)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gradients_of_kinks_are_heavisides_at_every_kind_of_value(backend, dtype):
    # JAX's XLA reads subnormal numbers as zeros: left out of its values
    x_value = edges(dtype, subnormal=backend != "jax")
    y_value = np.roll(x_value, 3)
    weights = np.linspace(0.5, 1.5, x_value.size).astype(dtype)
    tf_dtype = getattr(ts, np.dtype(dtype).name)
    ts.Graph().as_default()
    x, y = ts.placeholder(tf_dtype, [x_value.size], name="x"), ts.placeholder(tf_dtype, [x_value.size], name="y")
    terms = {"relu": ts.nn.relu(x), "maximum": ts.maximum(x, y), "minimum": ts.minimum(x, y)}
    grads = {name: ts.gradients(ts.reduce_sum(term * weights), [x, y]) for name, term in terms.items()}
    fetches = {name: [g for g in pair if g is not None] for name, pair in grads.items()}
    got = ts.Session(backend=backend).run(fetches, {x: x_value, y: y_value})
    h = np.heaviside
    expected = {  # TensorFlow's masks: relu's x > 0; a tie of maximum or minimum goes to x
        "relu": [weights * h(x_value, 0.0)],
        "maximum": [weights * h(x_value - y_value, 1.0), weights * h(y_value - x_value, 0.0)],
        "minimum": [weights * h(y_value - x_value, 1.0), weights * h(x_value - y_value, 0.0)],
    }
    for name in terms:
        for k, (value, reference) in enumerate(zip(got[name], expected[name])):
            assert_identical(np.asarray(value), reference, f"{backend}: gradient {k} of {name}")
