"""Diagrams at CNN size: name scopes drawn as one box each (or as clusters), shapes on the edges between them, the
gradient nodes boxed with their layer, and backpropagation stepping layer by layer."""

import re
import subprocess
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import symslow as tf
from symslow.graph import topological_order
from symslow.viz import backprop_steps, draw, draw_gradients, node_mimebundle, render_svg

LAYERS = ["conv2d", "max_pooling2d", "conv2d_1", "max_pooling2d_1", "flatten", "dense", "dense_1"]


def same_size(n, stride):
    """The output size of a SAME convolution or pooling, as TensorFlow defines it."""
    return -(-n // stride)


def valid_size(n, k, stride):
    return (n - k) // stride + 1


def mnist_cnn(size=28, filters=(32, 64), hidden=128, classes=10):
    """The CNN of TensorFlow's layers tutorial: two 5 x 5 SAME convolutions, each followed by 2 x 2 max pooling, and
    two dense layers."""
    graph = tf.Graph()
    with graph.as_default():
        tf.set_random_seed(0)
        x = tf.placeholder(tf.float32, [None, size, size, 1], name="x")
        y = tf.placeholder(tf.float32, [None, classes], name="y")
        h = tf.layers.conv2d(x, filters[0], 5, padding="same", activation=tf.nn.relu)
        h = tf.layers.max_pooling2d(h, 2, 2)
        h = tf.layers.conv2d(h, filters[1], 5, padding="same", activation=tf.nn.relu)
        h = tf.layers.max_pooling2d(h, 2, 2)
        h = tf.layers.flatten(h)
        h = tf.layers.dense(h, hidden, activation=tf.nn.relu)
        logits = tf.layers.dense(h, classes)
        loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits_v2(labels=y, logits=logits))
    return graph, x, y, logits, loss


def parse(source):
    """The DOT source's nodes ``{id: (attributes, [enclosing clusters, outermost first])}``, its edges
    ``[(tail, head, attributes)]`` and its clusters' labels ``{cluster: label}``."""
    nodes, edges, clusters, stack = {}, [], {}, []
    for line in source.splitlines():
        line = line.strip()
        opened = re.match(r"subgraph (cluster_\w+) \{$", line)
        edge = re.match(r"(\w+) -> (\w+)(?: \[(.*)\])?$", line)
        node = re.match(r"(\w+) \[(.*)\]$", line)
        if opened:
            stack.append(opened[1])
        elif line == "}" and stack:
            stack.pop()
        elif edge:
            edges.append((edge[1], edge[2], edge[3] or ""))
        elif node and node[1] not in ("graph", "node", "edge"):
            assert node[1] not in nodes, f"node {node[1]} appears twice"
            nodes[node[1]] = (node[2], list(stack))
        elif stack and "label=" in line:
            clusters[stack[-1]] = re.search(r"label=<<B>(.*?)</B>>", line)[1]
    return nodes, edges, clusters


def bold(attrs):
    return re.search(r"<B>(.*?)</B>", attrs)[1]


def edge_label(attrs):
    found = re.search(r"label=<(.*?)> ", attrs + " ")
    return found[1] if found else None


def has_cycle(edges):
    into = {}
    for tail, head, _ in edges:
        into.setdefault(tail, set())
        into.setdefault(head, set()).add(tail)
    while into:
        ready = [v for v, tails in into.items() if not tails]
        if not ready:
            return True
        for v in ready:
            del into[v]
        for tails in into.values():
            tails.difference_update(ready)
    return False


