"""Variable scopes and ``get_variable``: TensorFlow 1's way of naming, making and sharing Variables.

``tf.get_variable("W", shape)`` makes a Variable named after the variable scopes around it (``layer1/W``), or,
where the scope reuses Variables, returns the one made before under that name. So a function that builds a layer
can be called twice to share its weights:

* ``reuse=True`` (on the scope, or by ``scope.reuse_variables()``) returns existing Variables and refuses to make
  new ones; ``reuse=tf.AUTO_REUSE`` makes a Variable the first time and returns it afterwards; otherwise asking
  again for an existing name is an error, so weights are not shared by accident. Reuse is inherited by the scopes
  inside.
* A variable scope also opens a name scope of its name for the ops made inside, but Variables made by
  ``get_variable`` are named by the variable scopes alone (``tf.name_scope`` does not change them).
* ``variable_scope(None, default_name="dense")`` picks ``dense``, then ``dense_1``, ...: the names ``tf.layers``
  gives unnamed layers. These counts start again inside a scope each time it is entered, so a reusing scope sees
  the same names as the scope that made the Variables.

The Variables made here are the graph's ordinary Variables (initialised, trained and saved as any other); the
graph keeps, beside them, which names ``get_variable`` made. Each thread has its own current scope, as in
TensorFlow.
"""

from __future__ import annotations

import contextlib
import enum
import threading
import weakref
from typing import Any, Iterator

from .dtypes import as_dtype, float32, literal_array
from .errors import InvalidArgumentError
from .graph import Graph, Node, as_shape, get_default_graph
from .leaves import Variable
from .shared_variables import _check_shared, _new_variable

__all__ = ["AUTO_REUSE", "VariableScope", "variable_scope", "get_variable", "get_variable_scope"]


class _ReuseMode(enum.Enum):
    """How a scope treats ``get_variable`` of an existing name, besides ``True`` and ``False``."""

    AUTO_REUSE = 1


AUTO_REUSE = _ReuseMode.AUTO_REUSE
"""``reuse=tf.AUTO_REUSE``: ``get_variable`` makes a Variable if its name is new and returns it otherwise."""


