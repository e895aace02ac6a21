"""Session: where values live. It keeps the Variables' values and runs graphs.

``run(fetches, feed_dict)`` compiles, on first use of a combination of fetches and fed placeholders, the needed
subgraph (forward, backward and updates) into one generated function (see :mod:`symslow.compiler`); later runs
only call it. ``Session(backend="interpreter")`` evaluates node by node instead (see :mod:`symslow.interpreter`).

A run is all or nothing: new Variable values are committed only after the whole run succeeded. Runs from several
threads share the session as TensorFlow's do: runs that assign Variables take turns, each reading the values the
one before committed (no update is lost), while runs that only read go on together, each seeing the values of one
moment.

As in TensorFlow 1, a session entered with ``with`` (or made default with ``as_default()``, or an
``InteractiveSession``) is the default session of its thread: ``node.eval()`` and ``op.run()`` use it.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

import numpy as np

from .backends import COMPILED, INTERPRETER, unknown_backend_error
from .errors import GraphMismatchError, InvalidArgumentError, describe
from .compiled_runs import CompiledRuns
from .default_session import AsDefault, default_sessions, leave
from .graph import Graph, Node, format_shape, get_default_graph, topological_order
from .feeds import _NUMPY_TYPES, _bare_feed_dtype, _typed, _unshared, convert_feed
from .fetches import _call_key, _flatten
from .leaves import Placeholder, Variable
from .ops.random import RandomStreams
from .ops.state import group

# Programs are compiled per combination of fetches and fed shapes; a graph keeps at most this many (the oldest go).
MAX_PROGRAMS_PER_GRAPH = 256


class Session(CompiledRuns):
    """Runs a graph and holds its Variables' values.

    Args:
        target, config: accepted for TensorFlow 1 compatibility and ignored.
        graph: the graph to run (the default graph if None).
        backend: ``"numpy"`` (compiled, the default), ``"jax"`` (the whole step jit-compiled by JAX, on whatever
            device JAX has), ``"cupy"`` (compiled, Variables kept on the GPU) or ``"interpreter"`` (node by node, the
            oracle).
        dtype: ``None`` (the default): every node computes in its own dtype, as TensorFlow does (a float32 graph in
            float32); ``float64`` or ``float32``: the compiled backends cast floating feeds, Variables and constants
            to it.
        to_numpy: return fetched values as NumPy arrays (the default), or, with False, as the backend's own arrays
            (JAX or CuPy arrays left on their device).
        check_numerics: check every run for NaN and infinities, naming the first node that made one (see
            ``symslow.numerics``); a single run can also ask with ``run(..., check_numerics=True)``.
        devices: with ``backend="jax"``, train data-parallel over these JAX devices (a list, or a number n for the
            first n of ``jax.devices()``): fed batches split over them, Variables replicated (see
            ``symslow.distribute``); ``session.devices`` lists them.

    Example:
        >>> import symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> x = tf.placeholder(tf.float32, shape=(None,), name="x")
        >>> w = tf.Variable(2.0, name="w")  # a Python float is float32, as in TensorFlow
        >>> y = w * x + 1
        >>> with tf.Session() as sess:
        ...     sess.run(tf.global_variables_initializer())
        ...     sess.run(y, feed_dict={x: [1, 2, 3]})
        array([3., 5., 7.], dtype=float32)
    """

    def __init__(self, target: str = "", graph: Graph | None = None, config: Any = None, *, backend: str = "numpy",
                 dtype: Any = None, check_numerics: bool = False, to_numpy: bool = True, devices: Any = None):
        if backend != INTERPRETER and backend not in COMPILED:
            raise unknown_backend_error(backend)
        if devices is not None and backend != "jax":
            raise ValueError(f"devices= takes JAX's devices: use Session(backend='jax', devices=...), not {backend!r}.")
        self.dtype = None if dtype is None else np.dtype(getattr(dtype, "as_numpy_dtype", dtype))
        if self.dtype not in (None, np.dtype(np.float32), np.dtype(np.float64)):
            raise ValueError(f"Session dtype must be None, float32 or float64, not {self.dtype.name}.")
        self.graph = graph or get_default_graph()
        self.backend_name = backend
        self._parallel = None if devices is None else _data_parallel(devices)
        self._backend = None if backend == INTERPRETER else _load_backend(backend, self._parallel)
        # the devices a data-parallel session spreads over (see symslow.distribute); None for one device
        self.devices = None if self._parallel is None else list(self._parallel.devices)
        self._plain = backend == "numpy" and self.dtype is None  # nothing to cast or move
        # JAX's arrays in their own dtypes: the new values need neither a copy nor a cast
        self._immutable = self._backend is not None and self._backend.immutable and self.dtype is None
        self.to_numpy = bool(to_numpy)
        self._values: dict[Variable, Any] = {}
        self._programs: dict = {}  # this session's recent programs, by fetches and fed shapes in the order given
        self._calls: dict = {}  # the same, by the fetch structure and the fed values' types, shapes and dtypes
        self._lock = threading.Lock()  # held briefly: reading a snapshot of the values, committing new ones
        # held by a run that assigns Variables from reading them to committing the new values, so that two such runs
        # never compute from the same values and lose one's update (reentrant: a run may initialise a Variable)
        self._update_lock = threading.RLock()
        self._closed = False
        self.check_numerics = bool(check_numerics)  # see symslow.numerics
        self.random = RandomStreams()  # the generators of the graph's random ops, fresh in every session

    # context manager and default session -------------------------------------------------------------------------
    def __enter__(self) -> "Session":
        default_sessions.stack.append(self)
        return self

    def __exit__(self, *exc) -> None:
        leave(self)
        self.close()

    def as_default(self):
        """A context manager making this the default session inside it (without closing it at the end).

        Example:
            >>> import symslow as tf
            >>> _ = tf.Graph().as_default()
            >>> c = tf.constant(2.0) * 3
            >>> sess = tf.Session()
            >>> with sess.as_default():
            ...     print(c.eval(), tf.get_default_session() is sess)
            6.0 True
        """
        return AsDefault(self)

    def close(self) -> None:
        """Release the Variables' values; the session cannot run any more."""
        self._closed = True
        self._values = {}

    # running ---------------------------------------------------------------------------------------------------
    def run(self, fetches: Any, feed_dict: dict | None = None, *, check_numerics: bool | None = None) -> Any:
        """Compute ``fetches`` (a node, or a list, tuple or dict of them) with the placeholders fed by ``feed_dict``.

        Returns values in the structure of ``fetches``: NumPy arrays, and ``None`` for a ``group`` or an optimizer's
        training op. Variables assigned by the run change only if the whole run succeeds. ``check_numerics`` (default:
        the session's) first finds the first node giving a NaN or infinity, and fails naming it and its inputs.
        """
        if self._closed:
            raise RuntimeError("This session is closed.")
        numerics = self.check_numerics if check_numerics is None else check_numerics
        key, fed = _call_key(fetches, feed_dict) if self._backend is not None else (None, [])
        if key is not None and not numerics:  # a combination run before: only the call is left to do
            call = self._calls.get(key)
            if call is not None:
                return call.run(fed)
        nodes, rebuild = _flatten(fetches)
        for node in nodes:
            if node.graph is not self.graph:
                raise GraphMismatchError(
                    f"Fetch {node.name!r} belongs to another graph than this session's; "
                    "make the session with Session(graph=...) or build the node in the session's graph."
                )
        feeds = self._convert_feeds(feed_dict)
        if not numerics:
            return rebuild(self._execute(key, fed, nodes, rebuild, feeds, feed_dict, False))
        with self._update_lock:  # the check and the run read the same values: no other run commits in between
            self._check_numerics(nodes, feeds)
            return rebuild(self._execute(key, fed, nodes, rebuild, feeds, feed_dict, True))

    def _execute(self, key: tuple | None, fed: list, nodes: list[Node], rebuild: Callable, feeds: dict,
                 feed_dict: dict | None, numerics: bool) -> list:
        if self._backend is None:
            return self._run_interpreter(nodes, feeds, numerics)
        call = self._call(key, fed, nodes, rebuild, feeds, feed_dict)
        feed_values = [feeds[p] for p in call.program.placeholders]
        if self._parallel is not None:  # batches split over the devices, the rest replicated
            if call.program.user_ops and feed_values:
                raise self._parallel.refusal(nodes)
            place, cast = self._parallel.feed, self._cast
            feed_values = [place(p, cast(v)) for p, v in zip(call.program.placeholders, feed_values)]
        elif not self._plain:
            feed_values = [self._backend.to_device(self._cast(v)) for v in feed_values]
        return self._run_compiled(call, feed_values, feeds, numerics)

    def _check_numerics(self, nodes: list[Node], feeds: dict) -> None:
        """The node-by-node check of ``symslow.numerics``, in the dtypes the run computes in."""
        from .numerics import check_numerics as check

        variables = [v for v in topological_order(nodes) if isinstance(v, Variable)]
        self._initialize(variables)
        with self._lock:
            current = {v: self._current(v) for v in variables}
        check(nodes, feeds, current, dtype=self.dtype if self._backend is not None else None)

    def _cast(self, value: Any) -> Any:
        """A floating-point array in the session's dtype (integers stay integers), if the session has one."""
        dtype = getattr(value, "dtype", None)
        if self.dtype is not None and dtype is not None and dtype.kind == "f" and dtype != self.dtype:
            return value.astype(self.dtype)
        return value

    def _device_value(self, variable: Variable) -> Any:
        """The Variable's value where the backend computes: its initial value, cast and moved, on first use."""
        value = self._values.get(variable)
        if value is None:
            value = self._backend.to_device(self._cast(np.asarray(variable.initial_value)))
        return value

    def _run_interpreter(self, nodes: list[Node], feeds: dict[Placeholder, np.ndarray], numerics: bool = False) -> list:
        assigns = _assigns(nodes)
        if assigns:  # read, compute and commit while no other assigning run does
            with self._update_lock:
                return self._interpret(nodes, feeds, assigns, numerics)
        return self._interpret(nodes, feeds, assigns, numerics)

    def _interpret(self, nodes: list[Node], feeds: dict[Placeholder, np.ndarray], assigns: list, numerics: bool) -> list:
        from .interpreter import evaluate

        variables = [v for v in topological_order(nodes) if isinstance(v, Variable)]
        self._initialize(variables)
        with self._lock:
            current = {v: self._current(v) for v in variables}
        with self.random.active():
            values, updates = evaluate(nodes, feeds, current)
        self._check_updates(assigns, [updates[u.ref] for u in assigns])
        if numerics:
            from .numerics import check_new_values

            check_new_values(assigns, [updates[u.ref] for u in assigns])
        with self._lock:
            for variable, value in current.items():
                self._values.setdefault(variable, value)
            self._values.update(updates)
        held = {id(v) for v in current.values()} | {id(v) for v in updates.values()}
        return [self._output(n, _unshared(values[n], held)) for n in nodes]

    def _output(self, node: Node, value: Any) -> Any:
        if self._plain and value is not None and value.__class__ in _NUMPY_TYPES and value.dtype == node.dtype:
            if value.ndim == 0:  # a 0-d result is a NumPy scalar, as TensorFlow gives it
                return value[()] if value.dtype.kind != "S" else value.item()
            return value.copy() if isinstance(node, Variable) else value  # NumPy's array, as computed
        if isinstance(node, group):
            return None
        dtype = node.dtype
        if self.dtype is not None and dtype is not None and np.dtype(dtype).kind == "f":
            dtype = self.dtype  # floats computed in the session's dtype
        value = _typed(value, dtype)
        if self._backend is not None:
            if not self.to_numpy and self._backend.is_native(value):
                return value.copy() if isinstance(node, Variable) else value  # the backend's array, on its device
            value = self._backend.to_host(value)
        array = np.asarray(value)
        if array.ndim == 0:  # a 0-d result is a NumPy scalar (a string bytes), as TensorFlow gives it
            return array.item() if array.dtype.kind == "S" else array[()]
        return array.copy() if isinstance(node, Variable) or not array.flags.writeable else array

    def _initialize(self, variables: list[Variable]) -> None:
        """Give Variables not used yet their initial values; one made from a node (a random op) runs it here."""
        for variable in variables:
            if variable in self._values:
                continue
            if variable.initial_node is None:
                value = np.asarray(variable.initial_value)
            else:
                value = np.array(self.run(variable.initial_node), dtype=variable.dtype)
            if self._backend is not None:
                value = self._backend.to_device(self._cast(value))
            with self._lock:
                self._values.setdefault(variable, value)

    def _current(self, variable: Variable) -> Any:
        value = self._values.get(variable)
        if value is None:  # a Variable with an array for initial value (_initialize runs the others first)
            return variable.initial_value
        return value if self._backend is None else np.asarray(self._backend.to_host(value))

    def variable_values(self, variables: list[Variable]) -> dict[Variable, np.ndarray]:
        """The current values of ``variables`` as NumPy arrays (the initial value of one not used yet)."""
        self._initialize([v for v in variables if v.initial_node is not None])
        with self._lock:
            return {v: np.array(self._current(v)) for v in variables}

    def load_variable_values(self, values: dict[Variable, np.ndarray]) -> None:
        """Set several Variables at once (the caller has checked their shapes and dtypes)."""
        with self._update_lock, self._lock:  # between two assigning runs, none of whose updates it undoes
            for variable, value in values.items():
                value = np.array(value)
                self._values[variable] = value if self._backend is None else self._backend.to_device(self._cast(value))

    def _program(self, nodes: list[Node], feeds: dict):
        from .compiler import compile_program, specialized_shapes

        # the program is specialised to the fed shapes (see symslow.compiler): a new shape compiles anew, up to a
        # few shapes per placeholder; a data-parallel step's are the shapes of its whole batch (every process's rows)
        fed_shapes = {p: v.shape for p, v in feeds.items()}
        if self._parallel is not None:
            fed_shapes = self._parallel.global_shapes(feeds)
        recent = (tuple(nodes), tuple(fed_shapes.items()))
        program = self._programs.get(recent)
        if program is not None:
            return program
        shapes = specialized_shapes(self.graph, nodes, fed_shapes)
        devices = None if self._parallel is None else self._parallel.key
        key = (self.backend_name, self.dtype, tuple(nodes), frozenset(shapes.items()), frozenset(feeds), devices)
        cache = self.graph.compile_cache
        program = cache.get(key)
        if program is None:
            with self.graph._lock:
                program = cache.get(key)
                if program is None:
                    program = compile_program(nodes, sorted(feeds, key=lambda p: p.id), self._backend, shapes)
                    program.device_constants = [
                        self._backend.to_device(self._cast(np.asarray(c))) for c in program.constants
                    ]
                    if len(cache) >= MAX_PROGRAMS_PER_GRAPH:  # every fed shape compiles anew: keep the newest
                        del cache[next(iter(cache))]
                    cache[key] = program
        if len(self._programs) > 64:
            self._programs.clear()
        self._programs[recent] = program
        return program

    def _convert_feeds(self, feed_dict: dict | None) -> dict[Placeholder, np.ndarray]:
        feeds = {}
        for key, value in (feed_dict or {}).items():
            if not isinstance(key, Placeholder):
                what = f"node {describe(key)}" if isinstance(key, Node) else repr(key)
                raise InvalidArgumentError(f"feed_dict keys must be placeholders; {what} is not one.")
            if key.graph is not self.graph:
                raise GraphMismatchError(f"Placeholder {key.name!r} in feed_dict belongs to another graph.")
            native = not self._plain and self._backend is not None and self._backend.is_native(value)
            feeds[key] = convert_feed(key, value) if not native else self._native_feed(key, value)
        return feeds

    def _native_feed(self, placeholder: Placeholder, value: Any) -> Any:
        """A value already on the backend's device (a JAX or CuPy array), checked as ``convert_feed`` checks."""
        dtype = np.dtype(placeholder.dtype or _bare_feed_dtype(value))
        if dtype.kind in "iu" and value.dtype.kind == "f":
            return convert_feed(placeholder, self._backend.to_host(value))  # the host path checks the values
        if value.dtype != dtype:
            value = value.astype(dtype)
        shape = placeholder.shape
        if shape is not None and (
            value.ndim != len(shape) or any(d is not None and d != s for d, s in zip(shape, value.shape))
        ):
            raise InvalidArgumentError(
                f"The value fed to placeholder {placeholder.name!r} has shape {format_shape(value.shape)}, but the "
                f"placeholder's shape is {format_shape(shape)}."
            )
        return value

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
                v1 = 1/(1 + numpy.exp(-(2*v0)))
                return (v1,), ()
            <BLANKLINE>
        """
        if self._backend is None:
            raise ValueError("The interpreter backend generates no source; use Session(backend='numpy').")
        nodes, _ = _flatten(fetches)
        return self._program(nodes, self._convert_feeds(feed_dict)).source


class InteractiveSession(Session):
    """A session that makes itself the default on creation, for shells and notebooks (``x.eval()`` works at once).

    Example:
        >>> import symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> sess = tf.InteractiveSession()
        >>> a = tf.constant([1.0, 2.0])
        >>> (a * 2).eval()
        array([2., 4.], dtype=float32)
        >>> sess.close()
    """

    def __init__(self, target: str = "", graph: Graph | None = None, config: Any = None, **options: Any):
        super().__init__(target, graph, config, **options)
        default_sessions.stack.append(self)

    def close(self) -> None:
        leave(self)
        super().close()


def _assigns(nodes):
    from .ops.state import assign

    return [n for n in topological_order(nodes) if isinstance(n, assign)]


def _load_backend(name: str, parallel: Any = None):
    from .backends import get_backend

    return get_backend(name) if parallel is None else parallel.backend


def _data_parallel(devices: Any):
    from .distribute import DataParallel

    return DataParallel(devices)
