"""From graph to one Python function: schedule, fold, fuse, print, exec.

1. **schedule**: only the nodes the fetches need, each after its inputs;
2. **fold**: a node computed from constants alone is computed now, by NumPy in the node's dtype (the interpreter's
   own step), and becomes a constant: a number in the code, or an array of the ``constants`` argument;
3. **fuse**: a node used once, by a node the compiler prints, is written into its consumer's expression, so that a
   chain of elementwise ops (and the ``sum`` or ``@`` that consumes it) becomes one line. The expression is cut, and
   the part so far given a name of its own, where it would grow past :data:`MAX_FUSED_DEPTH` levels of parentheses
   or :data:`MAX_FUSED_LENGTH` characters, or where the consumer's formula would compute it twice;
4. **print**: each node's formula is printed once, by the backend's SymPy printer, with its inputs as placeholders,
   and the inputs' code is put in their place; nodes become ``v0, v1, ...``, pieces a structural formula uses twice
   ``t0, t1, ...``; user-given names appear only in comments, escaped; a part of a line written exactly as an
   earlier line reads that line's name (the gradient of ``relu`` reads the relu's output);
5. **exec** once; the function is cached by the graph for this combination of fetches and feeds.

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

import ast
import itertools
import linecache
import re
import threading
import weakref
from collections import Counter
from dataclasses import dataclass, replace
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import sympy

from .backends import Backend
from .graph import Node, format_shape, needs_feed_error, topological_order
from .leaves import Constant, Placeholder, Variable
from .interpreter import compute
from .ops.base import Operation, call_compute, constants_as_symbols, operand
from .ops.elementwise_op import ElementwiseExpr, ElementwiseOp
from .ops.linalg import matmul
from .ops.reduce import broadcast_like, fill_like
from .ops.state import assign, check_one_assignment_each, group
from .printing import ArrayTranspose, MatmulT

# A fused expression is cut where it would nest deeper than this many parentheses or grow longer than this many
# characters: Python's parser refuses 200 levels, and a long line is hard to read. (NumPy computes a line of many
# operations no faster than the same operations on several lines.)
MAX_FUSED_DEPTH = 12
MAX_FUSED_LENGTH = 320

# A placeholder fed more than this many shapes (in runs of one combination of fetches) gets programs specialised to
# the first ones only; any other shape runs the program compiled for its static shape, which takes every size.
MAX_SPECIALIZED_SHAPES = 8

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
    filename: str = ""  # the name its source has in tracebacks (and in linecache while the program lives)


@dataclass(frozen=True)
class Code:
    """The code of one node's value: a name, a number, or an expression still to be written into its consumer."""

    text: str
    precedence: int  # how tightly it binds as an operand (see _precedence): 6 for a name or a call
    names: frozenset = frozenset()  # the named values it reads
    shape_names: frozenset = frozenset()  # the named values whose shapes decide its shape
    depth: int = 0  # how deep its parentheses nest
    value: Any = None  # a number: its value, a NumPy scalar of its dtype
    typed: str = ""  # a number: its code as a scalar of its dtype (``numpy.float32(0.5)``)
    fresh: bool = False  # it computes a new array (arithmetic), no one's view
    parts: tuple = ()  # the nodes written into it
    transposed: "Code | None" = None  # ``x.T``: the code of x (a matmul then prints ``a @ b.T`` as one product)

    @property
    def is_name(self) -> bool:
        return self.names == {self.text}

    @property
    def duplicable(self) -> bool:
        """A name or a number: writing it twice computes nothing twice."""
        return self.value is not None or self.is_name


def _name(text: str, fresh: bool = False) -> Code:
    return Code(text, ATOM, frozenset([text]), frozenset([text]), fresh=fresh)


@dataclass
class _Line:
    node: Node
    name: str | None  # None: a comment only (a group)
    text: str | None
    names: frozenset  # the named values it reads
    note: str = ""
    kept: bool = False  # computed even if no result reads it (a user op: it may draw random numbers)


_TOKEN = re.compile(r"__a(\d+)__")