# draw: closed scopes ------------------------------------------------------------------------------------------------
def test_a_cnn_drawn_collapsed_has_one_box_per_layer_and_the_shapes_on_its_edges():
    graph, x, y, logits, loss = mnist_cnn()
    nodes, edges, clusters = parse(draw(loss, loss=loss).source)
    boxes = {bold(attrs): ident for ident, (attrs, _) in nodes.items() if "box3d" in attrs}
    assert sorted(boxes) == sorted(LAYERS) and not clusters
    # every node of a layer is inside its box: none is drawn itself
    drawn = {ident for ident in nodes}
    for node in topological_order([loss]):
        assert (f"n{node.id}" in drawn) == (node.name.split("/")[0] not in LAYERS), node.name

    # the shapes between the layers, by TensorFlow's rules for SAME convolutions and 2 x 2 pooling of stride 2
    s1 = same_size(28, 1)
    p1 = valid_size(s1, 2, 2)
    s2 = same_size(p1, 1)
    p2 = valid_size(s2, 2, 2)
    expected = {("x", "conv2d"): "?×28×28×1", ("conv2d", "max_pooling2d"): f"?×{s1}×{s1}×32",
                ("max_pooling2d", "conv2d_1"): f"?×{p1}×{p1}×32",
                ("conv2d_1", "max_pooling2d_1"): f"?×{s2}×{s2}×64",
                ("max_pooling2d_1", "flatten"): f"?×{p2}×{p2}×64", ("flatten", "dense"): f"?×{p2 * p2 * 64}",
                ("dense", "dense_1"): "?×128", ("dense_1", "log_softmax"): "?×10"}
    assert (s1, p1, s2, p2) == (28, 14, 14, 7)
    name_of = {ident: bold(attrs) for ident, (attrs, _) in nodes.items() if ident != "legend"}
    found = {(name_of[t], name_of[h]): edge_label(a) for t, h, a in edges}
    for ends, label in expected.items():
        assert found[ends] == label, ends

    # and the same shapes as the values a run computes, the batch size read as ?
    outputs = ["conv2d/relu", "max_pooling2d/MaxPool", "conv2d_1/relu", "max_pooling2d_1/MaxPool", "flatten/reshape",
               "dense/relu", "dense_1/BiasAdd"]
    with graph.as_default():
        session = tf.Session()
        session.run(tf.global_variables_initializer())
        values = session.run([graph.get_node(n) for n in outputs], {x: np.zeros((2, 28, 28, 1), np.float32)})
    for (ends, label), value in zip(list(expected.items())[1:], values):
        assert label == "×".join(["?", *map(str, value.shape[1:])]), ends

    # a box says what it holds: its ops and its Variables' shapes
    conv = nodes[boxes["conv2d_1"]][0]
    assert "3 ops: Conv2D, add, relu" in conv and "Variables: kernel 5×5×32×64, bias 64" in conv
    assert "Variables: kernel 3136×128, bias 128" in nodes[boxes["dense"]][0]


def test_a_training_step_of_hundreds_of_nodes_draws_as_a_few_boxes():
    graph, x, y, logits, loss = mnist_cnn()
    with graph.as_default():
        train = tf.train.AdamOptimizer(0.001).minimize(loss)
    every = topological_order([train])
    assert len(every) > 250
    dot = draw(train)
    nodes, edges, _ = parse(dot.source)
    assert len(nodes) < 30, len(nodes)
    boxes = {bold(attrs) for attrs, _ in nodes.values() if "box3d" in attrs}
    assert boxes == {*LAYERS, "gradients", "Adam"}
    # each node is drawn itself or stands in the box of the scope its name starts with
    for node in every:
        assert f"n{node.id}" in nodes or node.name.split("/")[0] in boxes, node.name
    assert not has_cycle(edges)
    assert ET.fromstring(dot.pipe(format="svg")).tag.endswith("svg")


