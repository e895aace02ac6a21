"""From graph to one Python function: schedule, fuse, eliminate common subexpressions, print, exec.

1. **schedule**: only the nodes the fetches need, each after its inputs;
2. **fuse**: a node used once by a node the compiler prints is inlined into it, so a chain of elementwise ops
   (and the ``sum`` or ``@`` that consumes it) becomes one SymPy expression;
3. **cse**: ``sympy.cse`` over all the expressions together, each shared piece computed once;
4. **print**: each expression through the backend's SymPy printer; nodes become ``v0, v1, ...``, shared pieces
   ``t0, t1, ...``; user-given names appear only in comments, escaped;
5. **exec** once; the function is cached by the graph for this combination of fetches and feeds.

The function takes ``(feeds, variables, constants)`` and returns ``(fetched values, new variable values)``: every
update is computed from the values the run started with, and the session commits them only if the run succeeded.
"""

from __future__ import annotations

import itertools
import linecache
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import sympy

from .backends import Backend
from .errors import InvalidArgumentError, describe
from .graph import Constant, Node, Placeholder, Variable, format_shape
from .gradients import topological_order
from .ops.base import ElementwiseExpr, ElementwiseOp, Operation, call_compute, operand
from .ops.state import assign, group

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


class _KeepShape(sympy.Function):
    """``expr`` broadcast to the shape of ``refs``: SymPy simplified away an input that decided the shape."""

    @classmethod
    def eval(cls, *args):
        return None

    def _numpycode(self, printer):
        expr, *refs = [printer._print(a) for a in self.args]
        module = printer._module_format(printer._module)
        shapes = ", ".join(f"{module}.shape({r})" for r in refs)
        return f"{module}.broadcast_to({expr}, {module}.broadcast_shapes({shapes}))"

    _cupycode = _jaxcode = _numpycode


def _comment(node: Node) -> str:
    text = f"{node.name!r} ({node.op_type!r}, shape {format_shape(node.shape)})"
    return text.replace("\n", " ").replace("\r", " ")


def _needs_feed_error(placeholder: Placeholder, fetches: Sequence[Node]) -> InvalidArgumentError:
    needing = [f.name for f in fetches if any(n is placeholder for n in topological_order([f]))]
    return InvalidArgumentError(
        f"You must feed a value for placeholder {placeholder.name!r} (shape {format_shape(placeholder.shape)}): "
        f"fetch {needing[0]!r} needs it. Pass it in feed_dict={{{placeholder.name}: ...}}."
    )


def compile_program(fetches: Sequence[Node], fed: Sequence[Placeholder], backend: Backend) -> Program:
    """Compile the subgraph that computes ``fetches`` from the placeholders ``fed`` into one function."""
    order = topological_order(fetches)
    fed_ids = {id(p) for p in fed}
    for node in order:
        if isinstance(node, Placeholder) and id(node) not in fed_ids:
            raise _needs_feed_error(node, fetches)
    updates = [n for n in order if isinstance(n, assign)]
    targets = {id(n) for n in fetches} | {id(n) for n in updates}
    seen_refs: dict[int, assign] = {}
    for update in updates:
        if id(update.ref) in seen_refs:
            raise InvalidArgumentError(
                f"Variable {update.ref.name!r} is assigned twice in one run, by {seen_refs[id(update.ref)].name!r} "
                f"and {update.name!r}; run them separately."
            )
        seen_refs[id(update.ref)] = update

    # which nodes get their own variable, and which are inlined into their single consumer
    uses: dict[int, int] = {}
    opaque_consumer: set[int] = set()
    for node in order:
        for input_node in node.input_nodes:
            uses[id(input_node)] = uses.get(id(input_node), 0) + 1
            if not _printable(node):
                opaque_consumer.add(id(input_node))

    def materialized(node: Node) -> bool:
        if isinstance(node, Constant) and node.scalar() is not None:
            return False
        return (
            not isinstance(node, Operation)
            or not _printable(node)
            or id(node) in targets
            or id(node) in opaque_consumer
            or uses.get(id(node), 0) != 1
        )

    names: dict[int, sympy.Symbol] = {}
    placeholders = [n for n in order if isinstance(n, Placeholder)]
    placeholders.sort(key=lambda n: n.id)
    variables = [n for n in order if isinstance(n, Variable)]
    constants = [n for n in order if isinstance(n, Constant) and n.scalar() is None]
    counter = itertools.count()
    for node in placeholders + variables + constants:
        names[id(node)] = sympy.Symbol(f"v{next(counter)}")

    fused: dict[int, sympy.Expr] = {}  # the expression of each node over materialized symbols
    leaves: dict[int, frozenset] = {}  # the materialized symbols each expression's shape depends on
    lines: list[tuple[Node, sympy.Symbol | None, Any]] = []  # (node, variable, expression or call)
    user_ops: list[Operation] = []
    for node in order:
        if id(node) in names:
            fused[id(node)] = names[id(node)]
            leaves[id(node)] = frozenset([names[id(node)]])
            continue
        if isinstance(node, Constant):  # a scalar: a number in its consumers' formulas
            fused[id(node)] = operand(node)
            leaves[id(node)] = frozenset()
            continue
        inputs = node.input_nodes
        if isinstance(node, group):
            lines.append((node, None, None))
            continue
        if not _printable(node):
            user_ops.append(node)
            lines.append((node, _new_name(names, node, counter), ("user_op", len(user_ops) - 1, inputs)))
            fused[id(node)] = names[id(node)]
            leaves[id(node)] = frozenset([names[id(node)]])
            continue
        expr = node.expr.xreplace({i.symbol: fused[id(i)] for i in inputs})
        shape_sources = frozenset().union(*(leaves[id(i)] for i in inputs)) if inputs else frozenset()
        if isinstance(node, (ElementwiseOp, ElementwiseExpr)) and not shape_sources <= expr.free_symbols:
            expr = _KeepShape(expr, *sorted(shape_sources, key=str))
        fused[id(node)] = expr
        leaves[id(node)] = shape_sources if isinstance(node, (ElementwiseOp, ElementwiseExpr)) else frozenset(expr.free_symbols)
        if materialized(node):
            symbol = _new_name(names, node, counter)
            lines.append((node, symbol, expr))
            fused[id(node)] = symbol
            leaves[id(node)] = frozenset([symbol])

    source = _print_source(lines, placeholders, variables, constants, fetches, updates, fused, names, backend)
    filename = f"<symslow-compiled-{next(_counter)}>"
    namespace = backend.namespace()
    namespace["user_ops"] = user_ops
    namespace["call_compute"] = call_compute
    exec(compile(source, filename, "exec"), namespace)
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)  # readable tracebacks
    return Program(
        function=namespace["compiled_step"] if user_ops else backend.jit(namespace["compiled_step"]),
        source=source,
        placeholders=placeholders,
        variables=variables,
        constants=[c.value for c in constants],
        updates=updates,
    )