def _comment(node: Node) -> str:
    text = f"{node.name!r} ({node.op_type!r}, shape {format_shape(node.shape)})"
    return text.replace("\n", " ").replace("\r", " ")


def specialized_shapes(graph: Any, fetches: Sequence[Node],
                       fed: Mapping[Placeholder, tuple]) -> dict[Placeholder, tuple]:
    """The fed shapes to specialise the program for these fetches to (see :data:`MAX_SPECIALIZED_SHAPES`).

    A workload cycling through many batch sizes compiles a few programs and then none: the shapes seen first keep
    their programs, every later one shares the program of unknown size.

    Example:
        >>> import numpy as np, symslow as ts
        >>> graph = ts.Graph()
        >>> with graph.as_default():
        ...     x = ts.placeholder(ts.float64, shape=(None,))
        ...     y = 2 * x
        ...     session = ts.Session()
        ...     for n in range(1, 21):
        ...         _ = session.run(y, {x: np.ones(n)})
        >>> len(graph.compile_cache)  # one program per size up to 8, then one for every size
        9
    """
    with _history_lock:
        history = _histories.setdefault(graph, {})
        if len(history) > 1024:  # many combinations of fetches: start counting again
            history.clear()
        # by the nodes' ids, which hold no reference to the graph (the graph's nodes keep them while it lives)
        seen = history.setdefault(tuple(id(n) for n in fetches), {})
        shapes = {}
        for placeholder, shape in fed.items():
            known = seen.setdefault(id(placeholder), set())
            if shape not in known and len(known) < MAX_SPECIALIZED_SHAPES:
                known.add(shape)
            if shape in known:
                shapes[placeholder] = shape
    return shapes


_histories: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()  # graph -> fetches -> placeholder -> shapes
_history_lock = threading.Lock()


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
    known = _known_shapes(order, shapes or {})

    # the inputs whose values each node reads (an input that only lends its shape, once shapes are known, is not
    # computed for it), the nodes the results need, and how many of them read each node
    formulas: dict[int, tuple] = {}
    reads = {id(node): _reads(node, known, formulas) for node in order}
    live = {id(n) for n in fetches} | {id(n) for n in updates}
    for node in reversed(order):
        if id(node) in live:
            live.update(id(i) for i in reads[id(node)])
    uses: Counter = Counter()
    opaque_consumer: set[int] = set()
    for node in order:
        if id(node) in live:
            for input_node in reads[id(node)]:
                uses[id(input_node)] += 1
                if not _printable(node):
                    opaque_consumer.add(id(input_node))
    targets = {id(n) for n in fetches if not isinstance(n, group)} | {id(n) for n in updates}

    writer = _Writer(backend, known, formulas)
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
        if id(node) in writer.code or id(node) not in live:
            continue
        writer.visit(node)
        if id(node) in writer.code and (
            id(node) in targets or id(node) in opaque_consumer or uses[id(node)] > 1
        ) and writer.code[id(node)].value is None:
            writer.materialize(node)

    results = [writer.full(n) for n in fetches if not isinstance(n, group)] + [writer.full(n) for n in updates]
    lines = _live(_reuse_lines(writer.lines), results)
    needed = set().union(*(line.names for line in lines), *(r.names for r in results))
    constant_values = [(name, value, note) for name, value, note in writer.constants if name in needed]
    source = _print_source(lines, writer, placeholders, variables, constant_values, fetches, updates, backend)
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
        initial_nodes=any(v.initial_node is not None for v in variables),
        filename=filename,
    )
    weakref.finalize(program, linecache.cache.pop, filename, None)  # an evicted program leaves nothing behind
    return program


