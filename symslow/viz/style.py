"""How diagrams look, in one place: the style of each kind of node, the legend, and the text inside labels.

Conventions (from micrograd, PyTensor's ``pydotprint`` and torchviz): values are boxes, operations are rounded boxes
holding their formula; placeholders are green, Variables blue, constants white with a dashed border, the loss coral
and gradient nodes orange with dashed edges. Every diagram carries a legend saying so.

Formulas are printed from each node's own SymPy ``expr`` (in its inputs' symbols) as Graphviz HTML-like labels, with
sub- and superscripts; user names can hold any character and are escaped. A structural op (matmul, a sum, a
slice) writes its own text, by its ``diagram_text`` (see :meth:`symslow.ops.base.Operation.diagram_text`), with the
printer's ``escape`` and ``number``.
"""

from __future__ import annotations

import html
from typing import Any, Mapping

import numpy as np
import sympy
from sympy.printing.precedence import PRECEDENCE
from sympy.printing.str import StrPrinter

from ..graph import Node, format_shape
from ..leaves import Constant, Placeholder, Variable
from ..ops.base import OpFunction

FONT = "Helvetica"

# The palette: every colour of the diagrams, of the steps of backpropagation and of their page, named once here
PLACEHOLDER_FILL, PLACEHOLDER_BORDER = "#c7e9c0", "#238b45"  # green: fed
VARIABLE_FILL, VARIABLE_BORDER = "#c6dbef", "#2171b5"  # blue: trained
GREY = "#555555"  # a constant's border, edges, small text
OPERATION_FILL, OPERATION_BORDER = "#f0f0f0", "#444444"
LOSS_FILL, LOSS_BORDER = "#fb8072", "#a50f15"  # coral; the border's red also writes the page's formulas
GRADIENT_FILL, GRADIENT_BORDER = "#fdb863", "#b35806"  # orange, the gradient graph's edges too
EDGE_TEXT = "#333333"
GRADIENT_INPUT_EDGE, GRADIENT_INPUT_TEXT = "#bbbbbb", "#999999"  # a forward value a gradient node reads
LEGEND_BORDER = "#999999"
GRADIENT_OF = "#e66101"  # the dashed "is the gradient of" edge
NOW, NOW_FILL = "#d7301f", "#ffff99"  # the node processed in this step
DONE = "#1a9850"  # a node whose gradient is complete
PENDING = "#777777"  # the steps still to do
PAGE_TEXT, PAGE_BACKGROUND, PAGE_RULE, PAGE_FOCUS = "#222", "#fff", "#ddd", "#9ecae1"

# name scopes: a closed scope is one box (a "stack" of its nodes), an open one a cluster around them
SCOPE_FILL, SCOPE_BORDER = "#dadaeb", "#54278f"
OPEN_SCOPE_FILL, OPEN_SCOPE_BORDER = "#f7f5fb", "#9e9ac8"
GRADIENT_SCOPE_FILL, GRADIENT_SCOPE_BORDER = "#fee0b6", "#b35806"
OPEN_GRADIENT_SCOPE_FILL, OPEN_GRADIENT_SCOPE_BORDER = "#fff7ec", "#e08214"

