"""The Graph API under TensorFlow 1's names and behaviour."""

import re
import threading

import numpy as np
import pytest
import sympy

import symslow as ts


def test_as_default_as_plain_call_and_as_context_manager():
    outer = ts.Graph()
    outer.as_default()
    assert ts.get_default_graph() is outer
    inner = ts.Graph()
    with inner.as_default() as g:
        assert g is inner and ts.get_default_graph() is inner
        x = ts.placeholder()
    assert x.graph is inner
    assert ts.get_default_graph() is outer


def test_reset_default_graph():
    first = ts.get_default_graph()
    second = ts.reset_default_graph()
    assert second is not first and ts.get_default_graph() is second and second.nodes == []


def test_default_graph_per_thread():
    main = ts.Graph()
    main.as_default()
    seen = {}

    def build(key):
        graph = ts.get_default_graph()
        ts.placeholder(name=key)
        seen[key] = graph

    threads = [threading.Thread(target=build, args=(f"t{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    graphs = list(seen.values())
    assert len({id(g) for g in graphs}) == 4 and main not in graphs
    assert all(len(g.nodes) == 1 for g in graphs) and main.nodes == []


def test_unique_names_and_name_scopes():
    ts.Graph().as_default()
    x = ts.placeholder(name="x")
    a, b, c = ts.add(x, x), ts.add(x, x), x + x
    assert [a.name, b.name, c.name] == ["add", "add_1", "add_2"]
    with ts.name_scope("layer1"):
        W = ts.Variable(np.array([[1.0]]), name="W")
        with ts.name_scope("inner"):
            s = ts.sigmoid(x)
    assert W.name == "layer1/W" and s.name == "layer1/inner/sigmoid"
    assert ts.placeholder().name == "Placeholder" and ts.Variable(np.array(1.0)).name == "Variable"
    assert ts.constant(np.array(1.0)).name == "Const"
    assert ts.get_default_graph().get_node("layer1/W") is W


def test_dtypes_as_module_attributes():
    ts.Graph().as_default()
    x = ts.placeholder(ts.float64, shape=(None, 2))
    assert x.dtype == np.float64 and x.shape == (None, 2)
    assert ts.placeholder(ts.float32).dtype == np.float32
    assert ts.Variable(np.zeros(2, np.int32)).dtype == ts.int32
    assert ts.constant(np.array(3), dtype=ts.int64).dtype == np.int64
    assert ts.placeholder().dtype is None  # the tutorial's bare placeholder: fed values become floats


def test_operators_build_the_ops():
    ts.Graph().as_default()
    x = ts.placeholder(name="x")
    y = ts.placeholder(name="y")
    M = ts.Variable(np.eye(2) * 2)
    nodes = {
        "+": x + y, "-": x - y, "*": x * y, "/": x / y, "**": x**y, "neg": -x,
        "r+": 1 + x, "r-": 1 - x, "r*": 2 * x, "r/": 1 / x, "r**": 2**x,
        "@": M @ M, "array*": np.array([1.0, 2.0]) * x, "array+": np.array([1.0, 2.0]) + x,
    }
    assert nodes["+"].op_type == "add" and nodes["@"].op_type == "matmul" and nodes["neg"].op_type == "negative"
    assert isinstance(nodes["array*"], ts.Node) and nodes["array*"].op_type == "multiply"
    values = ts.Session().run(nodes, {x: 3.0, y: 2.0})
    expected = {"+": 5, "-": 1, "*": 6, "/": 1.5, "**": 9, "neg": -3, "r+": 4, "r-": -2, "r*": 6, "r/": 1 / 3,
                "r**": 8, "@": np.eye(2) * 4, "array*": [3, 6], "array+": [4, 5]}
    for key, value in expected.items():
        np.testing.assert_allclose(values[key], value, err_msg=key)


def test_input_nodes_and_consumers():
    ts.Graph().as_default()
    x = ts.placeholder()
    s = ts.sigmoid(x)
    d = ts.subtract(x, s)
    assert x.consumers == [s, d] and d.input_nodes == [x, s] and s.consumers == [d]


def test_expr_is_the_formula_in_the_inputs_symbols():
    ts.Graph().as_default()
    x = ts.placeholder(name="x")
    s = ts.sigmoid(x, name="s")
    assert s.expr == 1 / (1 + sympy.exp(-x.symbol))
    d = ts.subtract(1.0, s)
    assert d.expr == 1.0 - s.symbol  # scalar constants appear as numbers
    X = ts.placeholder(name="X")
    W = ts.Variable(np.array([[1.0]]), name="W")
    assert sympy.latex((X @ W).expr) == "X W"


def test_a_power_of_a_structural_op_typesets_in_parentheses():
    ts.Graph().as_default()
    A = ts.placeholder(ts.float64, shape=(2, 2), name="A")
    assert ts.latex(ts.square(ts.matmul(A, A))) == r"\left(A A\right)^{2}"
    assert ts.latex(ts.square(ts.reduce_sum(A, axis=0))) == r"\left(\sum_{i} A\right)^{2}"
    assert ts.latex(ts.sqrt(ts.reduce_sum(A))) == r"\sqrt{\sum A}"


_DELIMITERS = {"(", ")", "[", "]", "|", ".", "/", r"\{", r"\}", r"\|", r"\lfloor", r"\rfloor", r"\lceil",
               r"\rceil", r"\langle", r"\rangle", r"\vert", r"\Vert"}


def _latex_structure_problems(text: str) -> list[str]:
    """What MathJax would reject in the structure of ``text``: unbalanced braces, a ``\\left`` without its
    ``\\right`` (or the other way round, or crossing a brace), a ``\\middle`` outside such a pair, one of the three
    without its delimiter."""
    problems, open_groups = [], []
    tokens = re.findall(r"\\[A-Za-z]+|\\.|.", text, re.DOTALL)
    for token, following in zip(tokens, tokens[1:] + [""]):
        if token in (r"\left", r"\middle", r"\right") and following not in _DELIMITERS:
            problems.append(f"{token} without a delimiter")
        if token in ("{", r"\left"):
            open_groups.append(token)
        elif token in ("}", r"\right"):
            expected = "{" if token == "}" else r"\left"
            if not open_groups or open_groups.pop() != expected:
                problems.append(f"{token} closes nothing it may close")
        elif token == r"\middle" and (not open_groups or open_groups[-1] != r"\left"):
            problems.append(r"\middle outside \left ... \right")
    return problems + [f"{group} never closed" for group in open_groups]


def test_the_structure_check_finds_what_mathjax_rejects():
    assert _latex_structure_problems(r"\left(a \,\middle|\, b_{1}\right)") == []
    assert _latex_structure_problems(r"\left(a\right") and _latex_structure_problems(r"{\left(a}\right)")
    assert _latex_structure_problems(r"a \middle| b") and _latex_structure_problems(r"{a")
    assert _latex_structure_problems(r"\{a") == []  # an escaped brace is a character
    assert _latex_structure_problems(r"\left a\right)")


def test_a_convolution_and_its_gradients_typeset_as_operators_with_their_attributes():
    with ts.Graph().as_default():
        x = ts.placeholder(ts.float64, shape=(1, 5, 5, 1), name="x")
        W = ts.placeholder(ts.float64, shape=(3, 3, 1, 1), name="W")
        y = ts.nn.conv2d(x, W, strides=2, padding="SAME")
        conv = r"x \mathbin{\star_{s=2,\,\mathrm{SAME}}} W"
        assert ts.latex(y) == conv
        # L = Σ y², so dL/dy = 2 y: a product, parenthesised as the operand of ⋆ᵀ, with the operator inside it
        dW, dx = ts.gradients(ts.reduce_sum(ts.square(y)), [W, x])
        subscript = r"s=2,\,\mathrm{SAME}"
        assert ts.latex(dW) == rf"\operatorname{{corr}}_{{{subscript}}}\left(x, 2 \left({conv}\right)\right)"
        assert ts.latex(dx) == rf"\left(2 \left({conv}\right)\right) \mathbin{{\star^{{\top}}_{{{subscript}}}}} W"
        # an operand of more than one term is parenthesised; per-axis strides and dilations show when not 1
        odd = ts.nn.conv2d(x + 1, 2 * W, strides=[1, 1, 2, 1], padding="VALID", dilations=2)
        assert ts.latex(odd) == r"\left(x + 1\right) \mathbin{\star_{s=(1,2),\,d=2,\,\mathrm{VALID}}} \left(2 W\right)"
        # the operator binds more tightly than a sum, less than an elementwise product
        m = ts.placeholder(ts.float64, shape=(1, 3, 3, 1), name="m")
        assert ts.latex(y + 1) == conv + " + 1"
        assert ts.latex(y * m) == rf"\left({conv}\right) \odot m"
        for text in (ts.latex(dW), ts.latex(dx), ts.latex(odd)):
            assert _latex_structure_problems(text) == [], text
        # as plain text, TensorFlow's op names with every attribute
        plain = str(ts.formula(dW))
        assert plain.startswith("Conv2DBackpropFilter(x, ") and "Conv2D(x, W, strides=(2, 2), padding='SAME'" in plain
        assert ts.pretty(y) == "Conv2D(x, W)"


def test_pooling_gradients_typeset_as_transposed_poolings_at_the_maxima():
    from symslow.ops.pool import max_pool_grad_grad

    with ts.Graph().as_default():
        x = ts.placeholder(ts.float64, shape=(1, 4, 4, 1), name="x")
        pooled = ts.nn.max_pool(x, [1, 2, 2, 1], [1, 2, 2, 1], "VALID")
        window = r"2\times2,\,s=2,\,\mathrm{VALID}"
        assert ts.latex(pooled) == rf"\operatorname{{maxpool}}_{{{window}}}\left(x\right)"
        # L = Σ p², dL/dp = 2 p, sent back to the maximum of each window of x
        (dx,) = ts.gradients(ts.reduce_sum(ts.square(pooled)), [x])
        assert ts.latex(dx) == (rf"\operatorname{{maxpool}}^{{\top}}_{{{window}}}\left(2 "
                                rf"\operatorname{{maxpool}}_{{{window}}}\left(x\right) \,\middle|\, x\right)")
        h = ts.placeholder(ts.float64, shape=(1, 4, 4, 1), name="h")
        assert ts.latex(max_pool_grad_grad(x, h, (2, 2), (2, 2), "VALID")) == (
            rf"\operatorname{{maxpool}}_{{{window}}}\left(h \,\middle|\, x\right)")
        # the gradient of a sum of averages: the transposed average pool of ones
        (da,) = ts.gradients(ts.reduce_sum(ts.nn.avg_pool(x, 2, 2, "SAME")), [x])
        assert ts.latex(da) == r"\operatorname{avgpool}^{\top}_{2\times2,\,s=2,\,\mathrm{SAME}}\left(1\right)"
        for text in (ts.latex(dx), ts.latex(da)):
            assert _latex_structure_problems(text) == [], text


def test_a_slice_of_a_subscripted_name_is_one_subscript_and_op_names_print_as_written():
    ts.Graph().as_default()
    W = ts.Variable(np.ones((3, 3)), name="W_2")
    # W_{2}_{...} is a double subscript, which MathJax rejects; the sliced operand is braced (and a sum bracketed)
    assert ts.latex(W[1:]) == r"{W_{2}}_{\left[1{:}\right]}"
    assert ts.latex((W + 1.0)[0:1]) == r"{\left(W_{2} + 1\right)}_{\left[0{:}1\right]}"
    assert _latex_structure_problems(ts.latex(W[1:])) == []
    # ts.pretty writes a structural op's name as it is, not reduce with the subscript "sum"
    x = ts.placeholder(name="x")
    assert ts.pretty(ts.reduce_sum(x, axis=1)) == "reduce_sum(x)"
    assert ts.pretty(ts.softmax(ts.exp(x))).splitlines()[-1].startswith("softmax⎝ℯ ")


def test_formula_of_the_tutorial_loss_typesets_as_double_sum():
    ts.Graph().as_default()
    X, c = ts.placeholder(name="X"), ts.placeholder(name="c")
    W, b = ts.Variable(np.zeros((2, 2)), name="W"), ts.Variable(np.zeros(2), name="b")
    p = ts.softmax(ts.add(ts.matmul(X, W), b))
    J = ts.negative(ts.reduce_sum(ts.reduce_sum(ts.multiply(c, ts.log(p)), axis=1)))
    latex = ts.latex(J)
    assert latex.startswith("- \\sum") and latex.count("\\sum") == 2 and "\\sum_{j}" in latex
    assert "c \\odot \\log \\operatorname{softmax}\\left(b + X W\\right)" in latex
    assert "c ⊙ log_softmax(b + matmul(X, W), axis=-1)" in str(ts.formula(J))
    assert "Placeholder" not in latex and "Variable" not in latex


def test_static_shape_errors_at_graph_building_time():
    ts.Graph().as_default()
    a = ts.Variable(np.zeros((2, 3)), name="a")
    b = ts.Variable(np.zeros((4, 2)), name="b")
    with pytest.raises(ts.ShapeError) as info:
        ts.matmul(a, b, name="product")
    message = str(info.value)
    assert "matmul" in message and "'product'" in message and "(2, 3)" in message and "(4, 2)" in message
    with pytest.raises(ts.ShapeError) as info:
        ts.add(a, ts.Variable(np.zeros(4)))
    assert "add" in str(info.value) and "(2, 3)" in str(info.value) and "(4,)" in str(info.value)
    nodes_before = len(ts.get_default_graph().nodes)
    with pytest.raises(ts.ShapeError):
        ts.reduce_sum(a, axis=2)
    assert len(ts.get_default_graph().nodes) == nodes_before  # a failed op adds no node


def test_formulas_read_whole_numbers_as_integers_and_ones_as_one():
    ts.Graph().as_default()
    x = ts.placeholder(name="x")
    s = ts.sigmoid(x)
    assert ts.latex(1.0 - s) == r"1 - \frac{1}{1 + e^{- x}}"
    (ds,) = ts.gradients(s, [x])  # seeded with ones_like(s): x's shape is unknown
    assert "1 \\cdot" not in ts.latex(ds) and ts.formula(ds) == ts.formula(s) * (1 - ts.formula(s))


def test_the_gradient_of_a_broadcast_reads_as_an_unbroadcast_in_plain_text():
    """A bias's gradient sums the broadcast back: ts.pretty and ts.formula say so in words, not the internal op's name
    or the axes it plans to sum."""
    ts.Graph().as_default()
    x = ts.placeholder(ts.float64, shape=(None, 3), name="x")
    b = ts.Variable(np.zeros(3), name="b")
    (db,) = ts.gradients(ts.reduce_sum(ts.square(x + b)), [b])
    for text in (ts.pretty(db), str(ts.formula(db))):
        assert text.startswith("unbroadcast(") and text.endswith(" to b)"), text
        assert "sum_to" not in text and "plan" not in text, text
    assert str(ts.formula(db)) == "unbroadcast(2*b + 2*x to b)"
    value = ts.Session().run(db, {x: [[1.0, 2.0, 3.0], [0.0, -1.0, 1.0]]})
    np.testing.assert_allclose(value, 2 * np.array([1.0, 1.0, 4.0]))