class _Writer:
    """The code of every node, and the lines written so far, while one program is compiled."""

    def __init__(self, backend: Backend, known: dict, formulas: dict):
        self.backend, self.known, self.formulas = backend, known, formulas
        self.printer = backend.code_printer()
        self.code: dict[int, Code] = {}
        self.lazy: dict[int, tuple | None] = {}  # the shape a node's code evaluates to, where known (see _lazy)
        self.values: dict[int, tuple] = {}  # (value, full?) of the nodes computed at compile time
        self.lines: list[_Line] = []
        self.constants: list[tuple[str, np.ndarray, str]] = []  # (name, value, comment) of the `constants` argument
        self.user_ops: list[Operation] = []
        self._names = itertools.count()
        self._pieces = itertools.count()

    def new_name(self) -> str:
        return f"v{next(self._names)}"

    # one node ----------------------------------------------------------------------------------------------------
    def visit(self, node: Node) -> None:
        known, key = self.known, id(node)
        if isinstance(node, Constant):  # a scalar: a number in its consumers' code
            self.set_value(node, node.value)
            return
        if isinstance(node, group):
            self.lines.append(_Line(node, None, None, frozenset()))
            return
        if not _printable(node):  # a user op (compute() only): called back, with its inputs' full values
            self.user_ops.append(node)
            args = [self.operand(i, 1) for i in node.input_nodes]
            args = [self.full_code(i, a) for i, a in zip(node.input_nodes, args)]
            text = f"call_compute(user_ops[{len(self.user_ops) - 1}], ({''.join(a.text + ', ' for a in args)}))"
            name = self.new_name()
            self.lines.append(_Line(node, name, text, frozenset().union(*(a.names for a in args)), kept=True))
            self.code[key], self.lazy[key] = _name(name), known.get(key)
            return
        if self.fold(node):
            return
        if isinstance(node, fill_like) and key in known:  # a number, broadcast by the expressions that use it
            self.set_value(node, np.asarray(node.value, dtype=node.dtype or np.float64))
            return
        if isinstance(node, broadcast_like) and key in known and id(node.input_nodes[0]) in known:
            self.broadcast(node)
            return
        expr, symbols = self.formulas[key]
        if not expr.free_symbols and expr.is_Number:  # a count, once the shapes are known: a number
            self.set_value(node, np.asarray(_number(expr), dtype=node.dtype or np.float64))
            return
        elementwise = isinstance(node, (ElementwiseOp, ElementwiseExpr))
        code = self.render(node, expr, symbols, elementwise)
        if elementwise:
            present = [i for i, s in zip(node.input_nodes, symbols) if s in expr.free_symbols]
            lazy = _broadcast([self.lazy.get(id(i)) for i in present])
            sources = frozenset().union(*(self.code[id(i)].shape_names for i in node.input_nodes if id(i) in self.code))
            if not sources <= code.names:  # an input that decides the shape is not in the formula
                code, lazy = self.keep_shape(node, code, sources)
            code = replace(code, shape_names=sources)
        else:
            lazy = known.get(key)
        self.code[key], self.lazy[key] = code, lazy

    def render(self, node: Operation, expr: sympy.Expr, symbols: list, elementwise: bool) -> Code:
        """The node's formula printed with its inputs' code in place of their symbols."""
        inputs = node.input_nodes
        index: dict = {}  # each symbol's first input
        for k, s in enumerate(symbols):
            if isinstance(s, sympy.Symbol):
                index.setdefault(s, k)
        pieces: list[tuple[str, str]] = []
        if not elementwise and getattr(expr, "op", None) is matmul:
            expr = self.matmul_t(node, expr, symbols, index)
        if not elementwise and _sharing([expr]):  # a structural formula using a piece twice: computed once
            expr, pieces = self.shared_pieces(expr, index)
        template = _template(self.backend, node, expr, index, pieces, elementwise)
        counts: Counter = Counter()
        for text in [*(t for _, t in pieces), template]:
            for k in _TOKEN.findall(text):
                counts[id(inputs[int(k)])] += 1
        args: dict[int, Code] = {}
        for k in {int(k) for text in [*(t for _, t in pieces), template] for k in _TOKEN.findall(text)}:
            code = self.operand(inputs[k], counts[id(inputs[k])])
            args[k] = code if elementwise else self.full_code(inputs[k], code)
        # a number is written as a Python number where it meets an array of its dtype (or of a dtype known only at run
        # time, a bare placeholder's, as the interpreter does), elsewhere as a scalar of its dtype
        array_dtypes = {np.dtype(inputs[k].dtype) if inputs[k].dtype is not None else None
                        for k, c in args.items() if c.value is None}
        for k, c in args.items():
            if c.value is not None and c.value.dtype not in array_dtypes and None not in array_dtypes:
                args[k] = replace(c, text=c.typed, precedence=ATOM)
        for name, text in pieces:
            filled = _fill(text, args)
            self.lines.append(_Line(node, name, filled, _names_of(args, text)))
        whole = _TOKEN.fullmatch(template)
        if whole and not pieces:  # the node's value is its input's, unchanged (a sum over no axis, an assign)
            code = args[int(whole.group(1))]
            return replace(code, parts=(*code.parts, node))
        text = _fill(template, args)
        used = [args[int(k)] for k in set(_TOKEN.findall(template))]
        names = frozenset().union(*(c.names for c in used), (n for n, _ in pieces))
        parts = tuple(dict.fromkeys(p for c in args.values() for p in c.parts))
        transposed = args[0] if isinstance(expr, ArrayTranspose) and 0 in args else None
        return Code(text, _precedence(text), names, names, _nesting(text), fresh=_fresh(expr, used),
                    parts=(*parts, node), transposed=transposed)

    def operand(self, node: Node, count: int) -> Code:
        """The code that stands for ``node`` in its consumer, named first if it is to be read ``count`` times or
        has grown too big to be written into another expression."""
        code = self.code[id(node)]
        if code.duplicable:
            return code
        if count > 1 or code.depth >= MAX_FUSED_DEPTH or len(code.text) >= MAX_FUSED_LENGTH:
            return self.materialize(node, full=False)
        return code

    def materialize(self, node: Node, full: bool = True) -> Code:
        """Give ``node``'s value a line of its own (at its full shape unless ``full`` is False)."""
        key = id(node)
        code = self.full(node) if full else self.code[key]
        if code.is_name or code.value is not None:  # another node's value, unchanged, or a number
            self.code[key] = code
            if full:
                self.lazy[key] = self.known.get(key)
            return code
        name = self.new_name()
        parts = [p for p in code.parts if p is not node]
        note = "; fuses " + ", ".join(f"{p.name!r} ({p.op_type})" for p in parts) if parts else ""
        text = code.text[1:-1] if code.text.startswith("(") and _closing(code.text) == len(code.text) - 1 else code.text
        self.lines.append(_Line(node, name, text, code.names, note))
        named = replace(_name(name, code.fresh), transposed=code.transposed)
        self.code[key] = named
        if full:
            self.lazy[key] = self.known.get(key)
        return named

    def full(self, node: Node) -> Code:
        """The code of ``node`` at the node's full shape (a number is typed where it is the whole value)."""
        code = self.full_code(node, self.code[id(node)])
        if code.value is not None:
            return replace(code, text=code.typed, precedence=ATOM)
        return code

    def full_code(self, node: Node, code: Code) -> Code:
        shape, lazy = self.known.get(id(node)), self.lazy.get(id(node))
        if shape is None or lazy in (None, shape):
            return code
        inner = code.typed if code.value is not None else code.text
        text = self.printer.broadcast_to(inner, repr(tuple(shape)))
        return replace(code, text=text, precedence=ATOM, value=None, typed="", depth=code.depth + 1, fresh=False)

    def set_value(self, node: Node, value: np.ndarray, full: bool = True) -> None:
        """``node``'s value known at compile time: a number (broadcast by the expressions that use it), or an array
        of the ``constants`` argument. ``full``: the value has the node's shape (a number may stand for an array)."""
        value = np.asarray(value)
        if value.shape == () and value.dtype.kind in "biufc":
            weak, typed = self.printer.literal(value)
            self.code[id(node)] = Code(weak, min(_precedence(weak), NUMBER), value=value[()], typed=typed)
            self.lazy[id(node)] = ()
            self.values[id(node)] = (value, full and self.known.get(id(node)) == ())
            return
        value = np.array(value)
        value.setflags(write=False)
        name = self.new_name()
        self.constants.append((name, value, f"{_comment(node)}, computed from constants when compiled"))
        self.code[id(node)] = _name(name)
        self.lazy[id(node)] = value.shape
        self.values[id(node)] = (value, full and self.known.get(id(node)) == value.shape)

    def fold(self, node: Operation) -> bool:
        """Compute now a node whose inputs are all known (NumPy, in the node's dtype, as the interpreter does)."""
        inputs = node.input_nodes
        if not inputs or isinstance(node, assign) or any(id(i) not in self.values for i in inputs):
            return False
        elementwise = isinstance(node, (ElementwiseOp, ElementwiseExpr))
        if not elementwise and not all(self.values[id(i)][1] for i in inputs):
            return False  # a number that stands for a broadcast array: a reduction needs the array
        try:
            with np.errstate(all="ignore"):
                value = compute(node, [self.values[id(i)][0] for i in inputs])
        except Exception:  # the run reports it, naming the node
            return False
        full = all(self.values[id(i)][1] for i in inputs)
        self.set_value(node, value, full=full)
        return True

    def broadcast(self, node: broadcast_like) -> None:
        """``broadcast_like`` of a known shape: its gradient with the reduced axes put back as size 1, left to the
        elementwise expressions that use it to broadcast."""
        g = node.input_nodes[0]
        g_full, g_lazy = self.known[id(g)], self.lazy.get(id(g))
        if g_lazy is None:  # an expression of unknown shape has its node's full shape
            g_lazy = g_full
        code = self.operand(g, 1)
        if g_lazy == ():
            self.code[id(node)], self.lazy[id(node)] = code, ()
            if id(g) in self.values:
                self.values[id(node)] = (self.values[id(g)][0], False)
            return
        if g_lazy != g_full:
            code = self.full_code(g, code)
        if node.axis is None:
            self.code[id(node)], self.lazy[id(node)] = code, g_full
            return
        axes = tuple(a % (len(g_full) + len(node.axis)) for a in node.axis)
        shape = list(g_full)
        for a in sorted(axes):
            shape.insert(a, 1)
        text = self.printer.expand_dims(code.text, axes)
        self.code[id(node)] = replace(code, text=text, precedence=ATOM, depth=code.depth + 1, fresh=False,
                                      parts=(*code.parts, node), transposed=None)
        self.lazy[id(node)] = tuple(shape)

    def keep_shape(self, node: Node, code: Code, sources: frozenset) -> tuple[Code, tuple | None]:
        """``code`` broadcast to the shape its node has, which an input absent from the formula decides."""
        shape = self.known.get(id(node))
        inner = code.typed if code.value is not None else code.text
        if shape is not None:
            text = self.printer.broadcast_to(inner, repr(tuple(shape)))
        else:
            shapes = [self.printer.shape(r) for r in sorted(sources)]
            text = self.printer.broadcast_to(inner, self.printer.call("broadcast_shapes", *shapes))
        return replace(code, text=text, precedence=ATOM, names=code.names | sources, value=None, typed="",
                       depth=code.depth + 2, fresh=False), shape

    def matmul_t(self, node: Operation, expr: sympy.Expr, symbols: list, index: dict) -> sympy.Expr:
        """``a @ b.T`` or ``a.T @ b`` as one :class:`MatmulT` when one operand is a transpose written into it."""
        a, b = expr.args
        flags = []
        for s in (a, b):
            k = index.get(s)
            code = self.code.get(id(node.input_nodes[k])) if k is not None else None
            flags.append(code is not None and code.transposed is not None and not code.is_name)
        if flags[0] == flags[1]:
            return expr
        k = index[a if flags[0] else b]
        inner = node.input_nodes[k]
        self.code[id(inner)] = replace(self.code[id(inner)].transposed, parts=self.code[id(inner)].parts)
        return MatmulT(a, b, sympy.Integer(flags[0]), sympy.Integer(flags[1]))

    def shared_pieces(self, expr: sympy.Expr, index: dict) -> tuple[sympy.Expr, list[tuple[sympy.Symbol, sympy.Expr]]]:
        replacements, (reduced,) = sympy.cse([expr], symbols=sympy.numbered_symbols("t", cls=sympy.Dummy),
                                             order="none")
        named = [(sympy.Symbol(f"t{next(self._pieces)}"), symbol, piece) for symbol, piece in replacements]
        renames = {symbol: new for new, symbol, _ in named}
        pieces = [(new, piece.xreplace(renames)) for new, _, piece in named]
        return reduced.xreplace(renames), pieces


