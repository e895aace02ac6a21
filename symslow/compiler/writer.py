"""The writing of a program, node by node in order: each node's formula printed by the backend's printer with its
inputs' code in place of their symbols, a node read once fused into its reader's expression, a node read more
often (or grown too big) given a line of its own."""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import replace

import numpy as np
import sympy

from ..backends import Backend
from ..graph import Node
from ..leaves import Constant
from ..interpreter import compute
from ..ops.base import Operation
from ..ops.elementwise_op import ElementwiseExpr, ElementwiseOp
from ..ops.linalg import matmul
from ..ops.reduce import broadcast_like, fill_like
from ..ops.state import assign, group
from ..printing import ArrayTranspose, MatmulT
from .code import (ATOM, NUMBER, _TOKEN, Code, _Line, _closing, _comment, _fill, _fresh, _name, _names_of, _nesting,
                   _number, _precedence)
from .schedule import _broadcast, _printable

# A fused expression is cut where it would nest deeper than this many parentheses or grow longer than this many
# characters: Python's parser refuses 200 levels, and a long line is hard to read. (NumPy computes a line of many
# operations no faster than the same operations on several lines.)
MAX_FUSED_DEPTH = 12
MAX_FUSED_LENGTH = 320


class _Writer:
    """The code of every node, and the lines written so far, while one program is compiled."""

    def __init__(self, backend: Backend, known: dict, formulas: dict, drawn: set = frozenset()):
        self.backend, self.known, self.formulas, self.drawn = backend, known, formulas, drawn
        self.printer = backend.code_printer()
        self.code: dict[int, Code] = {}
        self.lazy: dict[int, tuple | None] = {}  # the shape a node's code evaluates to, where known (see _lazy)
        self.values: dict[int, tuple] = {}  # (value, full?) of the nodes computed at compile time
        self.lines: list[_Line] = []
        self.constants: list[tuple[str, np.ndarray, str]] = []  # (name, value, comment) of the `constants` argument
        self.user_ops: list[Operation] = []
        self.draws: list[Operation] = []  # random ops drawn before the step (Backend.hoists_draws)
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
        if key in self.drawn:  # a random draw of known shape: made before the step, passed in with the feeds
            self.draws.append(node)
            self.code[key], self.lazy[key] = _name(self.new_name(), fresh=True), known.get(key)
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
