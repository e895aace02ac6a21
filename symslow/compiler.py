"""From graph to one Python function: schedule, fuse, eliminate common subexpressions, print, exec.

1. **schedule**: only the nodes the fetches need, each after its inputs;
2. **fuse**: a node used once by a node the compiler prints is inlined into it, so a chain of elementwise ops
   (and the ``sum`` or ``@`` that consumes it) becomes one SymPy expression;
3. **cse**: ``sympy.cse`` over the expressions that share a piece, each shared piece computed once;
4. **print**: each expression through the backend's SymPy printer; nodes become ``v0, v1, ...``, shared pieces
   ``t0, t1, ...``; user-given names appear only in comments, escaped;
5. **exec** once; the function is cached by the graph for this combination of fetches and feeds.

When the session passes the shapes of the fed values, the program is specialised to them: every node's shape is
then known, so un-broadcasts and matmul gradients print as the one ``sum`` or ``@`` they are, a gradient seeded by
ones is the number 1 rather than an array of ones (broadcasts are left to the elementwise expressions that use
them), and nodes that only lent their shape (the loss, when only the training op is fetched) are not computed.
Softmax and log-softmax are then written out in primitives (max, exp, sum), so that in their gradients SymPy turns
``exp(log_softmax(x))`` into ``exp(t)/s`` and the exponentials are computed once.

The function takes ``(feeds, variables, constants)`` and returns ``(fetched values, new variable values)``: every
update is computed from the values the run started with, and the session commits them only if the run succeeded.
"""

from __future__ import annotations

import itertools
import linecache
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import sympy

from .backends import Backend
from .errors import InvalidArgumentError
from .graph import Constant, Node, Placeholder, Variable, format_shape
from .gradients import topological_order
from .ops.base import ElementwiseExpr, ElementwiseOp, Operation, call_compute, operand
from .ops.linalg import matmul
from .ops.reduce import broadcast_like, fill_like
from .ops.state import assign, group
from .printing import ArrayTranspose, BroadcastTo, ExpandDims, KeepShape, MatmulT

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
    initial_nodes: bool = False  # a Variable it reads is initialised by running a node (a random op)


def _fold_transposes(expr: sympy.Basic) -> sympy.Basic:
    """``a @ b.T`` and ``a.T @ b`` in ``expr`` as :class:`MatmulT`."""
    if expr.is_Atom or not expr.args:
        return expr
    args = [_fold_transposes(a) for a in expr.args]
    if getattr(expr, "op", None) is matmul and len(args) == 2:
        ta, tb = (isinstance(a, ArrayTranspose) for a in args)
        if ta != tb:  # one transposed operand (both: leave it as it is)
            a, b = (x.args[0] if isinstance(x, ArrayTranspose) else x for x in args)
            return MatmulT(a, b, sympy.Integer(ta), sympy.Integer(tb))
    return expr.func(*args) if any(a is not b for a, b in zip(args, expr.args)) else expr


def _comment(node: Node) -> str:
    text = f"{node.name!r} ({node.op_type!r}, shape {format_shape(node.shape)})"
    return text.replace("\n", " ").replace("\r", " ")


def _needs_feed_error(placeholder: Placeholder, fetches: Sequence[Node]) -> InvalidArgumentError:
    needing = [f.name for f in fetches if any(n is placeholder for n in topological_order([f]))]
    return InvalidArgumentError(
        f"You must feed a value for placeholder {placeholder.name!r} (shape {format_shape(placeholder.shape)}): "
        f"fetch {needing[0]!r} needs it. Pass it in feed_dict={{{placeholder.name}: ...}}."
    )