def _template(backend: Backend, node: Operation, expr: sympy.Expr, index: dict, pieces: list,
              elementwise: bool) -> str:
    """``expr`` printed with each input symbol as ``__a<k>__`` (an elementwise formula's, cached: its symbols stand
    for arguments by position, so that many nodes have one formula)."""
    key = (backend.name, expr, tuple(index.items())) if elementwise and not pieces else None
    if key is not None and key in _templates:
        return _templates[key]
    names = {s: f"__a{k}__" for s, k in index.items()}
    names.update({symbol: str(symbol) for symbol, _ in pieces})
    for k, (symbol, piece) in enumerate(pieces):
        pieces[k] = (str(symbol), _print(backend, node, piece, names))
    template = _print(backend, node, expr, names)
    if key is not None:
        if len(_templates) > 4096:
            _templates.clear()
        _templates[key] = template
    return template


_templates: dict = {}


def _print(backend: Backend, node: Node, expr: sympy.Expr, names: dict) -> str:
    try:
        return backend.print_code(expr, names)
    except Exception as error:  # SymPy's strict printing: an op with no print method for this backend
        raise NotImplementedError(
            f"Backend {backend.name!r} cannot print op {node.op_type!r} (node {node.name!r}): {error}"
        ) from None


def _fill(template: str, args: dict[int, Code]) -> str:
    """The template with each input's code in place of its ``__a<k>__``, in parentheses where the place needs them
    (``a - (b - c)``, ``a * (b * c)``: the code computes what the formula says, in its order)."""
    needs = _needs(template)

    def code(match: re.Match) -> str:
        k = int(match.group(1))
        arg = args[k]
        need, right = needs.get(k, (0, False))
        if arg.precedence < need or right and arg.precedence == UNARY:  # `a*(-b)` rather than `a*-b`
            return f"({arg.text})"
        return arg.text

    return _TOKEN.sub(code, template)