class VariableScope:
    """A variable scope: the prefix of the Variables' names and the defaults ``get_variable`` uses inside it.

    ``with tf.variable_scope(...) as scope`` gives it; ``tf.get_variable_scope()`` gives the current one.

    Attributes:
        name: the scope's full name (``""`` at the root), the prefix of the names of its Variables.
        original_name_scope: the name scope opened with it (``"layer1/"``).
        reuse: ``False``, ``True`` or ``AUTO_REUSE``.
        initializer: the initializer of the Variables made inside when ``get_variable`` is given none.
        dtype: the dtype of those Variables when ``get_variable`` is given none.
    """

    def __init__(self, reuse: Any, name: str = "", initializer: Any = None, dtype: Any = float32,
                 name_scope: str = ""):
        self._reuse = reuse if reuse in (True, AUTO_REUSE) else False
        self._name = name
        self._initializer = initializer
        self._dtype = as_dtype(dtype)
        self._name_scope = name_scope

    name = property(lambda self: self._name)
    original_name_scope = property(lambda self: self._name_scope)
    reuse = property(lambda self: self._reuse)
    initializer = property(lambda self: self._initializer)
    dtype = property(lambda self: self._dtype)

    def reuse_variables(self) -> None:
        """From now on, ``get_variable`` in this scope (and in scopes opened inside it) returns existing Variables."""
        self._reuse = True

    def set_initializer(self, initializer: Any) -> None:
        """Set the default initializer of this scope."""
        self._initializer = initializer

    def set_dtype(self, dtype: Any) -> None:
        """Set the default dtype of this scope."""
        self._dtype = as_dtype(dtype)

    def global_variables(self, graph: Graph | None = None) -> list[Variable]:
        """The Variables of the graph whose names are inside this scope."""
        prefix = self._name + "/" if self._name else ""
        return [v for v in (graph or get_default_graph()).variables if v.name.startswith(prefix)]

    def trainable_variables(self, graph: Graph | None = None) -> list[Variable]:
        """The trainable Variables of the graph whose names are inside this scope."""
        return [v for v in self.global_variables(graph) if v.trainable]

    def get_variable(self, name: str, shape: Any = None, dtype: Any = None, initializer: Any = None,
                     reuse: Any = None, trainable: bool | None = None, validate_shape: bool = True) -> Variable:
        """``tf.get_variable`` in this scope (see :func:`get_variable`)."""
        if not isinstance(name, str) or not name:
            raise InvalidArgumentError(f"get_variable: a Variable's name is a non-empty string, not {name!r}.")
        full_name = f"{self._name}/{name}" if self._name else name
        reuse = self._reuse if reuse is None else reuse
        if initializer is not None and not callable(initializer) and dtype is not None:
            value_dtype = initializer.dtype if isinstance(initializer, Node) else literal_array(initializer).dtype
            if value_dtype is not None and as_dtype(value_dtype) != as_dtype(dtype):
                raise InvalidArgumentError(
                    f"get_variable {full_name!r}: the initializer's dtype {as_dtype(value_dtype).name} and the dtype "
                    f"{as_dtype(dtype).name} asked for do not match."
                )
        if initializer is None:
            initializer = self._initializer
        from_value = initializer is not None and not callable(initializer)  # a node or a value, not an initializer
        dtype = as_dtype(self._dtype if dtype is None else dtype)
        dims = as_shape(shape)
        store = _store(get_default_graph())
        with store.lock:
            existing = store.variables.get(full_name)
            if existing is not None:
                if not reuse:
                    raise InvalidArgumentError(
                        f"Variable {full_name} already exists, disallowed. Did you mean to set reuse=True or "
                        "reuse=tf.AUTO_REUSE in VarScope?"
                    )
                _check_shared(existing, full_name, dims, dtype)
                return existing
            if reuse is True:
                raise InvalidArgumentError(
                    f"Variable {full_name} does not exist, or was not created with tf.get_variable(). Did you mean "
                    "to set reuse=tf.AUTO_REUSE in VarScope?"
                )
            variable = _new_variable(store.graph, self._name, name, full_name, dims, dtype, initializer,
                                     from_value, True if trainable is None else trainable, validate_shape)
            store.variables[full_name] = variable
            return variable

    def __repr__(self) -> str:
        return f"<symslow.VariableScope {self._name!r} reuse={self._reuse!r}>"


class _Store:
    """What a graph keeps for variable scopes: the Variables ``get_variable`` made, by name (shared by every
    thread), and each thread's current scope and counts of scope names (for ``default_name``)."""

    def __init__(self, graph: Graph):
        self.graph = graph
        self.variables: dict[str, Variable] = {}
        self.lock = threading.RLock()
        self.local = threading.local()

    @property
    def current(self) -> VariableScope:
        if not hasattr(self.local, "current"):
            self.local.current = VariableScope(False)
        return self.local.current

    @current.setter
    def current(self, scope: VariableScope) -> None:
        self.local.current = scope

    @property
    def counts(self) -> dict[str, int]:
        if not hasattr(self.local, "counts"):
            self.local.counts = {}
        return self.local.counts

    @counts.setter
    def counts(self, counts: dict[str, int]) -> None:
        self.local.counts = counts


_stores: "weakref.WeakKeyDictionary[Graph, _Store]" = weakref.WeakKeyDictionary()
_stores_lock = threading.Lock()


def _store(graph: Graph) -> _Store:
    with _stores_lock:
        store = _stores.get(graph)
        if store is None:
            store = _stores[graph] = _Store(graph)
        return store


def get_variable_scope() -> VariableScope:
    """The current variable scope of this thread in the default graph (the root scope, named ``""``, outside any).

    Example:
        >>> import symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> with tf.variable_scope("encoder"):
        ...     with tf.variable_scope("layer1"):
        ...         print(tf.get_variable_scope().name)
        encoder/layer1
    """
    return _store(get_default_graph()).current


_UNSUPPORTED = ("regularizer", "caching_device", "partitioner", "custom_getter", "constraint", "collections")


def _refuse(function: str, **arguments: Any) -> None:
    for key, value in arguments.items():
        if value is not None:
            raise NotImplementedError(f"{function}: {key}= is not supported by symslow (given {value!r}).")