def compile_program(fetches: Sequence[Node], fed: Sequence[Placeholder], backend: Backend,
                    shapes: Mapping[Placeholder, tuple] | None = None) -> Program:
    """Compile the subgraph that computes ``fetches`` from the placeholders ``fed`` into one function.

    ``shapes``, the shapes of the values fed, specialises the program to them (see the module's docstring).
    """
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
    known = _known_shapes(order, shapes or {})

    # the inputs whose values each node reads (an input that only lends its shape, once shapes are known, is not
    # computed for it), the nodes the results need, and which are inlined into their single consumer
    formulas: dict[int, sympy.Expr] = {}
    reads: dict[int, list[Node]] = {}
    for node in order:
        reads[id(node)] = _reads(node, known, formulas)
    live = {id(n) for n in fetches} | {id(n) for n in updates}
    for node in reversed(order):
        if id(node) in live:
            live.update(id(i) for i in reads[id(node)])
    uses: dict[int, int] = {}
    opaque_consumer: set[int] = set()
    for node in order:
        if id(node) not in live:
            continue
        for input_node in reads[id(node)]:
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
    # the shape each fused expression evaluates to where known: the node's own shape, or a smaller one that
    # broadcasts to it (a gradient seeded by ones is the number 1 until something needs the array)
    lazy: dict[int, tuple | None] = {}
    lines: list[tuple[Node, sympy.Symbol | None, Any]] = []  # (node, variable, expression or call)
    inlined: dict[int, list[Node]] = {}  # the nodes inlined into each node's expression, itself included
    notes: dict[int, str] = {}  # the comment of a line: which nodes it fuses
    user_ops: list[Operation] = []

    def full(node: Node) -> sympy.Expr:
        """The fused expression of ``node`` at the node's full shape."""
        shape, expr = known.get(id(node)), fused[id(node)]
        if shape is not None and lazy.get(id(node)) not in (None, shape):
            return BroadcastTo(expr, sympy.Tuple(*shape))
        return expr

    for node in order:
        if id(node) not in live and id(node) not in names:
            continue
        if id(node) in names:
            fused[id(node)] = names[id(node)]
            leaves[id(node)] = frozenset([names[id(node)]])
            lazy[id(node)] = known.get(id(node))
            continue
        if isinstance(node, Constant):  # a scalar: a number in its consumers' formulas
            fused[id(node)] = operand(node)
            leaves[id(node)] = frozenset()
            lazy[id(node)] = ()
            continue
        inputs = node.input_nodes
        if isinstance(node, group):
            lines.append((node, None, None))
            continue
        if not _printable(node):
            user_ops.append(node)
            args = [full(i) for i in inputs]
            lines.append((node, _new_name(names, node, counter), ("user_op", len(user_ops) - 1, args)))
            fused[id(node)] = names[id(node)]
            leaves[id(node)] = frozenset([names[id(node)]])
            lazy[id(node)] = known.get(id(node))
            continue
        shape = known.get(id(node))
        broadcast = _lazy_broadcast(node, known, lazy, fused)
        if broadcast is not None:  # broadcast_like or fill_like, left to the elementwise expressions using it
            expr, lazy[id(node)] = broadcast
            g = inputs[0] if isinstance(node, broadcast_like) else None
            leaves[id(node)] = leaves[id(g)] if g is not None else frozenset()
        elif isinstance(node, (ElementwiseOp, ElementwiseExpr)):
            formula = node.expr
            expr = formula.xreplace({i.symbol: fused[id(i)] for i in inputs if id(i) in fused})
            present = [i for i in inputs if operand(i) in formula.free_symbols]
            lazy[id(node)] = _broadcast([lazy.get(id(i)) for i in present])
            shape_sources = frozenset().union(*(leaves[id(i)] for i in inputs if id(i) in leaves))
            if not shape_sources <= expr.free_symbols:  # SymPy simplified away an input that decided the shape
                if shape is not None:
                    expr, lazy[id(node)] = BroadcastTo(expr, sympy.Tuple(*shape)), shape
                else:
                    expr, lazy[id(node)] = KeepShape(expr, *sorted(shape_sources, key=str)), None
            leaves[id(node)] = shape_sources
        else:
            formula = formulas[id(node)]
            expr = formula.xreplace({i.symbol: full(i) for i in inputs if id(i) in fused})
            lazy[id(node)] = shape
            leaves[id(node)] = frozenset(expr.free_symbols)
        fused[id(node)] = expr
        parts = list(dict.fromkeys(n for i in reads[id(node)] for n in inlined.get(id(i), ())))
        if materialized(node):
            expr = full(node)
            if isinstance(expr, sympy.Symbol):  # another node's value, unchanged (an un-broadcast with nothing to sum)
                fused[id(node)], leaves[id(node)], lazy[id(node)] = expr, frozenset([expr]), shape
                continue
            symbol = _new_name(names, node, counter)
            if parts:
                notes[id(node)] = "; fuses " + ", ".join(f"{n.name!r} ({n.op_type})" for n in parts)
            lines.append((node, symbol, expr))
            fused[id(node)] = symbol
            leaves[id(node)] = frozenset([symbol])
            lazy[id(node)] = shape
        else:
            inlined[id(node)] = parts + [node]

    results = [full(n) for n in fetches if not isinstance(n, group)] + [full(n) for n in updates]
    for node in [*fetches, *updates]:
        if not isinstance(node, group):
            fused[id(node)] = full(node)
    lines = _live(lines, results)
    computed = {symbol: expr for _, symbol, expr in lines if symbol is not None}  # each line's expression
    source = _print_source(lines, placeholders, variables, constants, fetches, updates, fused, names, backend, notes)
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
        updates_checked=all(known.get(id(u.input_nodes[1])) == u.ref.shape for u in updates),
        refs=[u.ref for u in updates],
        fetches_only_groups=all(isinstance(n, group) for n in fetches),
        fresh_updates=all(isinstance(computed.get(fused[id(u)]), (sympy.Add, sympy.Mul, sympy.Pow)) for u in updates),
        user_ops=bool(user_ops),
        initial_nodes=any(v.initial_node is not None for v in variables),
    )