# How tightly code binds, as Python parses it: an operand binding less tightly than its place needs is put in
# parentheses. A number binds as tightly as a name, except before `.T` or `[...]` (`2.0.T` is not a transpose).
ADD, MUL, UNARY, POW, NUMBER, ATOM = 1, 2, 3, 4, 5, 6
_BINARY = {ast.Add: ADD, ast.Sub: ADD, ast.Mult: MUL, ast.Div: MUL, ast.MatMult: MUL, ast.FloorDiv: MUL, ast.Mod: MUL,
           ast.Pow: POW}


def _precedence(text: str) -> int:
    """How tightly ``text`` binds as an operand (0: it always needs parentheses)."""
    if text.startswith("(") and _closing(text) == len(text) - 1:
        return ATOM
    try:
        with _parse_lock:
            node = ast.parse(text, mode="eval").body
    except SyntaxError:
        return 0
    if isinstance(node, (ast.Name, ast.Attribute, ast.Call, ast.Subscript, ast.List, ast.Tuple)):
        return ATOM
    if isinstance(node, ast.Constant):
        return NUMBER if not isinstance(node.value, complex) else 0
    if isinstance(node, ast.UnaryOp):
        return UNARY
    if isinstance(node, ast.BinOp):
        return _BINARY.get(type(node.op), 0)
    return 0


