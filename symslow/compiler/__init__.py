"""From graph to one Python function: schedule, fold, fuse, print, exec; one module per pass.

1. **schedule** (:mod:`.schedule`): only the nodes the fetches need, each after its inputs, with the shapes the fed
   shapes decide and the formula each node prints once they are known;
2. **fold** (:mod:`.writer`, as are 3 and 4): a node computed from constants alone is computed now, by NumPy in
   the node's dtype (the interpreter's own step), and becomes a constant: a number in the code, or an array of the
   ``constants`` argument;
3. **fuse**: a node used once, by a node the compiler prints, is written into its consumer's expression, so that a
   chain of elementwise ops (and the ``sum`` or ``@`` that consumes it) becomes one line. The expression is cut, and
   the part so far given a name of its own, where it would grow past :data:`MAX_FUSED_DEPTH` levels of parentheses
   or :data:`MAX_FUSED_LENGTH` characters, or where the consumer's formula would compute it twice;
4. **print**: each node's formula is printed once, by the backend's SymPy printer, with its inputs as placeholders,
   and the inputs' code is put in their place; nodes become ``v0, v1, ...``, pieces a structural formula uses twice
   ``t0, t1, ...``; user-given names appear only in comments, escaped; a part of a line written exactly as an
   earlier line reads that line's name (the gradient of ``relu`` reads the relu's output);
5. **lines** (:mod:`.lines`): the lines the results need, each reading an earlier line it would compute again,
   written out as the source of one function (the code of each node and the parentheses it needs: :mod:`.code`);
6. **exec** once (here); the function is cached by the graph for this combination of fetches and feeds.

The code computes the graph exactly, IEEE value for value as the interpreter does: a formula is printed as the op
writes it (:meth:`~symslow.ops.base.Operation.exact_formula`), over one placeholder per input, so SymPy never sees
two inputs' expressions together and simplifies nothing across nodes (``exp(log(x))`` stays two calls, ``x / x``
a division, ``(x + 1) - x`` two roundings). Numbers are printed as Python numbers, which take the dtype of the
array they meet; where no array of their dtype meets them, as typed NumPy scalars (``numpy.float32(0.5)``).

When the session passes the shapes of the fed values, the program is specialised to them: every node's shape is
then known, so un-broadcasts and matmul gradients print as the one ``sum`` or ``@`` they are, a gradient seeded by
ones is the number 1 rather than an array of ones (broadcasts are left to the elementwise expressions that use
them), and nodes that only lent their shape (the loss, when only the training op is fetched) are not computed.
Softmax and log-softmax are then written out in primitives (max, exp, sum). A placeholder fed many shapes gets
programs specialised to its first few only (see :func:`specialized_shapes`).

The function takes ``(feeds, variables, constants)`` and returns ``(fetched values, new variable values)``: every
update is computed from the values the run started with, and the session commits them only if the run succeeded.
Its source is registered with :mod:`linecache` for readable tracebacks, and unregistered when the program is
garbage-collected.
"""

from __future__ import annotations

import itertools
import linecache
import weakref
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from ..backends import Backend
from ..graph import Node, needs_feed_error, topological_order
from ..leaves import Constant, Placeholder, Variable
from ..ops.base import call_compute
from ..ops.state import assign, check_one_assignment_each, group
from .code import _comment, _name
from .lines import _live, _print_source, _reuse_lines
from .schedule import MAX_SPECIALIZED_SHAPES, known_shapes, schedule, specialized_shapes
from .writer import MAX_FUSED_DEPTH, MAX_FUSED_LENGTH, _Writer

__all__ = ["Program", "compile_program", "specialized_shapes", "MAX_FUSED_DEPTH", "MAX_FUSED_LENGTH",
           "MAX_SPECIALIZED_SHAPES"]

_counter = itertools.count()


