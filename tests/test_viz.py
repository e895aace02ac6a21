"""Diagrams: the DOT of the tutorial's MLP node by node and edge by edge, styles, formulas, values, rendering."""

import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import symslow as ts
from symslow.graph import topological_order
from symslow.viz import GraphvizNotFoundError, draw, draw_gradients, render, render_svg, save

GREEN, BLUE, CORAL, ORANGE = "#c7e9c0", "#c6dbef", "#fb8072", "#fdb863"


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def tutorial_mlp(seed=0):
    rng = np.random.default_rng(seed)
    graph = ts.Graph()
    with graph.as_default():
        X = ts.placeholder(name="X")
        c = ts.placeholder(name="c")
        W_hidden = ts.Variable(rng.normal(size=(2, 2)), name="W_hidden")
        b_hidden = ts.Variable(rng.normal(size=2), name="b_hidden")
        p_hidden = ts.sigmoid(ts.add(ts.matmul(X, W_hidden), b_hidden))
        W_output = ts.Variable(rng.normal(size=(2, 2)), name="W_output")
        b_output = ts.Variable(rng.normal(size=2), name="b_output")
        p_output = ts.softmax(ts.add(ts.matmul(p_hidden, W_output), b_output))
        J = ts.negative(ts.reduce_sum(ts.reduce_sum(ts.multiply(c, ts.log(p_output)), axis=1)))
    feed = {X: rng.normal(size=(4, 2)), c: np.eye(2)[[0, 1, 1, 0]]}
    return dict(graph=graph, X=X, c=c, W_hidden=W_hidden, b_hidden=b_hidden, p_hidden=p_hidden, W_output=W_output,
                b_output=b_output, J=J, feed=feed)


def parse_dot(source):
    """{node id: attribute text} and the list of (tail, head, attribute text) edges of a DOT source."""
    nodes, edges = {}, []
    for line in source.splitlines():
        edge = re.match(r"\s*(\w+) -> (\w+)(?: \[(.*)\])?$", line)
        node = re.match(r"\s*(\w+) \[(.*)\]$", line)
        if edge:
            edges.append((edge[1], edge[2], edge[3] or ""))
        elif node and node[1] not in ("graph", "node", "edge"):
            assert node[1] not in nodes, f"node {node[1]} appears twice"
            nodes[node[1]] = node[2]
    return nodes, edges


def label_of(attrs):
    return re.search(r"label=<(.*)>", attrs)[1]


def numbers_in(text):
    return [float(x) for x in re.findall(r"-?\d+(?:\.\d+)?(?:e[-+]\d+)?", text)]


def test_mlp_dot_has_every_node_and_edge_once():
    m = tutorial_mlp()
    dot = draw(m["J"], loss=m["J"])
    nodes, edges = parse_dot(dot.source)
    wanted = topological_order([m["J"]])
    assert set(nodes) == {f"n{n.id}" for n in wanted} | {"legend"}
    by_name = {n.name: f"n{n.id}" for n in wanted}
    # the tutorial's MLP, written out by hand: (input, consumer, argument index or None for a one-input op)
    expected = [
        ("X", "matmul", "0"), ("W_hidden", "matmul", "1"), ("matmul", "add", "0"), ("b_hidden", "add", "1"),
        ("add", "sigmoid", None), ("sigmoid", "matmul_1", "0"), ("W_output", "matmul_1", "1"),
        ("matmul_1", "add_1", "0"), ("b_output", "add_1", "1"), ("add_1", "log", None), ("c", "multiply", "0"),
        ("log", "multiply", "1"), ("multiply", "reduce_sum", None), ("reduce_sum", "reduce_sum_1", None),
        ("reduce_sum_1", "negative", None),
    ]
    found = [(tail, head, (re.search(r"label=<(\d+)>", attrs) or [None, None])[1]) for tail, head, attrs in edges]
    assert sorted(found) == sorted((by_name[a], by_name[b], i) for a, b, i in expected)


def test_each_node_kind_has_its_style_and_a_legend():
    m = tutorial_mlp()
    with m["graph"].as_default():
        k = ts.constant(np.array([1.0, 2.0]), name="k")
        out = m["J"] * k
    nodes, _ = parse_dot(draw(out, loss=m["J"]).source)
    style = {name: nodes[f"n{node.id}"] for name, node in
             [("X", m["X"]), ("W", m["W_hidden"]), ("k", k), ("J", m["J"]), ("sigmoid", m["p_hidden"])]}
    assert f'fillcolor="{GREEN}"' in style["X"] and "shape=box" in style["X"]
    assert f'fillcolor="{BLUE}"' in style["W"]
    assert "dashed" in style["k"] and 'fillcolor=white' in style["k"]
    assert f'fillcolor="{CORAL}"' in style["J"]
    assert "rounded" in style["sigmoid"] and "rounded" not in style["X"]
    legend = label_of(nodes["legend"])
    for text in ("placeholder", "Variable", "constant", "operation", "loss"):
        assert text in legend


