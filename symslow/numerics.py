"""``check_numerics``: find the first node of a run that produced a NaN or an infinity.

``Session(check_numerics=True)`` (every run) or ``session.run(..., check_numerics=True)`` (one run) walks the nodes
the fetches need in evaluation order, node by node as the interpreter does, and stops at the first value holding a
NaN or an infinity. The error names that node, its op, where the bad element is, and the inputs it got, so a reader
sees at once that ``log`` was given a 0. The run then fails before any Variable changes.

The walk evaluates every node, not only the fetched ones: a NaN that a later op hides (``maximum(nan_or_inf, 0)``,
``1 / (1 + exp(1000))``) is still found. It costs a second, node-by-node run, so it is a debugging option.

It computes in the dtypes the run computes in: each node's own, or, in a ``Session(dtype=tf.float32)``, float32 for
every floating value, so a step that overflows only in float32 is caught. The session then checks the compiled
run's new Variable values too before it commits them: a checked run never writes a NaN or an infinity.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from .errors import InvalidArgumentError, describe
from .feeds import _same
from .graph import Node, format_shape, topological_order
from .leaves import Constant, Placeholder, Variable


def check_numerics(fetches: Sequence[Node], feeds: Mapping[Node, Any], variables: Mapping[Node, Any],
                   dtype: Any = None) -> None:
    """Evaluate ``fetches`` node by node; raise at the first node whose value holds a NaN or an infinity.

    Args:
        fetches: the nodes a run computes.
        feeds: the placeholders' values.
        variables: the Variables' values at the start of the run.
        dtype: the floating dtype every floating value is computed in (a session's ``dtype``), or None for each
            node's own.

    Raises:
        InvalidArgumentError: naming the first non-finite node, the position of its first bad element, and its
            inputs (name, shape and values).

    Example:
        >>> import symslow as ts
        >>> _ = ts.Graph().as_default()
        >>> x = ts.placeholder(name="x")
        >>> y = ts.exp(ts.log(x) * 2, name="y")
        >>> check_numerics([y], {x: ts.leaves.to_array([1.0, 0.0])}, {})  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        symslow.errors.InvalidArgumentError: check_numerics: op 'log' (log) produced -inf at index (1,) ...
    """

    from .ops.state import check_one_assignment_each

    order = topological_order(fetches)
    check_one_assignment_each(order)
    cast = _same if dtype is None else _caster(np.dtype(dtype))
    with np.errstate(all="ignore"):  # the NaN is what we are looking for: no RuntimeWarning on the way
        _walk(order, feeds, variables, cast)


def _caster(dtype: np.dtype):
    """A function giving a floating value in ``dtype`` (others as they are), as a session of that dtype computes."""
    def cast(value: Any) -> Any:
        value_dtype = getattr(value, "dtype", None)
        if value_dtype is not None and value_dtype.kind == "f" and value_dtype != dtype:
            return np.asarray(value).astype(dtype)
        return value

    return cast


def _walk(order: Sequence[Node], feeds: Mapping[Node, Any], variables: Mapping[Node, Any], cast) -> None:
    from .interpreter import compute, evaluate

    values: dict[int, Any] = {}
    for node in order:
        if isinstance(node, Placeholder):
            if node not in feeds:
                evaluate([node], feeds, variables)  # raises the usual "you must feed" error
            value, source = cast(feeds[node]), "was fed"
        elif isinstance(node, Variable):
            value, source = cast(variables[node]), "holds"
        elif isinstance(node, Constant):
            value, source = cast(node.value), "holds"
        else:
            inputs = [values[id(i)] for i in node.input_nodes]
            value, source = cast(compute(node, inputs)), "produced"
        values[id(node)] = value
        bad = _first_nonfinite(value)
        if bad is None:
            continue
        index, element = bad
        where = "" if index == () else f" at index {index}"
        message = f"check_numerics: {_kind(node)} {describe(node)} {source} {element}{where}"
        if source == "produced":
            listed = "; ".join(_describe_input(i, values[id(i)], index, np.shape(value)) for i in node.input_nodes)
            message += f" from its inputs: {listed}"
        raise InvalidArgumentError(message + ". No Variable was changed.")


def check_new_values(updates: Sequence[Node], values: Sequence[Any]) -> None:
    """Raise if a run's new Variable values (``values[k]`` computed by ``updates[k]``, an ``assign``) hold a NaN or
    an infinity, before they are committed.

    Example:
        >>> import numpy as np, symslow as ts
        >>> _ = ts.Graph().as_default()
        >>> w = ts.Variable(np.float32(1.0), name="w")
        >>> check_new_values([ts.assign(w, w * 2)], [np.float32("inf")])  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        symslow.errors.InvalidArgumentError: check_numerics: op 'Assign' (Assign) would give Variable 'w' inf. ...
    """
    for update, value in zip(updates, values):
        bad = _first_nonfinite(value)
        if bad is not None:
            index, element = bad
            where = "" if index == () else f" at index {index}"
            raise InvalidArgumentError(f"check_numerics: op {describe(update)} would give Variable "
                                       f"{update.ref.name!r} {element}{where}. No Variable was changed.")


def _kind(node: Node) -> str:
    if isinstance(node, Placeholder):
        return "placeholder"
    if isinstance(node, Variable):
        return "Variable"
    if isinstance(node, Constant):
        return "constant"
    return "op"


def _first_nonfinite(value: Any) -> tuple[tuple, str] | None:
    """The index and the value (nan, inf, -inf) of the first non-finite element, or None."""
    if value is None:
        return None
    array = np.asarray(value)
    if array.dtype.kind not in "fc":
        return None
    bad = ~np.isfinite(array)
    if not bad.any():
        return None
    flat = int(np.argmax(bad.reshape(-1)))
    index = tuple(int(i) for i in np.unravel_index(flat, array.shape))
    return index, str(array[index] if index else array[()])


def _describe_input(node: Node, value: Any, index: tuple, out_shape: tuple) -> str:
    """``'x' (Placeholder) shape (2,) = [1. 0.]``, with the element that met the bad output's index when it did."""
    array = np.asarray(value) if value is not None else None
    if array is None:
        return f"{describe(node)} = None"
    text = np.array2string(array, threshold=12, edgeitems=2, max_line_width=100).replace("\n", "")
    text = f"{describe(node)} shape {format_shape(array.shape)} = {text}"
    element = _element_at(array, index, out_shape)
    if element is not None and array.size > 1:
        text += f" (element {element} there)"
    return text


def _element_at(array: np.ndarray, index: tuple, out_shape: tuple) -> Any:
    """The element of an elementwise input that broadcasting paired with ``index`` of the output, if it did."""
    try:
        return np.broadcast_to(array, out_shape)[index]
    except ValueError:  # a structural op (matmul, reduction): no element-to-element pairing
        return None