def _known_shapes(order: Sequence[Node], fed_shapes: Mapping[Placeholder, tuple]) -> dict[int, tuple]:
    """The full shape of every node whose shape the static shapes and the fed shapes decide."""
    known: dict[int, tuple] = {}
    for node in order:
        shape = node.shape
        if shape is None or None in shape:
            shape = None
            if isinstance(node, Placeholder):
                shape = fed_shapes.get(node)
            elif isinstance(node, Operation) and not isinstance(node, group) and all(
                id(i) in known for i in node.input_nodes
            ):
                try:  # the op's own shape rule (a pure function of the shapes) on the fed shapes
                    shape = node.infer_shape(*[known[id(i)] for i in node.input_nodes])
                except Exception:  # the run itself will report the mismatch, naming the node
                    shape = None
        if shape is not None and None not in shape:
            known[id(node)] = tuple(int(d) for d in shape)
    return known


def _broadcast(shapes: list) -> tuple | None:
    """NumPy's broadcast of known shapes; None when one is unknown."""
    if any(s is None for s in shapes):
        return None
    rank = max((len(s) for s in shapes), default=0)
    padded = [(1,) * (rank - len(s)) + tuple(s) for s in shapes]
    return tuple(max((p[k] for p in padded), default=1) for k in range(rank))


def _lazy_broadcast(node: Node, known: dict, lazy: dict, fused: dict) -> tuple | None:
    """``(expression, its shape)`` for a broadcast whose consumers may broadcast for it, or None.

    ``fill_like`` is its number; ``broadcast_like`` is its gradient with the reduced axes put back as size 1.
    """
    if id(node) not in known:
        return None
    if isinstance(node, fill_like):
        integer = node.dtype is not None and np.dtype(node.dtype).kind in "iub"
        return (sympy.Integer(int(node.value)) if integer else sympy.Float(node.value)), ()  # the array's dtype
    if isinstance(node, broadcast_like):
        g = node.input_nodes[0]
        g_full, g_lazy = known.get(id(g)), lazy.get(id(g))
        if g_full is None:
            return None
        if g_lazy is None:  # an expression of unknown shape has its node's full shape
            g_lazy = g_full
        if g_lazy == ():
            return fused[id(g)], ()
        expr = fused[id(g)] if g_lazy == g_full else BroadcastTo(fused[id(g)], sympy.Tuple(*g_full))
        if node.axis is None:
            return expr, g_full
        axes = tuple(a % (len(g_full) + len(node.axis)) for a in node.axis)
        shape = list(g_full)
        for a in sorted(axes):
            shape.insert(a, 1)
        return ExpandDims(expr, sympy.Tuple(*axes)), tuple(shape)
    return None


