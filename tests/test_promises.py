"""What the documentation promises, held to independent references: check_numerics in the dtype a run computes in,
one assignment per Variable on every backend, hyperparameters checked, cycles named, names rendered safely in
diagrams, LaTeX and checkpoints, and TensorFlow's gradients at the kinks of relu, maximum and minimum."""

from __future__ import annotations

import decimal
import fractions
import importlib
import os
import re
import shutil

import numpy as np
import pytest

import symslow as ts
from symslow.viz import draw, draw_gradients, render_svg


def _backend(name: str):
    """A pytest parameter for a backend, skipped where its package (or GPU) is missing."""
    reason = None
    if name in ("jax", "cupy"):
        try:
            module = importlib.import_module(name)
            if name == "cupy" and module.cuda.runtime.getDeviceCount() < 1:
                reason = "CuPy finds no CUDA GPU"
        except Exception as error:  # not installed, or no driver
            reason = f"{name} cannot run here ({type(error).__name__})"
    return pytest.param(name, id=name, marks=[pytest.mark.skip(reason=reason)] if reason else [])


COMPILED = [_backend(name) for name in ("numpy", "jax", "cupy")]
ALL = [_backend("interpreter"), *COMPILED]


# check_numerics computes in the run's dtypes ----------------------------------------------------------------------
@pytest.mark.parametrize("backend", COMPILED)
def test_check_numerics_in_a_float32_session_catches_a_float32_overflow(backend):
    with ts.Graph().as_default() as graph:
        w = ts.Variable(np.float64(1e20), name="w")  # float64 in the graph, float32 in the session
        step = ts.assign(w, w - w * w, name="step")
    with np.errstate(over="ignore"):  # the reference: float32 overflows, float64 does not
        assert np.isinf(np.float32(1e20) * np.float32(1e20))
    assert np.isfinite(np.float64(1e20) * np.float64(1e20))
    session = ts.Session(graph=graph, backend=backend, dtype=ts.float32, check_numerics=True)
    with pytest.raises(ts.InvalidArgumentError) as raised:
        session.run(step)
    assert "check_numerics: op 'multiply' (multiply) produced inf" in str(raised.value)
    assert "No Variable was changed" in str(raised.value)
    assert session.run(w) == np.float32(1e20)  # not -inf
    wide = ts.Session(graph=graph, backend=backend, check_numerics=True)  # float64: the same step is finite
    np.testing.assert_allclose(wide.run(step), 1e20 - 1e40, rtol=1e-15)


@pytest.mark.parametrize("backend", ALL)
def test_check_numerics_in_a_float32_graph(backend):
    with ts.Graph().as_default() as graph:
        w = ts.Variable(np.float32(3e38), name="w")
        step = ts.assign(w, w * 2.0)
    session = ts.Session(graph=graph, backend=backend, check_numerics=True)
    with pytest.raises(ts.InvalidArgumentError, match=r"'multiply' \(multiply\) produced inf"):
        session.run(step)
    assert session.run(w) == np.float32(3e38)


def test_the_new_values_of_a_checked_run_are_checked_before_the_commit():
    from symslow.numerics import check_new_values

    with ts.Graph().as_default():
        w = ts.Variable(np.zeros(3), name="w")
        step = ts.assign(w, w + 1.0, name="step")
    check_new_values([step], [np.array([1.0, 2.0, 3.0])])  # finite: nothing to say
    with pytest.raises(ts.InvalidArgumentError) as raised:
        check_new_values([step], [np.array([1.0, np.nan, -np.inf])])
    assert str(raised.value) == ("check_numerics: op 'step' (Assign) would give Variable 'w' nan at index (1,). "
                                 "No Variable was changed.")