# kind -> Graphviz node attributes
NODE_STYLES: dict[str, dict[str, str]] = {
    "placeholder": {"shape": "box", "style": "filled", "fillcolor": PLACEHOLDER_FILL, "color": PLACEHOLDER_BORDER},
    "variable": {"shape": "box", "style": "filled", "fillcolor": VARIABLE_FILL, "color": VARIABLE_BORDER},
    "constant": {"shape": "box", "style": "dashed,filled", "fillcolor": "white", "color": GREY},
    "operation": {"shape": "box", "style": "rounded,filled", "fillcolor": OPERATION_FILL, "color": OPERATION_BORDER},
    "loss": {"shape": "box", "style": "rounded,filled,bold", "fillcolor": LOSS_FILL, "color": LOSS_BORDER},
    "gradient": {"shape": "box", "style": "rounded,filled", "fillcolor": GRADIENT_FILL, "color": GRADIENT_BORDER},
    "scope": {"shape": "box3d", "style": "filled", "fillcolor": SCOPE_FILL, "color": SCOPE_BORDER},
    "gradient scope": {"shape": "box3d", "style": "filled", "fillcolor": GRADIENT_SCOPE_FILL,
                       "color": GRADIENT_SCOPE_BORDER},
}
# kind -> Graphviz attributes of a cluster (an open name scope)
CLUSTER_STYLES: dict[str, dict[str, str]] = {
    "open scope": {"style": "rounded,filled", "fillcolor": OPEN_SCOPE_FILL, "color": OPEN_SCOPE_BORDER,
                   "fontcolor": SCOPE_BORDER},
    "open gradient scope": {"style": "rounded,filled", "fillcolor": OPEN_GRADIENT_SCOPE_FILL,
                            "color": OPEN_GRADIENT_SCOPE_BORDER, "fontcolor": GRADIENT_SCOPE_BORDER},
}
LEGEND_TEXT = {
    "placeholder": "placeholder (fed)",
    "variable": "Variable (trained)",
    "constant": "constant",
    "operation": "operation",
    "loss": "loss",
    "gradient": "gradient node",
    "scope": "name scope, closed: one box",
    "gradient scope": "gradient nodes of a name scope",
    "open scope": "name scope, open",
    "open gradient scope": "gradient nodes of a name scope, open",
}
EDGE_STYLE = {"color": GREY, "fontsize": "10", "fontcolor": EDGE_TEXT}
GRADIENT_EDGE_STYLE = {"color": GRADIENT_BORDER, "style": "dashed", "fontsize": "10",
                       "fontcolor": GRADIENT_BORDER}
# Edges of gradient diagrams all constrain the layout (``constraint=false`` crashes Graphviz 2.43's dot): forward
# nodes come before the gradient nodes that use them, and each gradient before the one it is computed from.
GRADIENT_INPUT_STYLE = {"color": GRADIENT_INPUT_EDGE, "style": "dashed", "fontsize": "10",
                        "fontcolor": GRADIENT_INPUT_TEXT, "penwidth": "0.8"}
# drawn from the forward node to its gradient, the diamond at the forward node's end: "∂J/∂x is the gradient of x"
GRADIENT_OF_STYLE = {"color": GRADIENT_OF, "style": "dashed", "dir": "back", "arrowtail": "odiamond",
                     "penwidth": "1.6"}
CURRENT_STYLE = {"fillcolor": NOW_FILL, "color": NOW, "penwidth": "3"}
DONE_STYLE = {"color": DONE, "penwidth": "2"}


def kind_of(node: Node) -> str:
    """``placeholder``, ``variable``, ``constant`` or ``operation``."""
    if isinstance(node, Placeholder):
        return "placeholder"
    if isinstance(node, Variable):
        return "variable"
    if isinstance(node, Constant):
        return "constant"
    return "operation"


def node_id(node: Node) -> str:
    """The deterministic DOT id of a node: its creation index in its graph (``n12``)."""
    return f"n{node.id}"


def escape(text: Any) -> str:
    """Text made safe for a Graphviz HTML-like label (``*`` too, so formulas' operators stay unambiguous); a
    character that prints nothing (a control character, a NUL) shows as its Python escape.

    Example:
        >>> escape('a<b>&"c*"')
        'a&lt;b&gt;&amp;&quot;c&#42;&quot;'
        >>> escape("tab\\tnul\\x00")
        'tab\\\\tnul\\\\x00'
    """
    text = str(text)
    if not text.isprintable():
        text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return html.escape(text, quote=True).replace("&#x27;", "&#39;").replace("*", "&#42;")


NAME_SHOWN = 80  # a longer name shows as its start and its end: labels stay readable, and within Graphviz's limits


def name(text: str) -> str:
    """A node's name for a label, escaped; a long one shortened around an ellipsis.

    Example:
        >>> name("layer1/W<0>")
        'layer1/W&lt;0&gt;'
        >>> name("a" * 100 + "z")
        'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa…aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaz'
    """
    if len(text) > NAME_SHOWN:
        half = (NAME_SHOWN - 1) // 2
        text = text[:half] + "…" + text[-(NAME_SHOWN - 1 - half):]
    return escape(text)


def shape_text(shape: tuple | None) -> str:
    """A static shape as an edge label shows it: ``(None, 28, 28, 32)`` as ``?×28×28×32``.

    Example:
        >>> shape_text((None, 28, 28, 32)), shape_text((10,)), shape_text(()), shape_text(None)
        ('?×28×28×32', '10', 'scalar', 'shape unknown')
    """
    if shape is None:
        return "shape unknown"
    if not shape:
        return "scalar"
    return "×".join("?" if d is None else str(d) for d in shape)