def _closing(text: str) -> int:
    """The index of the parenthesis that closes the one ``text`` starts with."""
    depth = 0
    for k, c in enumerate(text):
        depth += c == "("
        depth -= c == ")"
        if depth == 0:
            return k
    return -1


def _needs(template: str) -> dict[int, tuple[int, bool]]:
    """For each ``__a<k>__`` of a template, the least precedence an operand in its place may have unparenthesised,
    and whether it is the right operand of a binary operator somewhere (where a negation is parenthesised)."""
    needs = _needs_cache.get(template)
    if needs is not None:
        return needs
    needs = {}

    def need(node: ast.AST, level: int, right: bool = False) -> None:
        if isinstance(node, ast.Name) and (match := _TOKEN.fullmatch(node.id)):
            k = int(match.group(1))
            before, was_right = needs.get(k, (0, False))
            needs[k] = (max(before, level), was_right or right)

    with _parse_lock:
        tree = ast.parse(template, mode="eval")
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp):
            level = _BINARY.get(type(node.op), ATOM)
            if level == POW:  # right-associative: the base binds tighter, the exponent may be a negation
                need(node.left, NUMBER)
                need(node.right, UNARY, True)
            else:  # left-associative: a + b + c is (a + b) + c, so only the left operand may be a sum
                need(node.left, level)
                need(node.right, level + 1, True)
        elif isinstance(node, ast.UnaryOp):
            need(node.operand, POW)
        elif isinstance(node, (ast.Attribute, ast.Subscript)):
            need(node.value, ATOM)
        elif isinstance(node, ast.Call):
            need(node.func, ATOM)
        elif isinstance(node, (ast.Compare, ast.BoolOp, ast.IfExp)):
            for child in ast.iter_child_nodes(node):
                need(child, ATOM)
    if len(_needs_cache) > 4096:
        _needs_cache.clear()
    _needs_cache[template] = needs
    return needs