# one assignment per Variable per run --------------------------------------------------------------------------------
@pytest.mark.parametrize("backend", ALL)
def test_every_backend_refuses_a_run_assigning_a_variable_twice(backend):
    with ts.Graph().as_default() as graph:
        v = ts.Variable(np.float64(1.0), name="v")
        first, second = ts.assign(v, 2.0, name="first"), ts.assign(v, v * 3.0, name="second")
        other = ts.Variable(np.float64(0.0), name="other")
        also = ts.assign(other, 7.0, name="also")
    session = ts.Session(graph=graph, backend=backend)
    for check in (False, True):
        with pytest.raises(ts.InvalidArgumentError) as raised:
            session.run([also, first, second], check_numerics=check)
        assert str(raised.value) == ("Variable 'v' is assigned twice in one run, by 'first' and 'second'; run them "
                                     "separately.")
        assert float(session.run(v)) == 1.0 and float(session.run(other)) == 0.0  # nothing ran
    assert float(session.run(second)) == 3.0  # one at a time is fine


# hyperparameters ------------------------------------------------------------------------------------------------------
OPTIMIZERS = {
    "GradientDescentOptimizer": (ts.train.GradientDescentOptimizer, {"learning_rate": 0.1}),
    "MomentumOptimizer": (ts.train.MomentumOptimizer, {"learning_rate": 0.1, "momentum": 0.9}),
    "AdamOptimizer": (ts.train.AdamOptimizer, {"learning_rate": 0.1, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8}),
    "RMSPropOptimizer": (ts.train.RMSPropOptimizer, {"learning_rate": 0.1, "decay": 0.9, "momentum": 0.0,
                                                     "epsilon": 1e-10}),
    "AdagradOptimizer": (ts.train.AdagradOptimizer, {"learning_rate": 0.1, "initial_accumulator_value": 0.1}),
}
ARGUMENTS = [(name, argument) for name, (_, defaults) in OPTIMIZERS.items() for argument in defaults]
NOT_NUMBERS = ["0.1", None, True, np.bool_(False), 1 + 2j, np.complex64(1), [0.1], np.array([0.1]), {"a": 1}]
NOT_FINITE = [float("nan"), float("inf"), -float("inf"), np.float32("nan"), np.float64("inf"), 10**400,
              decimal.Decimal("NaN")]


@pytest.mark.parametrize("name, argument", ARGUMENTS)
def test_every_hyperparameter_refuses_what_is_not_a_finite_number(name, argument):
    make, defaults = OPTIMIZERS[name]
    for bad, wanted in [*((b, "a number") for b in NOT_NUMBERS), *((b, "finite") for b in NOT_FINITE)]:
        with pytest.raises(ts.InvalidArgumentError) as raised:
            make(**{**defaults, argument: bad})
        message = str(raised.value)
        assert message.startswith(f"{name}: {argument} must be {wanted}, not "), message
        assert len(message) < 200


RANGES = [("MomentumOptimizer", "momentum", -0.1, ">= 0"), ("AdamOptimizer", "beta1", 1.0, "in [0, 1)"),
          ("AdamOptimizer", "beta2", -0.5, "in [0, 1)"), ("AdamOptimizer", "epsilon", 0.0, "> 0"),
          ("RMSPropOptimizer", "decay", 1.5, "in [0, 1]"), ("RMSPropOptimizer", "epsilon", -1e-10, "> 0"),
          ("AdagradOptimizer", "initial_accumulator_value", 0.0, "> 0"),
          ("GradientDescentOptimizer", "learning_rate", -0.1, ">= 0")]


@pytest.mark.parametrize("name, argument, bad, wanted", RANGES)
def test_every_hyperparameter_has_its_range(name, argument, bad, wanted):
    make, defaults = OPTIMIZERS[name]
    with pytest.raises(ts.InvalidArgumentError) as raised:
        make(**{**defaults, argument: bad})
    assert str(raised.value) == f"{name}: {argument} must be {wanted}, not {float(bad)!r}."