# draw: open scopes --------------------------------------------------------------------------------------------------
def test_open_scopes_are_clusters_holding_their_nodes_and_nest():
    graph, x, y, logits, loss = mnist_cnn()
    nodes, _, clusters = parse(draw(loss, collapse=False).source)
    assert sorted(clusters.values()) == sorted(LAYERS)
    cluster_of = {label: cluster for cluster, label in clusters.items()}
    for node in topological_order([loss]):
        scope = node.name.split("/")[0] if "/" in node.name else None
        assert nodes[f"n{node.id}"][1] == ([cluster_of[scope]] if scope else []), node.name
    assert not any("box3d" in attrs for attrs, _ in nodes.values())

    # one scope opened, the others closed
    nodes, _, clusters = parse(draw(loss, expand=["conv2d_1"]).source)
    assert list(clusters.values()) == ["conv2d_1"]
    inside = sorted(bold(attrs) for attrs, chain in nodes.values() if chain)
    assert inside == sorted(["Conv2D", "add", "relu", "conv2d_1/kernel", "conv2d_1/bias"])
    assert sorted(bold(a) for a, _ in nodes.values() if "box3d" in a) == sorted(set(LAYERS) - {"conv2d_1"})

    # scopes in scopes: clusters in clusters; expanding the inner one opens the outer one
    with tf.Graph().as_default():
        a = tf.placeholder(tf.float64, shape=(3,), name="a")
        with tf.name_scope("outer"):
            b = tf.exp(a, name="b")
            with tf.name_scope("inner"):
                c = tf.sigmoid(b, name="c")
                d = tf.square(c, name="d")
        J = tf.reduce_sum(d, name="J")
    nodes, _, clusters = parse(draw(J, collapse=False).source)
    by_label = {label: cluster for cluster, label in clusters.items()}
    assert set(by_label) == {"outer", "inner"}
    chain = {bold(attrs): chain for attrs, chain in nodes.values()}
    assert chain["exp"] == [by_label["outer"]]
    assert chain["sigmoid"] == chain["square"] == [by_label["outer"], by_label["inner"]]
    assert chain["a"] == chain["reduce_sum"] == []
    nodes, _, clusters = parse(draw(J, expand="outer/inner").source)
    assert sorted(clusters.values()) == ["inner", "outer"]
    nodes, _, clusters = parse(draw(J, expand="outer").source)
    assert list(clusters.values()) == ["outer"]
    assert [bold(a) for a, chain in nodes.values() if "box3d" in a] == ["inner"]


def test_every_kind_of_scope_diagram_renders_with_graphviz():
    graph, x, y, logits, loss = mnist_cnn(size=8, filters=(2, 3), hidden=4, classes=3)
    feed = {x: np.ones((2, 8, 8, 1), np.float32), y: np.eye(3, dtype=np.float32)[[0, 2]]}
    for dot in (draw(loss), draw(loss, feed, collapse=False), draw(loss, expand=["dense"]), draw_gradients(loss),
                draw_gradients(loss, feed_dict=feed, collapse=False), draw_gradients(loss, expand="conv2d")):
        svg = dot.pipe(format="svg").decode("utf-8")
        assert ET.fromstring(svg).tag.endswith("svg")
        assert len(re.findall(r'<g id="node\d+" class="node">', svg)) == len(parse(dot.source)[0])  # all drawn


def test_a_graph_without_scopes_is_drawn_node_by_node_as_before():
    graph = tf.Graph()
    with graph.as_default():
        X = tf.placeholder(name="X")
        W = tf.Variable(np.ones((2, 2)), name="W")
        J = tf.reduce_sum(tf.sigmoid(tf.matmul(X, W)))
    dot = draw(J)
    assert dot.source == draw(J, collapse=False).source
    nodes, edges, clusters = parse(dot.source)
    assert set(nodes) == {f"n{n.id}" for n in topological_order([J])} | {"legend"} and not clusters
    assert "box3d" not in dot.source and "×" not in dot.source  # shapes stay in the nodes, not on the edges


def test_a_scope_that_data_leaves_and_comes_back_into_is_drawn_open():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float64, shape=(2,), name="s/x")
        outside = tf.exp(x, name="outside")
        y = tf.add(outside, x, name="s/y")
        # two scopes that feed each other: each is convex, but closing both would draw a cycle
        with tf.name_scope("A"):
            a1 = tf.sin(y)
        with tf.name_scope("B"):
            b1 = tf.cos(a1)
            b2 = tf.exp(y)
        with tf.name_scope("A"):
            a2 = tf.add(b2, 1.0)
        J = tf.reduce_sum(b1 + a2)
    nodes, edges, clusters = parse(draw(J).source)
    assert "s" in clusters.values()  # one box could not be both before and after "outside"
    assert not has_cycle(edges)
    assert len(set(clusters.values()) & {"A", "B"}) == 1  # one of the two opened, the other still a box
    svg = render_svg(draw(J))
    assert ET.fromstring(svg).tag.endswith("svg")


@pytest.mark.parametrize("name", ['a < b & "c"', 'x]; n0 -> n1 [label="pwned"', "σ 名前 \U0001f600"])
def test_a_scope_named_anything_shows_its_name_as_written(name):
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float64, shape=(2,), name="x")
        with tf.name_scope(name):
            y = tf.exp(x)
        J = tf.reduce_sum(y)
    for dot in (draw(J), draw(J, collapse=False), draw_gradients(J), draw_gradients(J, collapse=False)):
        assert 'label="pwned"' not in dot.source
        texts = [t.text for t in ET.fromstring(dot.pipe(format="svg")).iter("{http://www.w3.org/2000/svg}text")]
        assert name in texts or "∂J/∂" + name in texts, texts