def caption(text: str) -> str:
    """A user's title for a diagram as an HTML-like fragment: escaped, one line per line of the text.

    Example:
        >>> caption("a < b & c\\nsecond line")
        'a &lt; b &amp; c<BR ALIGN="LEFT"/>second line'
    """
    return '<BR ALIGN="LEFT"/>'.join(escape(line) for line in str(text).splitlines())


def legend(kinds: list[str], extra: list[tuple[str, str]] = ()) -> str:
    """An HTML-like label for the legend node: a swatch per kind, then ``(symbol, meaning)`` rows."""
    rows = ['<TR><TD COLSPAN="2"><B>legend</B></TD></TR>']
    for kind in kinds:
        style = NODE_STYLES.get(kind) or CLUSTER_STYLES[kind]
        border = ' STYLE="dashed"' if "dashed" in style["style"] else ""
        rounded = ' STYLE="rounded"' if "rounded" in style["style"] else border
        rows.append(
            f'<TR><TD BGCOLOR="{style["fillcolor"]}" COLOR="{style["color"]}" BORDER="1"{rounded} WIDTH="24">'
            f' </TD><TD ALIGN="LEFT">{escape(LEGEND_TEXT[kind])}</TD></TR>'
        )
    for symbol, meaning in extra:
        rows.append(f'<TR><TD>{symbol}</TD><TD ALIGN="LEFT">{meaning}</TD></TR>')
    return (f'<<TABLE BORDER="1" COLOR="{LEGEND_BORDER}" CELLBORDER="0" CELLSPACING="2" CELLPADDING="2">'
            + "".join(rows) + "</TABLE>>")


# values --------------------------------------------------------------------------------------------------------------
SMALL = 8  # arrays with at most this many elements are shown in full


def format_number(x: float) -> str:
    """A number with 3 significant digits (``0.25``, ``-1.5e+03``)."""
    return f"{x + 0.0:.3g}"  # + 0.0 turns -0.0 into 0.0


def format_value(value: Any, html_rows: bool = True) -> str:
    """A small array in full (rows on lines), a large one as its shape with min / mean / max.

    Example:
        >>> format_value(np.array([[1.0, 2.5], [3.0, 4.0]]), html_rows=False)
        '[[1, 2.5]\\n [3, 4]]'
        >>> format_value(np.arange(100.0), html_rows=False)
        'shape (100,): min 0, mean 49.5, max 99'
    """
    if value is None:
        return ""
    array = np.asarray(value)
    if array.dtype.kind not in "fiub":
        return escape(type(value).__name__)
    if array.size > SMALL or array.ndim > 2:
        if array.size == 0:
            return f"shape {escape(format_shape(array.shape))}: empty"
        return (f"shape {format_shape(array.shape)}: min {format_number(array.min())}, "
                f"mean {format_number(array.mean())}, max {format_number(array.max())}")
    if array.ndim == 0:
        return format_number(array.item())
    if array.ndim == 1:
        return "[" + ", ".join(format_number(x) for x in array) + "]"
    lines = ["[" + ", ".join(format_number(x) for x in row) + "]" for row in array]
    return ("<BR/>" if html_rows else "\n ").join(["[" + lines[0], *lines[1:]]) + "]"


# formulas ------------------------------------------------------------------------------------------------------------
_SUPERSCRIPTS = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def _superscript(text: str) -> str:
    """``2`` as ``²``; anything else as ``^(...)``."""
    if text.lstrip("-").isdigit():
        return text.translate(_SUPERSCRIPTS)
    return f"^({text})" if len(text) > 1 else f"^{text}"


