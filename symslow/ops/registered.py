"""Gradient functions registered with ``@RegisterGradient("op_type")``, the tutorial's way of extending the library.

A registration *is* the gradient of that op type, built-in or your own, for every gradient built afterwards: it
replaces the rule symslow derives. A gradient function is written in one of two ways, and symslow runs it either way:

* **on nodes**: ``op.inputs[0]``, ``op.output`` and ``grad`` are graph nodes, and ``grad * op.output * (1 -
  op.output)``, ``grad.dot(B.T)``, ``np.sum(grad, axis=0)`` build nodes. The gradient is then a formula like every
  other (printed, drawn, differentiated again);
* **on values**, as the tutorial's library runs it after the forward pass: ``op.inputs[0]`` and ``op.output`` are
  the run's NumPy arrays and ``grad`` the incoming gradient's array, so ``np.ndim(grad)``, ``np.tile``,
  ``len(a.shape)`` work. The function is then called at run time, inside the compiled program, by one node per
  input (:class:`value_gradient`), which has no formula.

``@RegisterGradient("add")`` first calls the function on nodes; if that raises, it builds the run-time nodes and
keeps the reason (``node.reason``). ``on="nodes"`` or ``on="values"`` says which, and then nothing is tried.
"""

from __future__ import annotations

import contextlib
import html
import threading
import warnings
from typing import Any, Callable, Sequence

import numpy as np
import sympy

from ..errors import LookupGradientError, ShapeError, describe
from ..graph import Node, format_shape
from ..leaves import as_node
from .base import Operation, ThreadFlag, pretty_call

_registry: dict[str, "RegisterGradient"] = {}
_lock = threading.Lock()
_WAYS = ("auto", "nodes", "values")


class RegisterGradient:
    """Decorator making a function the gradient of an op type, as in the tutorial and TensorFlow 1.

    The function takes ``(op, grad)`` and returns one gradient per input (a list, ``None`` for no gradient; a single
    gradient for an op of one input). It replaces the gradient of that op type, built-in or not, in every gradient
    built afterwards; registering an op type again replaces the earlier function, with a warning, and
    :func:`unregister_gradient` brings the built-in rule back. TensorFlow's way, a function under a new name that
    :meth:`Graph.gradient_override_map <symslow.Graph.gradient_override_map>` gives to the ops made inside it, works
    too.

    A function on values (see :mod:`symslow.ops.registered`) is called at run time with ``op.inputs[i]`` (also
    spelled ``op.inputs[i].output``) the inputs' arrays, ``op.output`` the op's value and ``grad`` the incoming
    gradient's array; its results must have the inputs' shapes.

    Args:
        op_type: the op type (``"matmul"``, or your op class's name).
        on: ``"nodes"`` (the function builds graph nodes), ``"values"`` (it computes on the run's NumPy arrays) or
            ``"auto"``: on nodes if it can, else on values.

    Example:
        >>> import numpy as np, symslow as ts
        >>> @ts.RegisterGradient("sigmoid")
        ... def _sigmoid_gradient(op, grad):
        ...     sigmoid = op.output
        ...     return grad * sigmoid * (1 - sigmoid)
        >>> _ = ts.Graph().as_default()
        >>> x = ts.placeholder(name="x")
        >>> (dx,) = ts.gradients(ts.sigmoid(x), [x])
        >>> float(ts.Session().run(dx, {x: 0.0}))
        0.25
        >>> ts.unregister_gradient("sigmoid")
    """

    def __init__(self, op_type: str, on: str = "auto"):
        if not isinstance(op_type, str) or not op_type:
            raise TypeError(f"RegisterGradient takes an op type name (a string), not {op_type!r}.")
        if on not in _WAYS:
            raise ValueError(f"RegisterGradient({op_type!r}, on={on!r}): on is one of {', '.join(map(repr, _WAYS))}.")
        self.op_type = op_type
        self.on = on
        self.function: Callable | None = None

    def __call__(self, function: Callable) -> Callable:
        if not callable(function):
            raise TypeError(f"RegisterGradient({self.op_type!r}) decorates a function (op, grad), not {function!r}.")
        self.function = function
        with _lock:
            before = _registry.get(self.op_type)
            _registry[self.op_type] = self
        if before is not None and before.function is not function:
            warnings.warn(f"RegisterGradient({self.op_type!r}): {_title(function)} replaces {_title(before.function)}, "
                          "registered before, for gradients built from now on.", stacklevel=2)
        return function

    def input_gradients(self, op: Operation, grad: Node, indices: Sequence[int]) -> dict[int, Node | None]:
        """The gradients for ``op``'s inputs at ``indices``: built by the function on nodes, or nodes that call it
        on values at run time."""
        reason = f"registered with on={self.on!r}"
        if self.on != "values":
            first = len(op.graph.nodes)
            try:
                grads = self.function(op, grad)
            except Exception as error:  # the function needs values: np.ndim, np.tile, len(shape) of an unknown shape
                if self.on == "nodes":
                    raise
                op.graph._discard_since(first)  # what the attempt built is no one's gradient
                reason = f"on nodes it raised {type(error).__name__}: {error}"
            else:
                return {i: self._node(op, g, i) for i, g in _one_per_input(self.function, op, grads).items() if i in indices}
        return {i: value_gradient(self, op, grad, i, reason) for i in indices}

    def _node(self, op: Operation, value: Any, index: int) -> Node | None:
        if value is None:
            return None
        node = as_node(value, op.graph)
        x = op.input_nodes[index]
        if node.shape is not None and x.shape is not None and len(node.shape) == len(x.shape) and any(
                a is not None and b is not None and a != b for a, b in zip(node.shape, x.shape)):
            raise ShapeError(f"{_title(self.function)}, the gradient of op {describe(op)}, gives input {index} "
                             f"({x.name!r}, shape {format_shape(x.shape)}) a gradient of shape "
                             f"{format_shape(node.shape)}.")
        return node


