"""The code of one node while a program is written: a name, a number or an expression (:class:`Code`), a line
of the program (:class:`_Line`), and how code is put into a template in its place, parenthesised as Python's
precedence demands (:func:`_fill`)."""

from __future__ import annotations

import ast
import re
import threading
from dataclasses import dataclass
from typing import Any

import sympy

from ..graph import Node, format_shape


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