def test_hyperparameters_that_are_real_numbers_of_any_kind_are_taken():
    with ts.Graph().as_default() as graph:
        w = ts.Variable(np.float64(2.0), name="w")
        steps = [ts.train.GradientDescentOptimizer(rate).minimize(ts.square(w))
                 for rate in (fractions.Fraction(1, 4), decimal.Decimal("0.25"), np.float32(0.25), np.array(0.25), 0.25)]
    for train in steps:
        session = ts.Session(graph=graph)
        session.run(train)
        assert float(session.run(w)) == 2.0 - 0.25 * 2 * 2.0  # w - lr dL/dw


def test_flags_and_learning_rate_nodes_are_checked():
    with pytest.raises(ts.InvalidArgumentError, match="MomentumOptimizer: use_nesterov must be True or False, not 'yes'"):
        ts.train.MomentumOptimizer(0.1, 0.9, use_nesterov="yes")
    with pytest.raises(ts.InvalidArgumentError, match="RMSPropOptimizer: centered must be True or False, not 'False'"):
        ts.train.RMSPropOptimizer(0.1, centered="False")
    with ts.Graph().as_default():
        with pytest.raises(ts.InvalidArgumentError, match="learning_rate must be a number, but node 'rate' has dtype"):
            ts.train.GradientDescentOptimizer(ts.constant("fast", name="rate"))


def test_errors_md_states_the_hyperparameter_rules():
    text = open(os.path.join(os.path.dirname(__file__), "..", "docs", "errors.md"), encoding="utf-8").read()
    for example in ("GradientDescentOptimizer: learning_rate must be a number, not '0.1'.",
                    "MomentumOptimizer: momentum must be finite, not inf.", "RMSPropOptimizer: decay must be in [0, 1], not 1.5.",
                    "MomentumOptimizer: use_nesterov must be True or False, not 'yes'."):
        assert example in text
        optimizer, rest = example.split(": ", 1)
        argument, _ = rest.split(" must ", 1)
        make, defaults = OPTIMIZERS[optimizer]
        value = eval(example.rsplit("not ", 1)[1].rstrip("."), {"inf": float("inf")})  # the doc's own example
        with pytest.raises(ts.InvalidArgumentError) as raised:
            make(**{**defaults, argument: value})
        assert str(raised.value) == example


# cycles --------------------------------------------------------------------------------------------------------------
def _cyclic_graph():
    graph = ts.Graph()
    with graph.as_default():
        x = ts.placeholder(ts.float64, name="x")
        w = ts.Variable(np.float64(1.0), name="w")
        a = ts.sigmoid(x * w, name="a")
        b = ts.multiply(a, 2.0, name="__import__('os').system('echo injected')")
        loss = ts.reduce_sum(b, name="loss")
        a.input_nodes[0] = b  # by hand: a now computes from b, which computes from a
    return graph, x, w, a, b, loss


CYCLE = re.escape("The graph has a cycle: \"__import__('os').system('echo injected')\" -> 'a' -> "
                  "\"__import__('os').system('echo injected')\" (each node is an input of the one before)")


@pytest.mark.parametrize("backend", ALL)
def test_a_cycle_is_named_at_run_time(backend):
    graph, x, w, a, b, loss = _cyclic_graph()
    session = ts.Session(graph=graph, backend=backend)
    for fetch in (loss, b, [loss, w]):
        with pytest.raises(ts.InvalidArgumentError, match=CYCLE):
            session.run(fetch, {x: 1.0})
        with pytest.raises(ts.InvalidArgumentError, match=CYCLE):
            session.run(fetch, {x: 1.0}, check_numerics=True)
    assert float(session.run(w)) == 1.0  # the rest of the graph still runs


def test_a_cycle_is_named_at_gradient_time_and_when_printed_or_drawn():
    graph, x, w, a, b, loss = _cyclic_graph()
    with graph.as_default():
        for build in (lambda: ts.gradients(loss, [w]), lambda: ts.train.GradientDescentOptimizer(0.1).minimize(loss),
                      lambda: ts.formula(loss), lambda: ts.latex(loss), lambda: draw(loss),
                      lambda: draw_gradients(loss, [w])):
            with pytest.raises(ts.InvalidArgumentError, match=CYCLE):
                build()