def registered_gradient(op_type: str) -> RegisterGradient | None:
    """The registration of ``op_type``, if any."""
    return _registry.get(op_type)


def unregister_gradient(op_type: str) -> None:
    """Forget the function registered for ``op_type``: gradients built from now on use symslow's own rule again.

    Example:
        >>> import symslow as ts
        >>> ts.unregister_gradient("never_registered")
        Traceback (most recent call last):
        ...
        KeyError: "No gradient function is registered for op type 'never_registered'."
    """
    with _lock:
        if op_type not in _registry:
            raise KeyError(f"No gradient function is registered for op type {op_type!r}.")
        del _registry[op_type]


def own_rules() -> contextlib.AbstractContextManager:
    """Gradients built inside (in this thread) use symslow's own rule wherever an op has one, registrations aside:
    the reference a registered function is checked against (:func:`symslow.testing.check_gradients`)."""
    return _own_rules.on()


_own_rules = ThreadFlag()


def input_gradients(op: Operation, grad: Node, indices: Sequence[int]) -> dict[int, Node | None]:
    """The gradients backpropagation passes from ``op`` to its inputs at ``indices``, given ``grad`` = ∂J/∂op: the
    registered function's if there is one, else the op's own rule."""
    if _own_rules.value and type(op).gradient is not Operation.gradient:
        return {i: op.gradient(grad, i) for i in indices}
    override = getattr(op, "gradient_override", None)  # set by Graph.gradient_override_map
    registration = _registry.get(override or op.op_type)
    if override is not None and registration is None:
        raise LookupGradientError(f"Op {describe(op)} takes its gradient from {override!r} (gradient_override_map), "
                                  "but no function is registered under that name.")
    if registration is not None:
        return registration.input_gradients(op, grad, indices)
    return {i: op.gradient(grad, i) for i in indices}


def _title(function: Callable) -> str:
    return f"{getattr(function, '__module__', '?')}.{getattr(function, '__qualname__', repr(function))}"


def _one_per_input(function: Callable, op: Node, grads: Any) -> dict[int, Any]:
    if grads is None or isinstance(grads, (Node, np.ndarray, float, int, np.generic)):
        grads = [grads]
    grads = list(grads)
    if len(grads) != len(op.input_nodes):
        raise LookupGradientError(f"{_title(function)}, the gradient of op {describe(op)}, returned "
                                  f"{len(grads)} gradient(s) for {len(op.input_nodes)} input(s).")
    return dict(enumerate(grads))