# draw_gradients -----------------------------------------------------------------------------------------------------
def test_gradient_nodes_are_boxed_with_the_layer_they_belong_to_whatever_their_names():
    graph, x, y, logits, loss = mnist_cnn(size=8, filters=(2, 3), hidden=4, classes=3)
    with graph.as_default(), tf.name_scope("elsewhere"):  # gradient nodes named elsewhere/gradients/...
        dot = draw_gradients(loss)
    nodes, edges, clusters = parse(dot.source)
    gradient_boxes = {bold(a)[len("∂J/∂"):]: ident for ident, (a, _) in nodes.items()
                      if "box3d" in a and "∂J/∂" in a}
    layer_boxes = {bold(a): ident for ident, (a, _) in nodes.items() if "box3d" in a and "∂J/∂" not in a}
    assert sorted(layer_boxes) == sorted(LAYERS) and sorted(gradient_boxes) == sorted(LAYERS) and not clusters
    # each layer is tied (the diamond: "is the gradient of") to its gradients' box
    ties = {(t, h) for t, h, a in edges if "odiamond" in a}
    for layer in LAYERS:
        assert (layer_boxes[layer], gradient_boxes[layer]) in ties, layer
    assert not any("elsewhere" in attrs for attrs, _ in nodes.values() if "box3d" in attrs)

    # the gradient of one Variable only: the nodes on its way are boxed too, and the boxes still form no cycle
    kernel = graph.get_node("conv2d/kernel")
    nodes, edges, clusters = parse(draw_gradients(loss, [kernel]).source)
    assert not clusters and not has_cycle(edges)
    (tie,) = [(t, h) for t, h, a in edges if "odiamond" in a]
    assert [bold(nodes[end][0]) for end in tie] == ["conv2d", "∂J/∂conv2d"]
    assert sum("box3d" in a and "∂J/∂" in a for a, _ in nodes.values()) > 2

    # opened, a layer's gradients are a cluster holding ∂J/∂ of its Variables
    nodes, _, clusters = parse(draw_gradients(loss, expand=["dense_1"]).source)
    assert sorted(clusters.values()) == ["dense_1", "∂J/∂dense_1"]
    in_gradients = [a for a, chain in nodes.values() if chain and clusters[chain[0]] == "∂J/∂dense_1"]
    assert any("∂J/∂dense_1/kernel = " in a for a in in_gradients)
    assert any("∂J/∂dense_1/bias = " in a for a in in_gradients)


# errors -------------------------------------------------------------------------------------------------------------
def test_bad_arguments_say_what_is_wrong():
    graph, x, y, logits, loss = mnist_cnn(size=8, filters=(2, 3), hidden=4, classes=3)
    with pytest.raises(ValueError, match=r"draw\(\): expand names 'conv3', which is not a name scope .*: conv2d, "):
        draw(loss, expand=["conv3"])
    with pytest.raises(TypeError, match=r"collapse must be True or False, not 'yes'"):
        draw(loss, collapse="yes")
    with pytest.raises(TypeError, match=r"expand takes names of name scopes, not 3"):
        draw_gradients(loss, expand=[3])
    with pytest.raises(ValueError, match=r"by is 'node' or 'layer', not 'layers'"):
        backprop_steps(loss, by="layers")
    with tf.Graph().as_default():
        a = tf.placeholder(name="a")
        with pytest.raises(ValueError, match=r"expand names 'hidden', but no node drawn is in a name scope"):
            draw(tf.exp(a), expand="hidden")


def test_a_node_in_a_scope_displays_inside_its_open_scope():
    graph, x, y, logits, loss = mnist_cnn(size=8, filters=(2, 3), hidden=4, classes=3)
    relu = graph.get_node("dense/relu")
    svg = node_mimebundle(relu)["image/svg+xml"]
    assert f"<title>n{relu.id}</title>" in svg and "<title>cluster_" in svg


# backpropagation, layer by layer ------------------------------------------------------------------------------------
def node_shapes(svg):
    """{Graphviz node id: the outline of its shape} in an SVG Graphviz drew."""
    return dict(re.findall(r'<title>([ns]\d+|legend)</title>\s*<(?:path|polygon)[^>]*?\b(?:d|points)="([^"]+)"', svg))