def _printable(node: Node) -> bool:
    return isinstance(node, Operation) and node.has_formula and not isinstance(node, group)


def _new_name(names: dict, node: Node, counter) -> sympy.Symbol:
    symbol = sympy.Symbol(f"v{next(counter)}")
    names[id(node)] = symbol
    return symbol


def _print_source(lines, placeholders, variables, constants, fetches, updates, fused, names, backend: Backend) -> str:
    printed_exprs = [expr for _, _, expr in lines if isinstance(expr, sympy.Basic)]
    replacements, reduced = sympy.cse(printed_exprs, symbols=sympy.numbered_symbols("t"), order="none")
    reduced_iter = iter(reduced)
    shared = dict(replacements)
    rank = {symbol: k for k, (symbol, _) in enumerate(replacements)}
    emitted: set = set()

    def code(expr) -> str:
        try:
            return backend.print_code(expr)
        except Exception as error:  # SymPy's strict printing: an op with no print method for this backend
            raise NotImplementedError(f"Backend {backend.name!r} cannot print {expr}: {error}") from None

    body: list[str] = []

    def emit_shared(expr):
        for symbol in sorted(expr.free_symbols & shared.keys(), key=rank.get):
            if symbol not in emitted:
                emit_shared(shared[symbol])
                emitted.add(symbol)
                body.append(f"    {symbol} = {code(shared[symbol])}")

    def unpack(nodes, argument):
        if nodes:
            body.append(f"    {', '.join(str(names[id(n)]) for n in nodes)}, = {argument}")
            for n in nodes:
                body.append(f"    # {names[id(n)]}: {_comment(n)}")

    unpack(placeholders, "feeds")
    unpack(variables, "variables")
    unpack(constants, "constants")
    for node, symbol, expr in lines:
        body.append(f"    # {_comment(node)}")
        if expr is None:
            continue
        if isinstance(expr, tuple):  # a user op defined by compute(): called back
            _, index, inputs = expr
            args = ", ".join(code(fused[id(i)]) for i in inputs)
            body.append(f"    {symbol} = call_compute(user_ops[{index}], ({args},))")
            continue
        expr = next(reduced_iter)
        emit_shared(expr)
        body.append(f"    {symbol} = {code(expr)}")

    def value(node):
        if isinstance(node, group):
            return "None"
        return code(fused[id(node)])

    fetched = ", ".join(value(n) for n in fetches)
    new_values = ", ".join(value(n) for n in updates)
    body.append(f"    return ({fetched}{',' if len(fetches) == 1 else ''}), ({new_values}{',' if len(updates) == 1 else ''})")
    header = [
        "def compiled_step(feeds, variables, constants):",
        f'    """Generated by symslow ({backend.name} backend)."""',
        "    # fetches: " + ", ".join(_comment(n) for n in fetches),
    ]
    return "\n".join(header + body) + "\n"
