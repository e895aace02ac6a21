"""How a session runs a compiled program (see :mod:`symslow.compiler`): the call remembered for a combination of
fetches and fed values seen before, and its fast path; the general path, which reads the Variables, calls the
program and commits its new values only if it succeeded; the fetched values as a run returns them; and, when
compiled code fails, the node behind the failure, found by the interpreter."""

from __future__ import annotations

import contextlib
from typing import Any, Callable

import numpy as np

from .errors import InvalidArgumentError, SymslowError, describe
from .feeds import _same, _typed, _unshared
from .fetches import _Call
from .graph import Node, format_shape
from .ops.base import call_compute


class CompiledRuns:
    """The part of :class:`~symslow.session.Session` that runs compiled programs, and the check of new values'
    shapes that the interpreter's runs share."""

    def _call(self, key: tuple | None, fed: list, nodes: list[Node], rebuild: Callable, feeds: dict,
              feed_dict: dict | None) -> "_Call":
        """The compiled program for these fetches and feeds, remembered under ``key`` (see ``_call_key``) for the next
        run with the same ones when the fed values were taken as they are (arrays of the placeholder's dtype, on the
        backend's device)."""
        program = self._program(nodes, feeds)
        call = _Call(program, nodes, rebuild, [])
        if key is None or self._parallel is not None or any(feeds[p] is not v for p, v in (feed_dict or {}).items()):
            return call
        if not all(v.dtype.kind != "f" or self.dtype in (None, v.dtype) for v in fed):
            return call  # the values change type on every run
        position = {p: k for k, p in enumerate(feed_dict or {})}
        call.feed_order = [position[p] for p in program.placeholders]
        call.run = self._runner(call, len(fed))
        if len(self._calls) > 64:
            self._calls.clear()
        self._calls[key] = call
        return call

    def _runner(self, call: "_Call", fed_count: int) -> Callable[[list], Any]:
        """What a run of ``call`` does once its fetches and fed shapes have been seen: the fed values in the
        program's order, put on the backend's device (NumPy feeds to JAX or CuPy: one transfer each), the call, the
        commit and the fetched values. A program that calls compute() ops, or whose new values' shapes the known
        shapes do not prove, takes the general path."""
        program, order, rebuild = call.program, call.feed_order, call.rebuild
        jitted = self._backend.takes_host_arrays and not program.user_ops  # (a step with compute() ops is not)
        to_device = None if self._plain or jitted else self._backend.to_device
        in_order = order == list(range(fed_count))  # the feed_dict holds the program's placeholders, in its order

        def placed(fed: list) -> list:  # the fed values in the program's order, where the backend computes
            feed_values = fed if in_order else [fed[i] for i in order]
            return feed_values if to_device is None else [to_device(v) for v in feed_values]

        def general(fed: list) -> Any:
            feeds = {p: fed[i] for p, i in zip(program.placeholders, order)}
            return rebuild(self._run_compiled(call, placed(fed), feeds))

        if program.user_ops or not program.updates_checked or not (self._plain and program.fresh_updates or
                                                                     self._immutable):
            return general
        function, constants, variables, refs = program.function, program.device_constants, program.variables, program.refs
        stored, lock, update_lock, fetched = self._values, self._lock, self._update_lock, self._fetched
        nodes = call.nodes

        def run(fed: list) -> Any:
            feed_values = placed(fed)
            with guard:
                with lock:
                    current = [stored.get(v) for v in variables]
                if any(v is None for v in current):  # a Variable without a value: the general path gives it one
                    return general(fed)
                if program.draws:
                    feed_values = feed_values + self._drawn(program, to_device)
                try:
                    outputs, new_values = function(feed_values, current, constants)
                except Exception as error:
                    feeds = {p: fed[i] for p, i in zip(program.placeholders, order)}
                    raise self._diagnose(nodes, feeds, program, current, error) from error
                with lock:
                    stored.update(zip(refs, new_values))
            return rebuild(fetched(program, nodes, outputs, current, new_values))

        # a run that assigns Variables reads, computes and commits while no other assigning run does
        guard = update_lock if program.updates else contextlib.nullcontext()
        return run

    def _drawn(self, program, to_device: Callable | None = None) -> list:
        """The random values the program takes with its feeds (``Backend.hoists_draws``), drawn from this session's
        streams, as the step would have drawn them; moved by ``to_device`` where given."""
        with self.random.active():
            values = [call_compute(op, stand_ins) for op, stand_ins in program.draws]
        return values if to_device is None else [to_device(v) for v in values]

    def _run_compiled(self, call: "_Call", feed_values: list, feeds: dict, numerics: bool = False) -> list:
        if call.program.updates:  # read, compute and commit while no other assigning run does
            with self._update_lock:
                return self._run_program(call, feed_values, feeds, numerics)
        return self._run_program(call, feed_values, feeds, numerics)

    def _run_program(self, call: "_Call", feed_values: list, feeds: dict, numerics: bool) -> list:
        program, nodes = call.program, call.nodes
        stored = self._values
        first_use = False
        if program.initial_nodes and any(v not in stored for v in program.variables):
            self._initialize(program.variables)
        with self._lock:
            try:
                current = [stored[v] for v in program.variables]
            except KeyError:  # first use: the initial values, cast and moved
                current = [self._device_value(v) for v in program.variables]
                first_use = True
        if program.draws:  # drawn after the initial values, as a step drawing them itself would be
            feed_values = feed_values + self._drawn(program, self._backend.to_device)
        try:
            if program.user_ops:
                with self.random.active():
                    outputs, new_values = program.function(feed_values, current, program.device_constants)
            else:
                outputs, new_values = program.function(feed_values, current, program.device_constants)
        except Exception as error:
            raise self._diagnose(nodes, feeds, program, current, error) from error
        if not program.updates_checked:
            self._check_updates(program.updates, new_values)
        if self._parallel is not None and program.user_ops:  # computed unsplit, partly by NumPy: now replicated
            new_values = [self._backend.to_device(v) for v in new_values]
        if numerics:
            from .numerics import check_new_values

            check_new_values(program.updates, [self._backend.to_host(v) for v in new_values])
        with self._lock:
            if first_use:
                for variable, value in zip(program.variables, current):
                    stored.setdefault(variable, value)  # the initial value becomes the value
            if self._plain and program.fresh_updates or self._immutable:  # new arrays, no one else's: kept
                stored.update(zip(program.refs, new_values))
            elif program.refs:
                fed = {id(v) for v in feed_values}  # a fed array (or a view of one) is the caller's to change
                cast = _same if self._plain or self.dtype == np.float64 else self._cast  # float64 stays float64
                for ref, value in zip(program.refs, new_values):
                    shared = id(value) in fed or getattr(value, "base", None) is not None
                    stored[ref] = value.copy() if shared else cast(_typed(value, ref.dtype))
        return self._fetched(program, nodes, outputs, current, new_values)

    def _fetched(self, program, nodes: list[Node], outputs: Any, current: list, new_values: list) -> list:
        """The fetched values as a run returns them. A fetched array that is a Variable's value (``identity(w)``),
        or a view of an array (``reshape(w)``), is copied: changing it must not change the Variable."""
        if program.fetches_only_groups:  # a training op
            return list(outputs)
        if self._backend.immutable:
            return [self._output(n, v) for n, v in zip(nodes, outputs)]
        held = {id(v) for v in current} | {id(v) for v in new_values}
        return [self._output(n, _unshared(v, held)) for n, v in zip(nodes, outputs)]

    def _diagnose(self, nodes, feeds: dict, program, current: list, error: Exception) -> Exception:
        """Find the node behind a failure of compiled code by running the interpreter on the same values: the fed
        values, and the Variables' values where the backend keeps them."""
        from .interpreter import evaluate

        host = [np.asarray(self._backend.to_host(v)) for v in current]
        try:
            evaluate(nodes, self._convert_feeds(feeds), dict(zip(program.variables, host)))
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