class Value(np.ndarray):
    """A run's array as a gradient function on values sees it: ``value.output`` is the array too, so both the
    tutorial's ``op.inputs[0]`` and ``op.inputs[0].output`` read the input's value."""

    @property
    def output(self) -> np.ndarray:
        return self


class _OpOnValues:
    """The ``op`` a gradient function on values receives: the node, with its inputs and output as the run's values."""

    def __init__(self, node: Operation, inputs: Sequence, output: Any):
        object.__setattr__(self, "_node", node)
        object.__setattr__(self, "inputs", [np.asarray(v).view(Value) for v in inputs])
        object.__setattr__(self, "output", np.asarray(output).view(Value))

    def __getattr__(self, name: str):
        return getattr(self._node, name)


class OnValues(sympy.Function):
    """A value computed by your function on the run's arrays, inside a formula: it has no formula of its own."""

    is_real = True
    function_name = "your_function"
    index = 0

    @classmethod
    def eval(cls, *args):
        return None

    def _latex(self, printer, exp: str | None = None) -> str:
        name = self.function_name.replace("_", r"\_")
        text = (rf"\underbrace{{\texttt{{{name}}}\left({', '.join(printer._print(a) for a in self.args)}\right)"
                rf"_{{{self.index}}}}}_{{\text{{your function, on values}}}}")
        return text if exp is None else rf"\left({text}\right)^{{{exp}}}"

    def _sympystr(self, printer) -> str:
        return f"{self.function_name}({', '.join(printer._print(a) for a in self.args)})[{self.index}]"

    def _pretty(self, printer):
        from sympy.printing.pretty.stringpict import prettyForm, stringPict

        return prettyForm(*stringPict.next(pretty_call(printer, self.function_name, self.args), f"[{self.index}]"))

    def _symslow_html(self, printer) -> str:  # in diagrams (symslow.viz.style.HtmlFormulaPrinter)
        return f"your function {html.escape(self._sympystr(printer))}"


class value_gradient(Operation):
    """The gradient a registered function computes on the run's values, for input ``index`` of ``op``.

    Its inputs are ``op``'s inputs, ``op`` itself and the incoming gradient; it calls the function with their values
    at run time and checks that the gradient has the input's shape. It has no formula, and no gradient of its own.
    """

    def __init__(self, registration: RegisterGradient, op: Operation, grad: Node, index: int, reason: str):
        self.function = registration.function
        self.forward = op
        self.index = index
        self.reason = reason
        name = getattr(self.function, "__name__", "gradient").strip("_<>") or "gradient"
        super().__init__([*op.input_nodes, op, grad], name=name)

    has_formula = False  # the compiled program calls compute(): the function's code is not a formula

    def formula(self, *inputs):
        function = type(f"on_values_{self.index}", (OnValues,),
                        {"function_name": getattr(self.function, "__name__", "gradient"), "index": self.index})
        return function(*inputs)

    def infer_shape(self, *input_shapes):
        return input_shapes[self.index]

    def infer_dtype(self, *input_dtypes):
        return input_dtypes[self.index]

    def compute(self, *values):
        *inputs, output, grad = values
        grad = np.asarray(grad)
        grads = _one_per_input(self.function, self.forward, self.function(_OpOnValues(self.forward, inputs, output), grad))
        x = np.asarray(inputs[self.index])
        value = grads[self.index]
        if value is None:
            return np.zeros_like(x)
        result = np.asarray(value, dtype=self.dtype if self.dtype is not None else np.result_type(value, x))
        if result.shape != x.shape:
            raise ShapeError(f"{_title(self.function)}, the gradient of op {describe(self.forward)}, gives input "
                             f"{self.index} ({self.forward.input_nodes[self.index].name!r}, shape "
                             f"{format_shape(x.shape)}) a gradient of shape {format_shape(result.shape)}.")
        return result

    def gradient(self, grad, index):
        raise LookupGradientError(
            f"Node {describe(self)} is computed on values by {_title(self.function)} ({self.reason}): it has no "
            "formula, so symslow cannot differentiate it. Write the gradient function on nodes for second "
            "derivatives.")