def test_a_long_cycle_is_named_without_recursion():
    with ts.Graph().as_default():
        x = ts.placeholder(ts.float64, name="x")
        nodes = [ts.identity(x, name="n0")]
        for k in range(1, 5000):
            nodes.append(ts.identity(nodes[-1], name=f"n{k}"))
        nodes[0].input_nodes[0] = nodes[-1]
        with pytest.raises(ts.InvalidArgumentError, match=r"The graph has a cycle: 'n4999' -> 'n4998' .* -> \.\.\."):
            ts.Session(backend="interpreter").run(nodes[-1], {x: 1.0})


# names, rendered safely ------------------------------------------------------------------------------------------------
PRINTABLE_HOSTILE = ['a < b & c > "d"', "x]; n0 -> n1 [label=\"pwned\"", "{braces}_\\back\\slash", "100% $ # ^ ~ &amp;",
                     "σ 名前 \U0001f600", "n" * (ts.graph.MAX_NAME_LENGTH - 100)]


@pytest.fixture
def graphviz_dot():
    if shutil.which("dot") is None:
        pytest.fail("Graphviz is missing: diagrams are tested by rendering them. Install it with "
                    "'sudo apt-get install graphviz', or run 'make test' as root, which installs it.")


@pytest.mark.parametrize("name", PRINTABLE_HOSTILE, ids=range(len(PRINTABLE_HOSTILE)))
def test_printable_hostile_names_and_titles_render_in_diagrams(name, graphviz_dot):
    with ts.Graph().as_default():
        x = ts.placeholder(ts.float64, shape=(2,), name=name)
        w = ts.Variable(np.array([1.0, 2.0]), name=name + "w")
        y = ts.reduce_sum(ts.sigmoid(x * w, name=name + "s"), name=name + "y")
        for diagram in (draw(y, {x: [0.5, 1.0]}, title=name), draw_gradients(y, [w], {x: [0.5, 1.0]}, title=name)):
            assert " -> n99" not in diagram.source and "pwned\"" not in diagram.source
            svg = render_svg(diagram)  # Graphviz parses it
            assert "pwned\"" not in svg


def test_a_title_is_text_not_markup(graphviz_dot):
    with ts.Graph().as_default():
        dot = draw(ts.placeholder(name="t"), title="a < b & c\n<B>not bold</B>")
    assert 'label=<a &lt; b &amp; c<BR ALIGN="LEFT"/>&lt;B&gt;not bold&lt;/B&gt;>' in dot.source
    svg = render_svg(dot)
    assert "a &lt; b &amp; c" in svg and "&lt;B&gt;not bold&lt;/B&gt;" in svg


def test_long_names_are_shortened_in_diagrams_only(graphviz_dot):
    long = "layer/" + "w" * 3000
    with ts.Graph().as_default():
        x = ts.placeholder(ts.float64, shape=(2,), name=long + "x")
        y = ts.concat([x * float(k) for k in range(20)], axis=0, name=long + "y")
        dot = draw(y)
    assert long not in dot.source and "…" in dot.source
    assert render_svg(dot).startswith("<?xml")


def _latex_problems(text: str) -> list[str]:
    """What makes ``text`` invalid in LaTeX's math mode: unbalanced braces, or a special character not escaped."""
    problems, depth, k = [], 0, 0
    while k < len(text):
        c = text[k]
        if c == "\\":
            k += 2 if k + 1 < len(text) and not text[k + 1].isalpha() else 1
            while k < len(text) and text[k - 1].isalpha() and text[k].isalpha():
                k += 1
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth < 0:
                problems.append(f"unbalanced }} at {k}")
        elif c in "#$%&":
            problems.append(f"unescaped {c} at {k}")
        k += 1
    if depth:
        problems.append("unbalanced {")
    return problems


LATEX_NAMES = ["a_b", "a_b_c", "a{b", "a}b", "a\\b", "a\\", "a__b", "_a", "a_", "a^b", "a$b", "a%b", "a#b", "a&b",
               "a~b", "a b", "layer1/W", "x{\\frac{1}{0}", "\\end{document}"]