_needs_cache: dict = {}
_parse_lock = threading.Lock()  # CPython 3.11's ast.parse is not safe in several threads at once


def _names_of(args: dict[int, Code], template: str) -> frozenset:
    return frozenset().union(*(args[int(k)].names for k in set(_TOKEN.findall(template))))


def _nesting(text: str) -> int:
    depth = deepest = 0
    for c in text:
        if c in "([{":
            depth += 1
            deepest = max(deepest, depth)
        elif c in ")]}":
            depth -= 1
    return deepest


def _fresh(expr: sympy.Expr, args: list[Code]) -> bool:
    """Whether the code of ``expr`` makes a new array: arithmetic does; a bare input is its input's value."""
    if isinstance(expr, (sympy.Add, sympy.Mul, sympy.Pow)):
        return True
    return isinstance(expr, sympy.Symbol) and len(args) == 1 and args[0].fresh


def _number(expr: sympy.Expr):
    return int(expr) if expr.is_Integer else complex(expr) if not expr.is_real else float(expr)


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


def _specialized(node: Operation, known: dict) -> sympy.Expr:
    """The node's formula, with what the known shapes of its inputs decide decided (see
    :meth:`~symslow.ops.base.Operation.formula_for_shapes`)."""
    shapes = [known.get(id(i)) for i in node.input_nodes]
    if None in shapes or id(node) not in known:
        return node.formula(*[operand(i) for i in node.input_nodes])
    return node.formula_for_shapes(*shapes)


def _fold_transposes(expr: sympy.Basic) -> sympy.Basic:
    """``a @ b.T`` and ``a.T @ b`` in a structural formula as :class:`MatmulT`."""
    if expr.is_Atom or not expr.args:
        return expr
    args = [_fold_transposes(a) for a in expr.args]
    if getattr(expr, "op", None) is matmul and len(args) == 2:
        ta, tb = (isinstance(a, ArrayTranspose) for a in args)
        if ta != tb:  # one transposed operand (both: leave it as it is)
            a, b = (x.args[0] if isinstance(x, ArrayTranspose) else x for x in args)
            return MatmulT(a, b, sympy.Integer(ta), sympy.Integer(tb))
    return expr.func(*args) if any(a is not b for a, b in zip(args, expr.args)) else expr


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
        expr, symbols = formulas[id(node)] = node.exact_formula()
        if id(node) not in known:
            return list(inputs)  # the shape may come from any input at run time
    else:
        with constants_as_symbols():  # scalar constants are printed by the compiler, in their dtypes
            expr = _fold_transposes(_specialized(node, known))
            symbols = [operand(i) for i in inputs]
        formulas[id(node)] = (expr, symbols)
    free = expr.free_symbols
    return [i for i, s in zip(inputs, symbols) if s in free]