def test_labels_hold_op_name_formula_and_shape():
    m = tutorial_mlp()
    nodes, _ = parse_dot(draw(m["J"]).source)
    label = {name: label_of(nodes[f"n{m['graph'].get_node(name).id}"]) for name in
             ("sigmoid", "matmul", "reduce_sum", "W_hidden", "X", "log")}
    assert "<B>sigmoid</B>" in label["sigmoid"] and "sigmoid = 1/(1 + exp(-add))" in label["sigmoid"]
    assert "matmul = X @ W_hidden" in label["matmul"]
    assert "reduce_sum = Σ(multiply, axis=1)" in label["reduce_sum"]
    assert "shape (2, 2)" in label["W_hidden"] and "shape &lt;unknown&gt;" in label["X"]
    assert "Symbol(" not in dot_text(m) and "Function(" not in dot_text(m)


def dot_text(m):
    return draw(m["J"]).source


def test_values_when_fed_match_numpy():
    m = tutorial_mlp()
    X, c = m["feed"][m["X"]], m["feed"][m["c"]]
    W1, b1 = m["W_hidden"].initial_value, m["b_hidden"].initial_value
    W2, b2 = m["W_output"].initial_value, m["b_output"].initial_value
    hidden = sigmoid(X @ W1 + b1)
    logits = hidden @ W2 + b2
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    loss = -np.sum(c * np.log(p))
    nodes, _ = parse_dot(draw(m["J"], m["feed"]).source)

    def shown(node):  # the numbers on the value row: the last row of the label
        rows = re.findall(r"<TR><TD>(.*?)</TD></TR>", label_of(nodes[f"n{node.id}"]))
        return np.array(numbers_in(rows[-1]))

    np.testing.assert_allclose(shown(m["p_hidden"]), hidden.ravel(), rtol=6e-3, atol=1e-12)
    np.testing.assert_allclose(shown(m["J"]), [loss], rtol=6e-3)
    np.testing.assert_allclose(shown(m["W_output"]), W2.ravel(), rtol=6e-3)


def test_large_values_show_shape_and_statistics():
    graph = ts.Graph()
    with graph.as_default():
        x = ts.placeholder(name="x")
        y = ts.exp(x)
    data = np.linspace(-1, 1, 50).reshape(25, 2)
    nodes, _ = parse_dot(draw(y, {x: data}).source)
    label = label_of(nodes[f"n{y.id}"])
    values = np.exp(data)
    match = re.search(r"shape \(25, 2\): min (\S+), mean (\S+), max ([^<]+)", label)
    assert match, label
    np.testing.assert_allclose([float(v.rstrip(",")) for v in match.groups()],
                               [values.min(), values.mean(), values.max()], rtol=6e-3)


def test_a_session_gives_its_variables_values():
    graph = ts.Graph()
    with graph.as_default():
        w = ts.Variable(np.array(1.0), name="w")
        step = ts.assign(w, w + 41.0)
    session = ts.Session(graph=graph)
    session.run(step)
    nodes, _ = parse_dot(draw(step, session=session).source)
    assert "42" in label_of(nodes[f"n{w.id}"])
    assert session.run(w) == 42.0  # drawing ran no assignment


def test_names_with_any_characters_are_escaped_and_render():
    graph = ts.Graph()
    with graph.as_default():
        x = ts.placeholder(name='a<b>&"c*{}|')
        y = ts.sigmoid(x, name="<y>")
    dot = draw(y, {x: 1.0})
    assert "&lt;b&gt;&amp;&quot;c" in dot.source
    svg = render_svg(dot)
    texts = "".join(ET.fromstring(svg).itertext())
    assert 'a<b>&"c*{}|' in texts and "<y>" in texts


def test_ids_are_deterministic():
    assert draw(tutorial_mlp()["J"]).source == draw(tutorial_mlp()["J"]).source


def test_an_input_used_twice_draws_two_edges():
    graph = ts.Graph()
    with graph.as_default():
        x = ts.placeholder(name="x")
        y = x * x
    _, edges = parse_dot(draw(y).source)
    assert sorted(re.search(r"label=<(\d)>", a)[1] for t, h, a in edges if (t, h) == (f"n{x.id}", f"n{y.id}")) == ["0", "1"]