@pytest.mark.parametrize("name", LATEX_NAMES)
def test_latex_of_any_name_is_valid(name):
    mathtext = pytest.importorskip("matplotlib.mathtext")
    with ts.Graph().as_default():
        x = ts.placeholder(ts.float64, name=name)
        node = ts.sigmoid(x) * ts.placeholder(ts.float64, name="W1")
        text = ts.latex(node)
        assert _latex_problems(text) == [], text
        assert node._repr_latex_() == f"${text}$"
        if not any(c in name for c in "#&"):  # matplotlib's subset of LaTeX lacks \# inside \mathrm, and \&
            mathtext.MathTextParser("path").parse(f"${text}$")  # a LaTeX parser accepts it


def test_latex_keeps_sympys_typesetting_of_plain_names():
    with ts.Graph().as_default():
        x, alpha, w1 = (ts.placeholder(ts.float64, shape=(), name=n) for n in ("x_1", "alpha", "W1"))
        assert ts.latex(alpha * x + w1) == r"W_{1} + \alpha x_{1}"


def test_latex_of_different_names_differs():
    names = ["a_b", "a__b", "a^b", "a{b}", "a\\{b\\}", "a b", "a\\ b"]
    with ts.Graph().as_default():
        texts = [ts.latex(ts.placeholder(name=n) * 2) for n in names]
    assert len(set(texts)) == len(texts)


# checkpoints ------------------------------------------------------------------------------------------------------------
def test_checkpoint_keys_round_trip_whatever_the_names(tmp_path):
    names = ["file", "allow_pickle", "kwds", "a.npy", "a", "a/b", "/lead", "σ 名前", "\U0001f600" * ts.graph.MAX_NAME_LENGTH,
             "quote'\"", "back\\slash"]
    with ts.Graph().as_default():
        variables = [ts.Variable(np.full(2, float(k)), name=n) for k, n in enumerate(names)]
        session = ts.Session()
        session.run([ts.assign(v, v + 0.5) for v in variables])
        prefix = ts.train.Saver().save(session, str(tmp_path / "model"))
        with np.load(prefix + ".npz", allow_pickle=False) as archive:  # NumPy reads it as its own .npz
            assert sorted(archive.files) == sorted(names)
            for k, n in enumerate(names):  # member by member (NumPy's archive["a.npy"] would give a.npy, key "a")
                with archive.zip.open(n + ".npy") as member:
                    np.testing.assert_array_equal(np.lib.format.read_array(member), np.full(2, k + 0.5))
        fresh = ts.Session()
        ts.train.Saver().restore(fresh, prefix)
        for k, v in enumerate(variables):
            np.testing.assert_array_equal(fresh.run(v), np.full(2, k + 0.5))


def test_names_that_a_zip_file_would_merge_are_refused():
    with ts.Graph().as_default():
        ts.Variable(1.0, name="v")
        with pytest.raises(ts.InvalidArgumentError, match="cannot hold a control character: 'v\\\\x00a'"):
            ts.Variable(2.0, name="v\x00a")  # a zip file name ends at a NUL: it would be saved as 'v'
        w = ts.Variable(3.0, name="w")
        with pytest.raises(ts.InvalidArgumentError) as raised:
            ts.train.Saver({"w\x00b": w})
    assert str(raised.value) == ("Saver: the name of Variable 'w' in the file cannot hold a control character: "
                                 "'w\\x00b' has '\\x00' at index 1.")


# TensorFlow's gradients at kinks ---------------------------------------------------------------------------------------
def _tf_rules(x, y):
    """TensorFlow's gradients, written as its math_grad.py masks them (the reference)."""
    return {
        "relu": (x > 0).astype(float),
        "maximum": ((x >= y).astype(float), (~(x >= y)).astype(float)),
        "minimum": ((x <= y).astype(float), (~(x <= y)).astype(float)),
    }