def _live(lines: list[_Line], results: list[Code]) -> list[_Line]:
    """The lines that the results need, in order: a node that only lent its shape is not computed."""
    needed = set().union(*(r.names for r in results)) if results else set()
    kept = []
    for line in reversed(lines):
        if line.name is not None and line.name not in needed and not line.kept:
            continue
        kept.append(line)
        needed |= line.names
    return kept[::-1]


def _reuse_lines(lines: list[_Line]) -> list[_Line]:
    """Each line with a part written as the whole of an earlier line reads that line's name instead.

    The code assigns each name once and changes no value in place, so the part would compute the earlier line's
    value again: the gradient of ``relu``, ``sign(maximum(a, 0))``, reads the relu's output. A line is never replaced
    as a whole (each still makes its own array), and a user op's line (which may draw random numbers) is never read
    for another."""
    seen: dict[str, str] = {}  # a line's code -> its name
    reused = []
    for line in lines:
        original = text = line.text
        if text is None:
            reused.append(line)
            continue
        if seen and text.isascii():  # (ast's offsets count bytes)
            with _parse_lock:
                tree = ast.parse(text, mode="eval")
            spans: list[tuple[int, int, str]] = []
            todo = list(ast.iter_child_nodes(tree.body))  # the parts, not the whole
            while todo:
                node = todo.pop()
                name = None
                if isinstance(node, (ast.Call, ast.BinOp, ast.UnaryOp)):
                    name = seen.get(text[node.col_offset:node.end_col_offset])
                if name is None:
                    todo.extend(ast.iter_child_nodes(node))
                else:
                    spans.append((node.col_offset, node.end_col_offset, name))
            if spans:
                for begin, end, name in sorted(spans, reverse=True):  # the parts found do not overlap
                    text = text[:begin] + name + text[end:]
                line = replace(line, text=text, names=line.names | {name for _, _, name in spans})
        if line.name is not None and not line.kept:
            seen.setdefault(original, line.name)
        reused.append(line)
    return reused


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


def _print_source(lines: list[_Line], writer: _Writer, placeholders, variables, constants, fetches, updates,
                  backend: Backend) -> str:
    body: list[str] = []

    def unpack(nodes, argument):
        if nodes:
            body.append(f"    {', '.join(writer.code[id(n)].text for n in nodes)}, = {argument}")
            for n in nodes:
                body.append(f"    # {writer.code[id(n)].text}: {_comment(n)}")

    unpack(placeholders, "feeds")
    unpack(variables, "variables")
    if constants:
        body.append(f"    {', '.join(name for name, _, _ in constants)}, = constants")
        for name, _, note in constants:
            body.append(f"    # {name}: {note}")
    for line in lines:
        body.append(f"    # {_comment(line.node)}{line.note}".replace("\n", " ").replace("\r", " "))
        if line.text is not None:
            body.append(f"    {line.name} = {line.text}")

    def value(node):
        return "None" if isinstance(node, group) else writer.full(node).text

    fetched = ", ".join(value(n) for n in fetches)
    new_values = ", ".join(value(n) for n in updates)
    body.append(f"    return ({fetched}{',' if len(fetches) == 1 else ''}), ({new_values}{',' if len(updates) == 1 else ''})")
    header = [
        "def compiled_step(feeds, variables, constants):",
        f'    """Generated by symslow ({backend.name} backend)."""',
        "    # fetches: " + ", ".join(_comment(n) for n in fetches),
    ]
    return "\n".join(header + body) + "\n"