def test_backprop_steps_by_layer_go_through_each_layer_once_consumers_first():
    graph, x, y, logits, loss = mnist_cnn(size=8, filters=(2, 3), hidden=4, classes=3)
    rng = np.random.default_rng(1)
    images = rng.normal(size=(4, 8, 8, 1)).astype(np.float32)
    labels = np.eye(3, dtype=np.float32)[[0, 2, 1, 2]]
    feed = {x: images, y: labels}
    with graph.as_default():
        session = tf.Session()
        session.run(tf.global_variables_initializer())
        steps = backprop_steps(loss, feed, session, by="layer")
        by_node = backprop_steps(loss, feed, session)
    layers = [s for s in steps if s.kind == "layer"]
    assert [s.layer for s in layers] == LAYERS[::-1]
    assert len(steps) < len(by_node) and steps[-1].kind == "end" and steps[0].kind == "start"
    forward = topological_order([loss])
    forward_ids = {id(n) for n in forward}
    for step in layers:  # a layer step finds the gradient of each node of its layer, and of no other
        assert {p.node.name for p in step.parts} == {n.name for n in forward if n.name.startswith(step.layer + "/")}
    seen = set()
    for step in steps[:-1]:  # every consumer of a step's nodes was processed before (or in) the step
        mine = [p.node for p in step.parts] if step.kind == "layer" else [step.node]
        seen.update(map(id, mine))
        for node in mine:
            assert all(id(c) in seen for c in node.consumers if id(c) in forward_ids), node.name
    assert {id(n) for n in steps[-1].done} == {id(s.node) for s in by_node[:-1]}

    # the last layer's kernel gradient against NumPy: hidden activations ᵀ · (softmax - labels) / batch
    hidden, logits_value = session.run([graph.get_node("dense/relu"), logits], feed)
    p = np.exp(logits_value - logits_value.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    expected = hidden.T @ (p - labels) / len(labels)
    (kernel_step,) = [p for p in layers[0].parts if p.node.name == "dense_1/kernel"]
    np.testing.assert_allclose(kernel_step.value, expected, rtol=1e-4, atol=1e-6)
    assert "∂J/∂dense_1/kernel = " in layers[0].formula and "∂J/∂dense_1/kernel" in layers[0].text

    # the step-through: one layout for every step, the layer of step k drawn as the one processed now
    svgs = [render_svg(s.bare_diagram) for s in steps]
    shapes = [node_shapes(svg) for svg in svgs]
    assert all(s == shapes[0] for s in shapes), "a box moved between steps"
    assert sum(ident.startswith("s") for ident in shapes[0]) == len(LAYERS)
    box_of = {bold(attrs): ident for ident, (attrs, _) in parse(steps[0].bare_diagram.source)[0].items()
              if "box3d" in attrs}
    for step in layers:
        svg = svgs[step.number - 1]
        now = re.findall(r'<title>([ns]\d+)</title>\s*<polygon fill="#ffff99" stroke="#d7301f"', svg)
        assert now == [box_of[step.layer]] and f"now, step {step.number}" in svg, step.layer
    sizes = {re.search(r'<svg width="([\d.]+)pt" height="([\d.]+)pt"', render_svg(s.diagram)).groups() for s in steps}
    assert len(sizes) == 1, "the captioned pictures differ in size"
    for step in steps:  # no text spills out of its box
        done = subprocess.run(["neato", "-n2", "-Tsvg"], input=step.diagram.source, capture_output=True, text=True)
        assert done.returncode == 0 and "too small" not in done.stderr, done.stderr
    assert repr(steps).startswith(f"<BackpropSteps: {len(steps)} steps from the loss 'reduce_mean'")


def test_backprop_steps_by_layer_of_a_graph_without_scopes_are_the_node_steps():
    with tf.Graph().as_default():
        x = tf.placeholder(name="x")
        J = tf.reduce_sum(x - tf.sigmoid(x))
        steps = backprop_steps(J, {x: [0.0]}, by="layer")
    assert [s.node.name if s.node is not None else None for s in steps] == ["reduce_sum", "subtract", "sigmoid", "x",
                                                                             None]
