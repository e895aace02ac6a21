"""Session: where values live. It keeps the Variables' values and runs graphs.

``run(fetches, feed_dict)`` compiles, on first use of a combination of fetches and fed placeholders, the needed
subgraph (forward, backward and updates) into one generated function (see :mod:`symslow.compiler`); later runs
only call it. ``Session(backend="interpreter")`` evaluates node by node instead (see :mod:`symslow.interpreter`).

A run is all or nothing: new Variable values are committed only after the whole run succeeded.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

import numpy as np

from .errors import GraphMismatchError, InvalidArgumentError, SymslowError, describe
from .graph import Graph, Node, Placeholder, Variable, format_shape, get_default_graph, to_array
from .ops.state import group

BACKENDS = ("numpy", "jax", "cupy", "interpreter")


class Session:
    """Runs a graph and holds its Variables' values.

    Args:
        target, config: accepted for TensorFlow 1 compatibility and ignored.
        graph: the graph to run (the default graph if None).
        backend: ``"numpy"`` (compiled, the default) or ``"interpreter"`` (node by node, the oracle).

    Example:
        >>> import symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> x = tf.placeholder(tf.float64, shape=(None,), name="x")
        >>> w = tf.Variable(2.0, name="w")
        >>> y = w * x + 1
        >>> with tf.Session() as sess:
        ...     sess.run(tf.global_variables_initializer())
        ...     sess.run(y, feed_dict={x: [1, 2, 3]})
        array([3., 5., 7.])
    """

    def __init__(self, target: str = "", graph: Graph | None = None, config: Any = None, *, backend: str = "numpy"):
        if backend not in BACKENDS:
            raise ValueError(f"Unknown backend {backend!r}: choose one of {', '.join(BACKENDS)}.")
        self.graph = graph or get_default_graph()
        self.backend_name = backend
        self._backend = None if backend == "interpreter" else _load_backend(backend)
        self._values: dict[Variable, Any] = {}
        self._lock = threading.Lock()
        self._closed = False

    # context manager -------------------------------------------------------------------------------------------
    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Release the Variables' values; the session cannot run any more."""
        self._closed = True
        self._values = {}

    # running ---------------------------------------------------------------------------------------------------
    def run(self, fetches: Any, feed_dict: dict | None = None) -> Any:
        """Compute ``fetches`` (a node, or a list, tuple or dict of them) with the placeholders fed by ``feed_dict``.

        Returns values in the structure of ``fetches``: NumPy arrays, and ``None`` for a ``group`` or an optimizer's
        training op. Variables assigned by the run change only if the whole run succeeds.
        """
        if self._closed:
            raise RuntimeError("This session is closed.")
        nodes, rebuild = _flatten(fetches)
        for node in nodes:
            if node.graph is not self.graph:
                raise GraphMismatchError(
                    f"Fetch {node.name!r} belongs to another graph than this session's; "
                    "make the session with Session(graph=...) or build the node in the session's graph."
                )
        feeds = self._convert_feeds(feed_dict)
        if self._backend is None:
            values = self._run_interpreter(nodes, feeds)
        else:
            values = self._run_compiled(nodes, feeds)
        return rebuild(values)

    def _run_compiled(self, nodes: list[Node], feeds: dict[Placeholder, np.ndarray]) -> list:
        program = self._program(nodes, feeds)
        with self._lock:
            current = [self._current(v) for v in program.variables]
        feed_values = [feeds[p] for p in program.placeholders]
        try:
            outputs, new_values = program.function(feed_values, current, program.constants)
        except Exception as error:
            raise self._diagnose(nodes, feeds, program, current, error) from error
        self._check_updates(program.updates, new_values)
        fed = {id(v) for v in feed_values}
        with self._lock:
            for variable, value in zip(program.variables, current):
                self._values.setdefault(variable, value)  # first use: the initial value becomes the value
            for update, value in zip(program.updates, new_values):
                self._values[update.ref] = np.array(value) if id(value) in fed else value
        return [self._output(n, v) for n, v in zip(nodes, outputs)]

    def _run_interpreter(self, nodes: list[Node], feeds: dict[Placeholder, np.ndarray]) -> list:
        from .interpreter import evaluate
        from .gradients import topological_order

        with self._lock:
            current = {v: self._current(v) for v in topological_order(nodes) if isinstance(v, Variable)}
        values, updates = evaluate(nodes, feeds, current)
        self._check_updates([u for u in _assigns(nodes)], [updates[u.ref] for u in _assigns(nodes)])
        with self._lock:
            for variable, value in current.items():
                self._values.setdefault(variable, value)
            self._values.update(updates)
        return [self._output(n, values[n]) for n in nodes]

    def _output(self, node: Node, value: Any) -> Any:
        if isinstance(node, group):
            return None
        array = np.asarray(value)
        return array.copy() if isinstance(node, Variable) else array

    def _current(self, variable: Variable) -> Any:
        value = self._values.get(variable)
        return variable.initial_value if value is None else value

    def _program(self, nodes: list[Node], feeds: dict):
        from .compiler import compile_program

        key = (self.backend_name, tuple(nodes), frozenset(feeds))
        cache = self.graph.compile_cache
        program = cache.get(key)
        if program is None:
            with self.graph._lock:
                program = cache.get(key)
                if program is None:
                    program = compile_program(nodes, sorted(feeds, key=lambda p: p.id), self._backend)
                    cache[key] = program
        return program

    def _diagnose(self, nodes, feeds, program, current, error: Exception) -> Exception:
        """Find the node behind a failure of compiled code by running the interpreter on the same values."""
        from .interpreter import evaluate

        try:
            evaluate(nodes, feeds, dict(zip(program.variables, current)))
        except SymslowError as precise:
            return precise
        except Exception:
            pass
        return InvalidArgumentError(f"Session.run failed in compiled code: {type(error).__name__}: {error}")

    def _check_updates(self, updates, new_values) -> None:
        for update, value in zip(updates, new_values):
            if np.shape(value) != update.ref.shape:
                raise InvalidArgumentError(
                    f"Op {describe(update)} would give Variable {update.ref.name!r} of shape "
                    f"{format_shape(update.ref.shape)} a value of shape {format_shape(np.shape(value))}; "
                    "no Variable was changed."
                )

    def _convert_feeds(self, feed_dict: dict | None) -> dict[Placeholder, np.ndarray]:
        feeds = {}
        for key, value in (feed_dict or {}).items():
            if not isinstance(key, Placeholder):
                what = f"node {describe(key)}" if isinstance(key, Node) else repr(key)
                raise InvalidArgumentError(f"feed_dict keys must be placeholders; {what} is not one.")
            if key.graph is not self.graph:
                raise GraphMismatchError(f"Placeholder {key.name!r} in feed_dict belongs to another graph.")
            feeds[key] = convert_feed(key, value)
        return feeds

    # reading -----------------------------------------------------------------------------------------------------
    def source(self, fetches: Any, feed_dict: dict | None = None) -> str:
        """The Python source of the function that runs ``fetches`` with these feeds (compiled if needed).

        Example:
            >>> import symslow as ts
            >>> _ = ts.Graph().as_default()
            >>> x = ts.placeholder(name="x")
            >>> print(ts.Session().source(ts.sigmoid(2 * x), {x: 0.0}))  # doctest: +ELLIPSIS
            def compiled_step(feeds, variables, constants):
                ...
                v1 = 1/(1 + numpy.exp(-2*v0))
                return (v1,), ()
            <BLANKLINE>
        """
        if self._backend is None:
            raise ValueError("The interpreter backend generates no source; use Session(backend='numpy').")
        nodes, _ = _flatten(fetches)
        return self._program(nodes, self._convert_feeds(feed_dict)).source