class HtmlFormulaPrinter(StrPrinter):
    """SymPy's string printer writing unicode, escaped for Graphviz HTML-like labels: ``x²``, ``Wᵀ``, ``a·b``.

    It writes no tags: one run of text per line keeps SVG text where Graphviz measured it in every browser.
    ``names`` maps a symbol to the (already escaped) text shown for it, e.g. ``∂J/∂y`` for a gradient's symbol.

    Example:
        >>> x, y = sympy.symbols("x y<1>", real=True)
        >>> HtmlFormulaPrinter().doprint(1 / (1 + sympy.exp(-x)) * y ** 2)
        'y&lt;1&gt;²/(1 + exp(-x))'
    """

    printmethod = "_symslow_html"  # no SymPy object defines it: dispatch goes to the _print_ methods below

    def __init__(self, names: Mapping[sympy.Symbol, str] | None = None):
        super().__init__({"full_prec": False})
        self.names = dict(names or {})

    escape = staticmethod(escape)  # the vocabulary an op's diagram_text writes with
    number = staticmethod(format_number)

    def _print_Symbol(self, expr) -> str:
        return self.names.get(expr) or name(expr.name)

    _print_Dummy = _print_Symbol

    def _print_Float(self, expr) -> str:
        return format_number(float(expr))

    def _print_Mul(self, expr) -> str:
        return super()._print_Mul(expr).replace("*", "·")

    def _print_Pow(self, expr, rational=False) -> str:
        base, exponent = expr.args
        if exponent == sympy.S.Half:
            return f"√({self._print(base)})"
        if exponent.is_number and exponent.is_negative:
            positive = base if exponent == -1 else sympy.Pow(base, -exponent, evaluate=False)
            return f"1/{self.parenthesize(positive, PRECEDENCE['Mul'])}"
        return f"{self.parenthesize(base, PRECEDENCE['Pow'])}{_superscript(self._print(exponent))}"

    def _print_Function(self, expr) -> str:
        if isinstance(expr, OpFunction):  # a structural op says how it reads (Operation.diagram_text)
            return expr.op.diagram_text(self, [self._print(a) for a in expr.args], **expr.attrs)
        return escape(expr.func.__name__) + "(" + ", ".join(self._print(a) for a in expr.args) + ")"

    def _print_Heaviside(self, expr) -> str:
        # the derivative of a kink, with the side it takes at a tie (symslow.ops.elementwise.step)
        x, at_zero = expr.args if len(expr.args) == 2 else (expr.args[0], None)
        relation = {0: "&gt;", 1: "≥"}.get(at_zero)
        return f"[{self._print(x)} {relation} 0]" if relation else f"H({self._print(x)})"

    def _print_Max(self, expr) -> str:
        return "max(" + ", ".join(self._print(a) for a in expr.args) + ")"

    def _print_Piecewise(self, expr) -> str:
        parts = [f"{self._print(e)} if {self._print(c)}" for e, c in expr.args]
        return "{" + "; ".join(parts) + "}"

    def _print_Relational(self, expr) -> str:
        return f"{self._print(expr.lhs)} {escape(expr.rel_op)} {self._print(expr.rhs)}"


def formula_html(expr: sympy.Expr, names: Mapping[sympy.Symbol, str] | None = None) -> str:
    """A node's formula as escaped unicode text for a label.

    Example:
        >>> import symslow as ts
        >>> _ = ts.Graph().as_default()
        >>> x = ts.placeholder(name="x")
        >>> formula_html(ts.sigmoid(x).expr)
        '1/(1 + exp(-x))'
        >>> formula_html(ts.reduce_sum(x, axis=1).expr)
        'Σ(x, axis=1)'
    """
    return HtmlFormulaPrinter(names).doprint(expr)


def html_to_text(fragment: str) -> str:
    """The plain text of an HTML-like label fragment (``x<SUP>2</SUP>`` becomes ``x^2``), for terminals.

    Example:
        >>> html_to_text("e<SUP>-x</SUP> &lt; 1<BR/>ok")
        'e^(-x) < 1\\nok'
    """
    import re

    text = re.sub(r"<SUP>(.*?)</SUP>", lambda m: "^" + (m[1] if len(m[1]) == 1 else f"({m[1]})"), fragment)
    text = re.sub(r"<SUB>(.*?)</SUB>", lambda m: "_" + (m[1] if len(m[1]) == 1 else f"({m[1]})"), text)
    text = text.replace("<BR/>", "\n")
    text = re.sub(r"<[^>]+>", "", text)
    return html.unescape(text)


def coloured(text: str, colour: str) -> str:
    """``text`` in ``colour``, as an HTML-like label writes it (one of the palette's names above)."""
    return f'<FONT COLOR="{colour}">{text}</FONT>'