@dataclass
class Program:
    """A compiled combination of fetches and feeds."""

    function: Callable
    source: str
    placeholders: list[Placeholder]  # the order of the `feeds` argument
    variables: list[Variable]  # the order of the `variables` argument
    constants: list[Any]  # the `constants` argument
    updates: list[assign]  # the order of the returned new values
    device_constants: list | None = None  # the constants cast and moved for a session's backend and dtype
    updates_checked: bool = False  # the known shapes prove that every new value has its Variable's shape
    refs: list[Variable] | None = None  # the Variable each update sets, in the order of `updates`
    fetches_only_groups: bool = False  # every fetch is a group (a training op): the run returns only Nones
    fresh_updates: bool = False  # every new value is computed by arithmetic, so it is a new array, no one's view
    user_ops: bool = False  # the program calls ops defined by compute() (random ops among them)
    # random ops drawn before each call, with stand-ins of their inputs' shapes: their values follow the fed values
    draws: list = field(default_factory=list)
    initial_nodes: bool = False  # a Variable it reads is initialised by running a node (a random op)
    filename: str = ""  # the name its source has in tracebacks (and in linecache while the program lives)


def compile_program(fetches: Sequence[Node], fed: Sequence[Placeholder], backend: Backend,
                    shapes: Mapping[Placeholder, tuple] | None = None) -> Program:
    """Compile the subgraph that computes ``fetches`` from the placeholders ``fed`` into one function.

    ``shapes``, the shapes of the values fed, specialises the program to them (see the module's docstring).
    """
    order = topological_order(fetches)
    fed_ids = {id(p) for p in fed}
    for node in order:
        if isinstance(node, Placeholder) and id(node) not in fed_ids:
            raise needs_feed_error(node, fetches)
    updates = check_one_assignment_each(order)
    known = known_shapes(order, shapes or {})
    plan = schedule(order, [*fetches, *updates], known, backend.hoists_draws)
    targets = {id(n) for n in fetches if not isinstance(n, group)} | {id(n) for n in updates}

    writer = _Writer(backend, known, plan.formulas, plan.draws)
    placeholders = sorted((n for n in order if isinstance(n, Placeholder)), key=lambda n: n.id)
    variables = [n for n in order if isinstance(n, Variable)]
    constants = [n for n in order if isinstance(n, Constant) and n.scalar() is None]
    for node in placeholders + variables + constants:
        writer.code[id(node)] = _name(writer.new_name())
        writer.lazy[id(node)] = known.get(id(node))
    for node in constants:
        writer.values[id(node)] = (node.value, True)
        writer.constants.append((writer.code[id(node)].text, node.value, _comment(node)))

    for node in order:
        if id(node) in writer.code or id(node) not in plan.live:
            continue
        writer.visit(node)
        if id(node) in writer.code and (
            id(node) in targets or id(node) in plan.opaque_consumer or plan.uses[id(node)] > 1
        ) and writer.code[id(node)].value is None:
            writer.materialize(node)

    results = [writer.full(n) for n in fetches if not isinstance(n, group)] + [writer.full(n) for n in updates]
    lines = _live(_reuse_lines(writer.lines), results)
    needed = set().union(*(line.names for line in lines), *(r.names for r in results))
    constant_values = [(name, value, note) for name, value, note in writer.constants if name in needed]
    source = _print_source(lines, writer, placeholders + writer.draws, variables, constant_values, fetches, updates,
                           backend)
    filename = f"<symslow-compiled-{next(_counter)}>"
    namespace = backend.namespace()
    namespace["user_ops"] = writer.user_ops
    namespace["call_compute"] = call_compute
    exec(compile(source, filename, "exec"), namespace)
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)  # readable tracebacks
    program = Program(
        function=namespace["compiled_step"] if writer.user_ops else backend.jit(namespace["compiled_step"]),
        source=source,
        placeholders=placeholders,
        variables=variables,
        constants=[value for _, value, _ in constant_values],
        updates=updates,
        updates_checked=all(known.get(id(u.input_nodes[1])) == u.ref.shape for u in updates),
        refs=[u.ref for u in updates],
        fetches_only_groups=all(isinstance(n, group) for n in fetches),
        fresh_updates=all(writer.full(u).fresh for u in updates),
        user_ops=bool(writer.user_ops),
        draws=[(op, [_stand_in(known[id(i)], i.dtype) for i in op.input_nodes]) for op in writer.draws],
        initial_nodes=any(v.initial_node is not None for v in variables),
        filename=filename,
    )
    weakref.finalize(program, linecache.cache.pop, filename, None)  # an evicted program leaves nothing behind
    return program


def _stand_in(shape: tuple, dtype: Any) -> np.ndarray:
    """An array of ``shape`` and ``dtype`` that takes no memory, for a draw that reads only its input's shape."""
    return np.broadcast_to(np.zeros((), dtype=dtype or np.float64), shape)