def convert_feed(placeholder: Placeholder, value: Any) -> np.ndarray:
    """A fed value as an array of the placeholder's dtype and shape, or a clear error naming the placeholder."""
    what = f"The value fed to placeholder {placeholder.name!r}"
    array = to_array(value, what=what)
    dtype = np.dtype(placeholder.dtype or np.float64)
    if dtype.kind in "iu" and array.dtype.kind == "f":
        if not np.all(np.isfinite(array)) or not np.all(array == np.round(array)):
            raise InvalidArgumentError(f"{what} holds non-integer values but the placeholder is {dtype.name}.")
    if dtype.kind in "iu" or array.dtype != dtype:
        array = array.astype(dtype)
    shape = placeholder.shape
    if shape is not None and (
        array.ndim != len(shape) or any(d is not None and d != s for d, s in zip(shape, array.shape))
    ):
        raise InvalidArgumentError(
            f"{what} has shape {format_shape(array.shape)}, but the placeholder's shape is {format_shape(shape)}."
        )
    return array


def _flatten(fetches: Any) -> tuple[list[Node], Callable[[list], Any]]:
    """The nodes of a fetch structure, and a function rebuilding the structure from their values."""
    if isinstance(fetches, Node):
        return [fetches], lambda values: values[0]
    if isinstance(fetches, (list, tuple)):
        parts = [_flatten(f) for f in fetches]
        nodes = [n for p, _ in parts for n in p]
        kind = type(fetches)

        def rebuild(values):
            out, start = [], 0
            for (p, build) in parts:
                out.append(build(values[start : start + len(p)]))
                start += len(p)
            return out if kind is list else tuple(out) if kind is tuple else kind(*out)

        return nodes, rebuild
    if isinstance(fetches, dict):
        keys = list(fetches)
        inner, build = _flatten([fetches[k] for k in keys])
        return inner, lambda values: dict(zip(keys, build(values)))
    raise TypeError(f"A fetch must be a node, or a list, tuple or dict of nodes, not {fetches!r}.")


def _assigns(nodes):
    from .gradients import topological_order
    from .ops.state import assign

    return [n for n in topological_order(nodes) if isinstance(n, assign)]


def _load_backend(name: str):
    from .backends import get_backend

    return get_backend(name)