@pytest.mark.parametrize("backend", ALL)
def test_gradients_at_ties_follow_tensorflow(backend):
    values_x = np.array([-1.0, 0.0, 0.0, 2.0, 3.0, -0.0])
    values_y = np.array([0.0, 0.0, 1.0, 2.0, 1.0, 0.0])
    with ts.Graph().as_default():
        x = ts.placeholder(ts.float64, shape=(6,), name="x")
        y = ts.placeholder(ts.float64, shape=(6,), name="y")
        grads = {
            "relu": ts.gradients(ts.reduce_sum(ts.nn.relu(x)), [x]),
            "maximum": ts.gradients(ts.reduce_sum(ts.maximum(x, y)), [x, y]),
            "minimum": ts.gradients(ts.reduce_sum(ts.minimum(x, y)), [x, y]),
            "max0": ts.gradients(ts.reduce_sum(ts.maximum(x, 0.0)), [x]),  # a constant operand
            "same": ts.gradients(ts.reduce_sum(ts.maximum(x, x)), [x]),  # both operands one node
            "relu2": ts.gradients(ts.gradients(ts.reduce_sum(ts.nn.relu(x) * x), [x])[0], [x]),
        }
        got = ts.Session(backend=backend).run(grads, {x: values_x, y: values_y})
    expected = _tf_rules(values_x, values_y)
    np.testing.assert_array_equal(got["relu"][0], expected["relu"])
    for op in ("maximum", "minimum"):
        np.testing.assert_array_equal(got[op][0], expected[op][0])
        np.testing.assert_array_equal(got[op][1], expected[op][1])
    np.testing.assert_array_equal(got["max0"][0], (values_x >= 0).astype(float))
    np.testing.assert_array_equal(got["same"][0], np.ones(6))  # TF: 1 to the first operand, 0 to the second
    np.testing.assert_array_equal(got["relu2"][0], 2 * expected["relu"])  # d²(relu(x) x)/dx² = 2 [x > 0]


@pytest.mark.parametrize("backend", ALL)
def test_clip_and_elu_gradients_at_their_kinks_follow_tensorflow(backend):
    t = np.array([-2.0, -1.0, 0.0, 1.0, 2.0])
    with ts.Graph().as_default():
        x = ts.placeholder(ts.float64, shape=(5,), name="t")
        low = ts.Variable(np.float64(-1.0), name="low")
        high = ts.Variable(np.float64(1.0), name="high")
        clip = ts.gradients(ts.reduce_sum(ts.clip_by_value(x, low, high)), [x, low, high])
        elu = ts.gradients(ts.reduce_sum(ts.nn.elu(x)), [x])
        got_clip, got_elu = ts.Session(backend=backend).run([clip, elu], {x: t})
    # TensorFlow 1's clip_by_value is maximum(minimum(t, high), low): the masks of _MinimumGrad, then _MaximumGrad
    inner = np.minimum(t, 1.0)
    to_inner, to_high = (t <= 1.0).astype(float), (~(t <= 1.0)).astype(float)
    to_t = (inner >= -1.0) * to_inner
    to_low = (~(inner >= -1.0)).astype(float)
    np.testing.assert_array_equal(got_clip[0], to_t)
    assert float(got_clip[1]) == to_low.sum() and float(got_clip[2]) == ((inner >= -1.0) * to_high).sum()
    np.testing.assert_allclose(got_elu[0], np.where(t < 0, np.exp(t), 1.0), rtol=1e-15)  # TF's EluGrad
    assert got_elu[0][2] == 1.0  # at the kink: 1, not SymPy's 1/2 + 1/2 by luck


def test_the_convention_is_stated_where_the_formulas_are():
    text = importlib.import_module("symslow.ops.elementwise").step.__doc__
    for rule in ("``relu(x)``: ``[x > 0]``", "``maximum(x, y)``: ``[x >= y]`` to x", "``minimum(x, y)``: ``[x <= y]`` to x"):
        assert rule in text