def test_gradient_graph_ties_each_gradient_to_its_node():
    m = tutorial_mlp()
    dot = draw_gradients(m["J"], feed_dict=m["feed"])
    nodes, edges = parse_dot(dot.source)
    forward = {f"n{n.id}" for n in topological_order([m["J"]])}
    ties = [(h, t) for t, h, a in edges if "odiamond" in a]  # (gradient, forward node)
    assert sorted(h for _, h in ties) == sorted(forward)  # one tie per forward node
    for tail, head in ties:
        assert tail not in forward and f'fillcolor="{ORANGE}"' in nodes[tail]
        assert "∂J/∂" in label_of(nodes[tail])
    gradient_edges = [a for t, h, a in edges if t not in forward and h not in forward]
    assert gradient_edges and all("dashed" in a for a in gradient_edges)
    # the gradient of W_output, as its node shows it, is the hand-written backpropagation's
    X, c = m["feed"][m["X"]], m["feed"][m["c"]]
    hidden = sigmoid(X @ m["W_hidden"].initial_value + m["b_hidden"].initial_value)
    logits = hidden @ m["W_output"].initial_value + m["b_output"].initial_value
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    expected = hidden.T @ (p - c)
    tie = next(t for t, h in ties if h == f"n{m['W_output'].id}")
    rows = re.findall(r"<TR><TD>(.*?)</TD></TR>", label_of(nodes[tie]))
    np.testing.assert_allclose(numbers_in(rows[-1]), expected.ravel(), rtol=6e-3, atol=1e-9)


def test_gradients_of_chosen_nodes_only():
    m = tutorial_mlp()
    nodes, edges = parse_dot(draw_gradients(m["J"], [m["W_hidden"]]).source)
    ties = [(h, t) for t, h, a in edges if "odiamond" in a]
    assert [h for _, h in ties] == [f"n{m['W_hidden'].id}"]


def five_layer_mlp():
    rng = np.random.default_rng(5)
    graph = ts.Graph()
    with graph.as_default():
        X = ts.placeholder(name="X", shape=(None, 3))
        c = ts.placeholder(name="c", shape=(None, 2))
        h = X
        sizes = [3, 4, 4, 4, 4, 2]
        for layer in range(5):
            with ts.name_scope(f"layer{layer + 1}"):
                W = ts.Variable(rng.normal(size=(sizes[layer], sizes[layer + 1])), name="W")
                b = ts.Variable(np.zeros(sizes[layer + 1]), name="b")
                z = ts.matmul(h, W) + b
                h = ts.sigmoid(z) if layer < 4 else ts.softmax(z)
        J = -ts.reduce_sum(c * ts.log(h))
    return graph, X, c, J


def test_five_layer_mlp_renders_top_to_bottom_and_stays_narrow():
    graph, X, c, J = five_layer_mlp()
    dot = draw(J, {X: np.ones((2, 3)), c: [[1, 0], [0, 1]]}, loss=J)
    assert "rankdir=TB" in dot.source
    svg = ET.fromstring(render_svg(dot))
    width = float(svg.get("width").rstrip("pt"))
    assert width < 1400, width  # the layers stack downwards instead of running off to the right


def test_every_diagram_renders_to_svg():
    m = tutorial_mlp()
    perceptron = ts.Graph()
    with perceptron.as_default():
        X, c = ts.placeholder(name="X"), ts.placeholder(name="c")
        W, b = ts.Variable(np.array([[1.0, -1.0], [1.0, 2.0]]), name="W"), ts.Variable(np.array([0.0, 0.5]), name="b")
        J = ts.negative(ts.reduce_sum(ts.multiply(c, ts.log(ts.softmax(ts.add(ts.matmul(X, W), b))))))
    feed = {X: [[1.0, 2.0]], c: [[1.0, 0.0]]}
    for dot in (draw(m["J"]), draw(m["J"], m["feed"]), draw_gradients(m["J"], feed_dict=m["feed"]),
                draw(J, feed), draw_gradients(J, [W, b], feed), draw_gradients(J, feed_dict=feed)):
        root = ET.fromstring(render(dot, "svg"))
        assert root.tag.endswith("svg")


def test_save_writes_dot_without_graphviz_and_svg_with_it(tmp_path):
    dot = draw(tutorial_mlp()["J"])
    assert save(dot, tmp_path / "g.dot").read_text(encoding="utf-8") == dot.source
    assert save(dot, tmp_path / "g.svg").read_text(encoding="utf-8").lstrip().startswith("<?xml")


def test_missing_graphviz_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot on the path
    dot = draw(tutorial_mlp()["J"])
    assert "->" in dot.source  # DOT source needs no binaries
    with pytest.raises(GraphvizNotFoundError, match="apt-get install graphviz"):
        render_svg(dot)
    m = tutorial_mlp()
    assert m["J"]._repr_mimebundle_() is None  # a notebook falls back to the other representations


def test_notebook_display():
    m = tutorial_mlp()
    bundle = m["J"]._repr_mimebundle_()
    assert ET.fromstring(bundle["image/svg+xml"]).tag.endswith("svg")
    assert "<svg" in bundle["text/html"]
    assert draw(m["J"])._repr_mimebundle_()["image/svg+xml"].lstrip().startswith("<?xml")


def test_bad_arguments_are_named():
    with pytest.raises(TypeError, match="draw\\(\\) takes nodes"):
        draw([1.0])
    with pytest.raises(TypeError, match="the loss node"):
        draw_gradients("J")
    with pytest.raises(ValueError, match="rankdir must be one of LR, TB, RL, BT, not 'sideways'"):
        draw(tutorial_mlp()["J"], rankdir="sideways")
