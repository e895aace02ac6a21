"""Data-parallel runs: one compiled step, its batch split over the devices of a JAX mesh.

``Session(backend="jax", devices=...)`` runs the step a one-device JAX session runs, from the same graph and the
same generated code, with its inputs laid out over the devices:

* a fed placeholder whose first axis is its batch is **split** along that axis, an equal slice per device: one
  declared ``(None, ...)``, or a bare ``placeholder()`` fed an array;
* Variables, constants and the other fed values (scalars, placeholders of a known first dimension) are
  **replicated**: every device holds all of it;
* the new values of the Variables are replicated too, so every device holds the same values after each run.

XLA's SPMD partitioner compiles the step for that layout: each device computes the forward and backward pass of its
slice, and where the graph sums over the batch (the loss, the gradients of the weights) XLA adds the all-reduce.
symslow writes no communication of its own. A sum split over devices adds its terms in another order than one device
does, so results agree with a one-device run to rounding (1e-16 to 1e-14 relative in float64), not bit for bit.

In several processes (one per host, joined by ``jax.distributed.initialize`` before the session is made), each
process feeds its own part of the batch, and the batch of the step is the processes' parts in process order. A
Variable's initial value is process 0's, so a random draw gives every process the same Variables.

A step that calls an op with no formula (a random op such as ``dropout``, a gradient registered as NumPy code, an
op defined by ``compute()`` alone) runs NumPy code in the middle of the step, which JAX cannot compile into one
program: a data-parallel session refuses it when it reads fed values, and runs it unsplit (replicated inputs, NumPy
on the host) when nothing is fed, as ``global_variables_initializer()`` and random initial values are.

Example:
    >>> import numpy as np, symslow as tf
    >>> _ = tf.Graph().as_default()
    >>> x = tf.placeholder(tf.float64, shape=(None,), name="x")
    >>> w = tf.Variable(np.float64(1.0), name="w")
    >>> train = tf.train.GradientDescentOptimizer(0.1).minimize(tf.reduce_mean(tf.square(w * x - 2 * x)))
    >>> sess = tf.Session(backend="jax", devices=1)  # every device of the machine: devices=jax.devices()
    >>> for _ in range(3):
    ...     sess.run(train, {x: np.arange(4.0)})
    >>> print(round(float(sess.run(w)), 6), len(sess.devices))
    1.973 1
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable, Sequence

import numpy as np

from .backends import Backend, get_backend
from .errors import InvalidArgumentError, describe
from .graph import Node, format_shape, topological_order
from .leaves import Placeholder

AXIS = "batch"  # the name of the mesh's one axis, along which fed batches are split


class DataParallel:
    """The layout of a data-parallel session: a one-axis ``jax.sharding.Mesh`` of its devices, batches split along
    it, everything else replicated.

    Args:
        devices: the JAX devices to spread over (``jax.devices()`` for all of them, the devices of every process in
            a multi-process run), or a number n for the first n of ``jax.devices()``.
    """

    def __init__(self, devices: "int | Sequence[Any]"):
        backend = get_backend("jax")  # a clear error without JAX; float64 enabled
        import jax
        from jax.sharding import Mesh, NamedSharding, PartitionSpec

        self._jax = jax
        self.devices = _resolve(jax, devices)
        self.processes = len({d.process_index for d in self.devices})
        self.local_count = sum(d.process_index == jax.process_index() for d in self.devices)
        self.mesh = Mesh(np.array(self.devices, dtype=object), (AXIS,))
        self.replicated = NamedSharding(self.mesh, PartitionSpec())
        self.split = NamedSharding(self.mesh, PartitionSpec(AXIS))
        self.key = tuple(d.id for d in self.devices)  # programs are cached per device set
        # random draws stay inside the step: a hoisted draw would have to be split over the devices as a feed is
        self.backend: Backend = replace(backend, to_device=self.replicate, to_host=self.to_host, jit=self.jit,
                                        hoists_draws=False)

    def jit(self, step: Callable) -> Callable:
        """The step as one XLA program whose new Variable values are replicated (the fetched values are laid out as
        XLA finds best: a per-example output stays split)."""
        return self._jax.jit(step, out_shardings=(None, self.replicated))

    def replicate(self, value: Any) -> Any:
        """A value on every device of the mesh; in several processes, process 0's value (a random initial value
        drawn by each process is made the same everywhere)."""
        if self._laid_out(value, self.replicated):
            return value
        value = self.to_host(value)
        if self.processes > 1:
            from jax.experimental import multihost_utils

            value = np.asarray(multihost_utils.process_allgather(value, tiled=False))[0]  # copied, not summed: exact
        return self._jax.device_put(value, self.replicated)

    def feed(self, placeholder: Placeholder, value: Any) -> Any:
        """A fed value laid out over the mesh: split along its batch axis, or replicated (see :func:`splits`).

        In several processes each process feeds its own rows; the step's batch is every process's rows in turn.
        """
        jax = self._jax
        if not splits(placeholder, value):
            if self._laid_out(value, self.replicated):
                return value
            return jax.device_put(self.to_host(value) if self.processes > 1 else value, self.replicated)
        if self._laid_out(value, self.split):
            return value  # already laid out (in several processes, the whole batch)
        rows = value.shape[0]
        if rows % self.local_count:
            where = "" if self.processes == 1 else " of this process"
            raise InvalidArgumentError(
                f"Placeholder {placeholder.name!r} is fed a batch of {rows} rows (shape "
                f"{format_shape(value.shape)}), which does not split evenly over the {self.local_count} devices"
                f"{where}: feed a multiple of {self.local_count} rows. (symslow does not pad a batch: padding rows "
                "would change the loss.) A placeholder declared with a known first dimension is replicated instead."
            )
        if self.processes == 1:
            return jax.device_put(value, self.split)
        local = np.asarray(self.to_host(value))
        whole = (rows * self.processes, *local.shape[1:])  # every process feeds as many rows
        return jax.make_array_from_process_local_data(self.split, local, whole)

    def global_shapes(self, feeds: dict) -> dict:
        """The shape of each fed value in the step: in several processes a split value's rows are one process's,
        and the step's batch has every process's."""
        shapes = {}
        for placeholder, value in feeds.items():
            shape = tuple(np.shape(value))
            if self.processes > 1 and splits(placeholder, value) and not self._laid_out(value, self.split):
                shape = (shape[0] * self.processes, *shape[1:])
            shapes[placeholder] = shape
        return shapes

    def to_host(self, value: Any) -> np.ndarray:
        """A computed value as a NumPy array; a value split over several processes is gathered from all of them
        (every process must then fetch it: the gathering is a collective)."""
        jax = self._jax
        if isinstance(value, jax.Array) and not value.is_fully_addressable and not value.is_fully_replicated:
            from jax.experimental import multihost_utils

            return np.asarray(multihost_utils.process_allgather(value, tiled=True))
        return np.asarray(value)

    def _laid_out(self, value: Any, sharding: Any) -> bool:
        return isinstance(value, self._jax.Array) and value.sharding.is_equivalent_to(sharding, value.ndim)

    def refusal(self, nodes: Sequence[Node]) -> InvalidArgumentError:
        """The error for a step that reads fed values and calls ops with no formula."""
        from .ops.base import Operation
        from .ops.state import group

        opaque = [n for n in topological_order(nodes) if isinstance(n, Operation) and not n.has_formula
                  and not isinstance(n, group)]
        names = ", ".join(describe(n) for n in opaque[:3]) + (", ..." if len(opaque) > 3 else "")
        return InvalidArgumentError(
            f"A data-parallel session cannot split this step over its {len(self.devices)} devices: it calls "
            f"{names}, an op with no formula whose NumPy code runs in the middle of the step, where JAX cannot "
            "compile it. Run this step in a session without devices=, or build the graph without the op "
            "(tf.nn.dropout(x, keep_prob=1.0) returns x itself)."
        )


def place(session: Any, feed_dict: dict) -> dict:
    """``feed_dict`` with every value laid out as the data-parallel ``session`` lays it out (split or replicated, on
    its devices): fed run after run, such values move no more. In several processes, each process's own rows become
    one array of the whole batch.

    Example:
        >>> import numpy as np, symslow as tf
        >>> from symslow import distribute
        >>> _ = tf.Graph().as_default()
        >>> x = tf.placeholder(tf.float64, shape=(None, 3), name="x")
        >>> sess = tf.Session(backend="jax", devices=1)
        >>> feed = distribute.place(sess, {x: np.ones((4, 3))})
        >>> tuple(feed[x].sharding.spec), float(sess.run(tf.reduce_sum(x), feed))
        (('batch',), 12.0)
    """
    parallel = getattr(session, "_parallel", None)
    if parallel is None:
        raise ValueError("distribute.place lays values out for a data-parallel session: Session(backend='jax', "
                         "devices=...).")
    feeds = session._convert_feeds(feed_dict)  # the checks and conversions of Session.run
    return {p: parallel.feed(p, session._cast(v)) for p, v in feeds.items()}


def splits(placeholder: Placeholder, value: Any) -> bool:
    """Whether a data-parallel session splits the value fed to ``placeholder`` along its first axis: a placeholder
    declared with an unknown first dimension, ``(None, ...)``, or a bare ``placeholder()`` fed an array of one
    axis or more. Others (scalars, declared first dimensions) are replicated.

    Example:
        >>> import symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> splits(tf.placeholder(tf.float32, shape=(None, 784)), np.zeros((256, 784)))
        True
        >>> splits(tf.placeholder(tf.float32, shape=(10,)), np.zeros(10)), splits(tf.placeholder(), 0.5)
        (False, False)
    """
    shape = placeholder.shape
    if shape is None:
        return np.ndim(value) >= 1
    return len(shape) >= 1 and shape[0] is None


def _resolve(jax: Any, devices: "int | Sequence[Any]") -> list:
    """The devices of the mesh, each process's together in process order, or a clear error."""
    available = jax.devices()
    hint = ("to simulate n CPU devices, set XLA_FLAGS=--xla_force_host_platform_device_count=n before jax is "
            "imported")
    if isinstance(devices, (int, np.integer)) and not isinstance(devices, bool):
        if not 1 <= devices <= len(available):
            raise ValueError(f"devices={devices}: JAX has {len(available)} device(s), {available}; {hint}.")
        chosen = list(available[:devices])
    else:
        chosen = list(devices)
        if not chosen:
            raise ValueError("devices= needs at least one device.")
        for device in chosen:
            if not isinstance(device, jax.Device):
                raise TypeError(f"devices= takes JAX devices (from jax.devices()) or a number, not {device!r}.")
        if len(set(chosen)) != len(chosen):
            raise ValueError(f"devices= names a device twice: {chosen}.")
    chosen.sort(key=lambda d: d.process_index)  # a stable sort: each process's rows are one block of the batch
    counts = {}
    for device in chosen:
        counts[device.process_index] = counts.get(device.process_index, 0) + 1
    if jax.process_count() > 1 and (len(counts) != jax.process_count() or len(set(counts.values())) != 1):
        raise ValueError(
            f"In a run of {jax.process_count()} processes, devices= must take as many devices from every process "
            f"(jax.devices() does); it takes {dict(sorted(counts.items()))} (process: devices)."
        )
    return chosen