@contextlib.contextmanager
def variable_scope(name_or_scope: str | VariableScope | None, default_name: str | None = None, values: Any = None,
                   initializer: Any = None, regularizer: Any = None, caching_device: Any = None,
                   partitioner: Any = None, custom_getter: Any = None, reuse: Any = None, dtype: Any = None,
                   use_resource: Any = None, constraint: Any = None,
                   auxiliary_name_scope: bool = True) -> Iterator[VariableScope]:
    """Open a variable scope: ``get_variable`` inside names its Variables ``name_or_scope/...`` and follows its
    ``reuse``; ops made inside are in a name scope of the same name.

    Args:
        name_or_scope: the scope's name, nested in the current scope; or a :class:`VariableScope` to enter again
            (its name as it is, not nested).
        default_name: with ``name_or_scope`` None, this name made unique in the current scope (``dense``,
            ``dense_1``, ...).
        values: the nodes the scope's ops take (accepted, as in TensorFlow; unused).
        initializer: the default initializer inside (inherited from the enclosing scope when None).
        reuse: ``True`` to return existing Variables only, ``tf.AUTO_REUSE`` to make them or return them; None
            (or False) inherits the enclosing scope's.
        dtype: the default dtype of the Variables inside.
        use_resource: accepted and ignored (symslow has one kind of Variable).
        auxiliary_name_scope: False opens no name scope.

    ``regularizer``, ``caching_device``, ``partitioner``, ``custom_getter`` and ``constraint`` are not supported.

    Example:
        >>> import symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> def layer(x):
        ...     W = tf.get_variable("W", [2, 2], initializer=tf.ones_initializer())
        ...     return tf.matmul(x, W)
        >>> x = tf.constant([[1.0, 2.0]])
        >>> with tf.variable_scope("shared"):
        ...     y1 = layer(x)
        >>> with tf.variable_scope("shared", reuse=True):
        ...     y2 = layer(y1)
        >>> [v.name for v in tf.global_variables()], y1.name
        (['shared/W'], 'shared/matmul')
        >>> tf.Session().run(y2)
        array([[6., 6.]], dtype=float32)
    """
    _refuse("variable_scope", regularizer=regularizer, caching_device=caching_device, partitioner=partitioner,
            custom_getter=custom_getter, constraint=constraint)
    reuse = _checked_arguments(name_or_scope, default_name, reuse, auxiliary_name_scope)
    graph = get_default_graph()
    store = _store(graph)
    parent = store.current
    if isinstance(name_or_scope, VariableScope):
        full_name = name_or_scope.name
        short_name = full_name.split("/")[-1]
        reuse = reuse or name_or_scope.reuse
        initializer = name_or_scope.initializer if initializer is None else initializer
        dtype = name_or_scope.dtype if dtype is None else dtype
    else:
        if name_or_scope is None:
            if reuse:
                raise InvalidArgumentError("variable_scope: reuse=True cannot be used without a name_or_scope.")
            name_or_scope = _unique_name(store, parent, default_name)
        full_name = f"{parent.name}/{name_or_scope}" if parent.name else name_or_scope
        short_name = name_or_scope
        reuse = reuse or parent.reuse  # reuse is inherited by the scopes inside
        initializer = parent.initializer if initializer is None else initializer
        dtype = parent.dtype if dtype is None else dtype
    store.counts[full_name] = store.counts.get(full_name, 0) + 1
    saved_counts = dict(store.counts)
    opened = graph.name_scope(short_name) if auxiliary_name_scope and short_name else contextlib.nullcontext()
    with opened as name_scope:
        if name_scope is None:
            current = "/".join(graph._scope_stack())
            name_scope = current + "/" if current else ""
        if isinstance(name_or_scope, VariableScope):
            name_scope = name_or_scope.original_name_scope
        scope = VariableScope(reuse, full_name, initializer, dtype, name_scope)
        store.current = scope
        try:
            yield scope
        finally:
            _leave(store, parent, saved_counts if isinstance(name_or_scope, VariableScope) else None, full_name)