def _specialized(node: Operation, known: dict) -> sympy.Expr:
    """The node's formula, with what the known shapes of its inputs decide decided (see
    :meth:`~symslow.ops.base.Operation.formula_for_shapes`)."""
    shapes = [known.get(id(i)) for i in node.input_nodes]
    if None in shapes or id(node) not in known:
        return node.expr
    return node.formula_for_shapes(*shapes)


def _reads(node: Node, known: dict, formulas: dict) -> list[Node]:
    """The inputs whose values ``node``'s code reads; records the formula the compiler prints for it."""
    inputs = node.input_nodes
    if not isinstance(node, Operation) or not _printable(node):
        return list(inputs)
    if id(node) in known and isinstance(node, fill_like):
        return []
    if id(node) in known and isinstance(node, broadcast_like) and id(inputs[0]) in known:
        return [inputs[0]]
    if isinstance(node, (ElementwiseOp, ElementwiseExpr)):
        if id(node) not in known:
            return list(inputs)  # the shape may come from any input at run time
        free = node.expr.free_symbols
        return [i for i in inputs if operand(i) in free]
    formula = formulas[id(node)] = _specialized(node, known)
    free = formula.free_symbols
    return [i for i in inputs if operand(i) in free]


def _live(lines: list, results: list) -> list:
    """The lines that the results need, in order: a node that only lent its shape is not computed."""
    needed = set().union(*(r.free_symbols for r in results)) if results else set()
    kept = []
    for line in reversed(lines):
        node, symbol, expr = line
        if symbol is not None and symbol not in needed and not isinstance(expr, tuple):
            continue
        kept.append(line)
        if isinstance(expr, tuple):
            needed |= set().union(*(a.free_symbols for a in expr[2])) if expr[2] else set()
        elif expr is not None:
            needed |= expr.free_symbols
    return kept[::-1]


def _sharing(exprs: list) -> list[int]:
    """The indices of the expressions that hold a compound piece occurring more than once (in any of them)."""
    counts: dict = {}
    owners: dict = {}
    for k, expr in enumerate(exprs):
        for piece in sympy.preorder_traversal(expr):
            if piece.is_Atom or isinstance(piece, sympy.Tuple):
                continue
            counts[piece] = counts.get(piece, 0) + 1
            owners.setdefault(piece, set()).add(k)
    return sorted({k for piece, n in counts.items() if n > 1 for k in owners[piece]})


def _printable(node: Node) -> bool:
    return isinstance(node, Operation) and node.has_formula and not isinstance(node, group)


def _new_name(names: dict, node: Node, counter) -> sympy.Symbol:
    symbol = sympy.Symbol(f"v{next(counter)}")
    names[id(node)] = symbol
    return symbol


def _print_source(lines, placeholders, variables, constants, fetches, updates, fused, names, backend: Backend,
                  notes: dict | None = None) -> str:
    printed_exprs = [_fold_transposes(expr) for _, _, expr in lines if isinstance(expr, sympy.Basic)]
    # sympy.cse over only the expressions that share a piece: one pass finds them, and the compile time stays
    # linear in the size of the graph
    sharing = _sharing(printed_exprs)
    replacements, reduced_sharing = sympy.cse(
        [printed_exprs[k] for k in sharing], symbols=sympy.numbered_symbols("t"), order="none"
    )
    reduced = list(printed_exprs)
    for k, expr in zip(sharing, reduced_sharing):
        reduced[k] = expr
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
        body.append(f"    # {_comment(node)}{(notes or {}).get(id(node), '')}".replace("\n", " ").replace("\r", " "))
        if expr is None:
            continue
        if isinstance(expr, tuple):  # a user op defined by compute(): called back
            _, index, arg_exprs = expr
            args = "".join(f"{code(a)}, " for a in arg_exprs)
            body.append(f"    {symbol} = call_compute(user_ops[{index}], ({args}))")
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
