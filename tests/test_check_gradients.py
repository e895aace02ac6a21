"""symslow.testing.check_gradients, as a reader uses it on a gradient of their own: against finite differences and
against the gradient symslow derives for the same function written with its built-in ops."""

import re

import numpy as np
import pytest

import symslow as ts
from symslow.testing import check_gradients


def cube_op(op_type, factor):
    """A user op in the tutorial's style (``compute``) with a registered gradient ``factor * x**2 * grad``."""

    class cube(ts.Operation):
        def __init__(self, x):
            super().__init__([x])

        def compute(self, x_value):
            return x_value ** 3

    cube.op_type = op_type

    @ts.RegisterGradient(op_type)
    def _gradient(op, grad):
        x = op.inputs[0].output
        return [grad * factor * x * x]

    return cube


VALUES = np.array([-1.5, 0.5, 2.0])


def test_a_right_gradient_passes_both_checks():
    cube = cube_op("check_cube_right", 3)
    ts.Graph().as_default()
    x = ts.placeholder(name="x")
    check_gradients(cube(x), [x], {x: VALUES})
    check_gradients(cube(x), [x], {x: VALUES}, reference=x * x * x)


def test_a_wrong_gradient_is_caught_by_finite_differences_and_by_the_reference():
    cube = cube_op("check_cube_wrong", 2)  # the derivative of x**3 is 3 x**2, not 2 x**2
    ts.Graph().as_default()
    x = ts.placeholder(name="x")
    y = cube(x)
    y_name = y.name
    largest = np.max(np.abs(VALUES ** 2))  # (3 - 2) x**2 at its largest
    with pytest.raises(AssertionError, match=f"Gradient of '{y_name}' with respect to 'x' differs from finite "
                                             "differences by up to") as caught:
        check_gradients(y, [x], {x: VALUES})
    assert float(re.search(r"by up to ([\d.e+-]+):", str(caught.value))[1]) == pytest.approx(largest, rel=1e-3)
    with pytest.raises(AssertionError, match="differs from symslow's gradient of the reference by up to 4:"):
        check_gradients(y, [x], {x: VALUES}, reference=ts.pow(x, 3.0))


def test_a_reference_that_computes_something_else_is_reported():
    cube = cube_op("check_cube_values", 3)
    ts.Graph().as_default()
    x = ts.placeholder(name="x")
    # x**3 - x**2 at -1.5 is -5.625, the largest difference
    with pytest.raises(AssertionError, match="and its reference 'square' differ in value by up to 5.62:"):
        check_gradients(cube(x), [x], {x: VALUES}, reference=ts.square(x, name="square"))


def test_an_input_the_output_does_not_depend_on_has_gradient_zero():
    ts.Graph().as_default()
    x = ts.placeholder(name="x")
    unused = ts.placeholder(name="unused")
    check_gradients(ts.exp(x), [x, unused], {x: VALUES, unused: [1.0, 2.0]})