def _checked_arguments(name_or_scope: Any, default_name: Any, reuse: Any, auxiliary_name_scope: Any) -> Any:
    """``variable_scope``'s arguments checked, as TensorFlow 1 checks them; returns ``reuse`` (None for False)."""
    if name_or_scope is None and default_name is None:
        raise TypeError("variable_scope: if default_name is None then name_or_scope is required.")
    if not isinstance(name_or_scope, (str, VariableScope, type(None))):
        raise TypeError(f"variable_scope: name_or_scope must be a string or a VariableScope, not {name_or_scope!r}.")
    if reuse is False:
        reuse = None  # False does not stop an enclosing scope's reuse, as in TensorFlow 1
    if not (reuse is None or reuse is True or reuse is AUTO_REUSE):
        raise InvalidArgumentError(f"variable_scope: reuse must be True, False, None or tf.AUTO_REUSE, not {reuse!r}.")
    if not isinstance(auxiliary_name_scope, bool):
        raise TypeError(f"variable_scope: auxiliary_name_scope must be True or False, not {auxiliary_name_scope!r}.")
    if name_or_scope == "":
        raise InvalidArgumentError("variable_scope: a scope's name is a non-empty string, not ''.")
    return reuse


def _leave(store: _Store, parent: VariableScope, saved_counts: dict | None, full_name: str) -> None:
    """Back in ``parent``: a scope entered again as a VariableScope restores the name counts it found; a scope
    entered by name has the names counted inside it start again when it is entered again."""
    store.current = parent
    if saved_counts is not None:
        store.counts = saved_counts
    else:
        for key in store.counts:
            if key.startswith(full_name + "/"):
                store.counts[key] = 0


def _unique_name(store: _Store, parent: VariableScope, base: str) -> str:
    """``base``, or ``base_1``, ``base_2``, ...: the first not yet used as a scope in ``parent``."""
    if not isinstance(base, str) or not base:
        raise InvalidArgumentError(f"variable_scope: default_name is a non-empty string, not {base!r}.")
    prefix = f"{parent.name}/" if parent.name else ""
    name, i = base, 0
    while store.counts.get(prefix + name, 0) > 0:
        i += 1
        name = f"{base}_{i}"
    return name


def get_variable(name: str, shape: Any = None, dtype: Any = None, initializer: Any = None, regularizer: Any = None,
                 trainable: bool | None = None, collections: Any = None, caching_device: Any = None,
                 partitioner: Any = None, validate_shape: bool = True, use_resource: Any = None,
                 custom_getter: Any = None, constraint: Any = None, synchronization: Any = None,
                 aggregation: Any = None) -> Variable:
    """The Variable ``name`` of the current variable scope: made new, or, where the scope reuses, the one made
    before.

    Args:
        name: the Variable's name inside the scope (its full name is ``scope/name``).
        shape: its shape, fully known, for a new Variable (for a shared one, checked against its shape, as the
            dtype is).
        dtype: its dtype (the scope's, float32 unless set, when None).
        initializer: an initializer (``tf.zeros_initializer()``, ...; a class is made with its defaults; any
            function of ``(shape, dtype)`` that returns a node or an array), or a node or value to start from (then
            no ``shape``). None takes the scope's initializer, else Glorot's uniform for floats and zeros for
            integers and bools.
        trainable: whether optimizers train it (True when None).
        validate_shape: whether the initializer's value must have ``shape``.
        use_resource, synchronization, aggregation: accepted and ignored.

    ``regularizer``, ``collections``, ``caching_device``, ``partitioner``, ``custom_getter`` and ``constraint``
    are not supported.

    Raises:
        InvalidArgumentError: (a ``ValueError``) on TensorFlow's conditions, with its messages: the name exists and
            the scope does not reuse ("Variable x already exists, disallowed. ..."), the scope reuses and the name
            does not exist ("... does not exist, or was not created with tf.get_variable() ..."), a shared
            Variable asked for with another shape or dtype, a new one without a fully known shape.

    Example:
        >>> import symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> with tf.variable_scope("model", initializer=tf.constant_initializer(0.5)):
        ...     w = tf.get_variable("w", [2])
        ...     step = tf.get_variable("step", [], dtype=tf.int32, initializer=tf.zeros_initializer())
        >>> with tf.variable_scope("model", reuse=True):
        ...     w is tf.get_variable("w")
        True
        >>> w.name, tf.Session().run(w)
        ('model/w', array([0.5, 0.5], dtype=float32))
    """
    _refuse("get_variable", regularizer=regularizer, collections=collections, caching_device=caching_device,
            partitioner=partitioner, custom_getter=custom_getter, constraint=constraint)
    return get_variable_scope().get_variable(name, shape, dtype, initializer, trainable=trainable,
                                             validate_shape=validate_shape)
