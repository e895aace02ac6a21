"""Bad input: each case fails with a message naming what is wrong, and no Variable changes."""

from __future__ import annotations

import ast

import numpy as np
import pytest

import symslow as ts


class Model:
    """A small trained model: one successful step has already moved ``w`` away from its initial value."""

    def __init__(self, backend: str = "numpy"):
        self.graph = ts.Graph()
        with self.graph.as_default():
            self.x = ts.placeholder(ts.float64, shape=(None, 2), name="x")
            self.n = ts.placeholder(ts.int64, shape=(), name="n")
            self.w = ts.Variable(np.array([[0.5], [-0.25]]), name="w")
            self.loss = ts.reduce_sum(ts.square(ts.matmul(self.x, self.w)), name="loss")
            self.train = ts.train.GradientDescentOptimizer(0.1).minimize(self.loss)
        self.session = ts.Session(graph=self.graph, backend=backend)
        self.session.run(self.train, {self.x: [[1.0, 1.0]]})
        self.before = self.session.run(self.w)
        assert not np.array_equal(self.before, [[0.5], [-0.25]])

    def unchanged(self) -> bool:
        return np.array_equal(self.session.run(self.w), self.before)


@pytest.fixture(params=["numpy", "interpreter"])
def model(request):
    return Model(request.param)


def fails(model: Model, feed, *needles: str, error=ts.InvalidArgumentError, fetch=None) -> str:
    with pytest.raises(error) as raised:
        model.session.run(model.train if fetch is None else fetch, feed)
    message = str(raised.value)
    for needle in needles:
        assert needle in message, f"{needle!r} not in {message!r}"
    assert model.unchanged(), "a failed run changed a Variable"
    return message


def test_missing_feed(model):
    fails(model, {}, "You must feed a value for placeholder 'x'", "(?, 2)", "feed_dict={x: ...}")


def test_wrong_shape(model):
    fails(model, {model.x: [1.0, 2.0, 3.0]}, "placeholder 'x'", "shape (3,)", "shape is (?, 2)")
    fails(model, {model.x: [[1.0, 2.0, 3.0]]}, "placeholder 'x'", "shape (1, 3)", "(?, 2)")


def test_wrong_dtype(model):
    fails(model, {model.x: [[1 + 2j, 0.0]]}, "placeholder 'x'", "not numeric", "complex128")
    fails(model, {model.n: 2.5}, "placeholder 'n'", "non-integer", "int64", fetch=model.n * 2)


def test_ragged_lists(model):
    fails(model, {model.x: [[1.0, 2.0], [3.0]]}, "placeholder 'x'", "not a numeric array", "[[1.0, 2.0], [3.0]]")


def test_strings(model):
    fails(model, {model.x: [["1", "2"]]}, "placeholder 'x'", "not numeric", "<U1")
    fails(model, {model.x: "1, 2"}, "placeholder 'x'", "not numeric", "'1, 2'")


def test_none(model):
    fails(model, {model.x: None}, "placeholder 'x'", "not numeric", "None")


def test_fetch_of_a_node_from_another_graph(model):
    with ts.Graph().as_default():
        stranger = ts.placeholder(name="stranger") * 2
    fails(model, {model.x: [[1.0, 2.0]]}, "Fetch 'multiply'", "another graph", error=ts.GraphMismatchError,
          fetch=[model.train, stranger])
    with ts.Graph().as_default():
        other_x = ts.placeholder(name="x")
    fails(model, {model.x: [[1.0, 2.0]], other_x: 1.0}, "Placeholder 'x' in feed_dict belongs to another graph",
          error=ts.GraphMismatchError)


@pytest.mark.parametrize("fetch", [3, "loss", None, [1.5], {"a": object()}])
def test_a_fetch_that_is_not_a_node(model, fetch):
    message = fails(model, {model.x: [[1.0, 2.0]]}, "A fetch must be a node", error=TypeError,
                    fetch=[model.train, fetch])
    assert "not" in message


def test_a_feed_key_that_is_not_a_placeholder(model):
    fails(model, {"x": [[1.0, 2.0]]}, "feed_dict keys must be placeholders", "'x' is not one")
    fails(model, {model.w: [[1.0], [1.0]], model.x: [[1.0, 2.0]]}, "node 'w' (Variable) is not one")


def test_duplicate_names_are_made_unique_as_in_tensorflow():
    """An explicitly requested name that is taken gets a suffix (``x``, ``x_1``), as TensorFlow 1 does."""
    with ts.Graph().as_default() as graph:
        first = ts.placeholder(ts.float64, name="x")
        second = ts.placeholder(ts.float64, name="x")
        with ts.name_scope("layer"):
            a = ts.Variable(np.array(1.0), name="w")
        with ts.name_scope("layer"):
            b = ts.Variable(np.array(2.0), name="w")
    assert (first.name, second.name) == ("x", "x_1")
    assert (a.name, b.name) == ("layer/w", "layer/w_1")
    assert graph.get_node("x") is first and graph.get_node("x_1") is second
    assert ts.Session(graph=graph).run(first - second, {first: 5.0, second: 3.0}) == 2.0
    with pytest.raises(KeyError, match="no node named 'x_2'"):
        graph.get_node("x_2")


@pytest.mark.parametrize("bad", [None, "", 3, ["x"]])
def test_a_name_that_is_not_a_nonempty_string(bad):
    with ts.Graph().as_default():
        if bad is None:
            assert ts.placeholder(name=bad).name == "Placeholder"  # None means: the default name
            return
        with pytest.raises(ts.InvalidArgumentError, match="A node name is a non-empty string, not"):
            ts.placeholder(name=bad)
        with pytest.raises(ts.InvalidArgumentError, match="A name scope is a non-empty string"):
            with ts.name_scope(bad):
                pass


HOSTILE = [
    "quote'\"",
    "x; import os; os.system('echo injected') #",
    "\"\"\"; raise SystemExit; \"\"\"",
    "back\\slash\\n{braces} $dollar% &amp; <b>",
    "__import__('os').getcwd()",
    "σ 名前 \U0001f600",
]

# characters that change what printed text shows or means: refused in names, where each would reach a comment, a
# diagram, a file format
UNPRINTABLE = ["\n", "\r", "\t", "\x0c", "\x00", "\x7f", "\x85", "\u2028", "\u2029", "\ud800", "\u202e", "\u200b",
               "\ufeff"]


@pytest.mark.parametrize("character", UNPRINTABLE, ids=[f"U+{ord(c):04X}" for c in UNPRINTABLE])
def test_a_name_with_an_unprintable_character_is_refused(character):
    name = f"x{character}import os"
    with ts.Graph().as_default() as graph:
        for make in (lambda: ts.placeholder(name=name), lambda: ts.Variable(1.0, name=name),
                     lambda: ts.constant(1.0, name=name), lambda: ts.exp(ts.constant(1.0), name=name)):
            with pytest.raises(ts.InvalidArgumentError) as raised:
                make()
            message = str(raised.value)
            assert message.startswith("A node name cannot hold a ") and repr(character) in message
            assert "at index 1" in message and character not in message
        with pytest.raises(ts.InvalidArgumentError, match="A name scope cannot hold a "):
            with ts.name_scope(name):
                pass
    assert [n.name for n in graph.nodes] == ["Const"]  # the input of exp; no node was made with the name


def test_a_name_too_long_is_refused_and_the_longest_works():
    longest = "n" * ts.graph.MAX_NAME_LENGTH
    with ts.Graph().as_default():
        x = ts.placeholder(ts.float64, name=longest)
        assert x.name == longest and float(ts.Session().run(x * 2, {x: 1.5})) == 3.0
        long = ts.placeholder(ts.float64, name="n" * (ts.graph.MAX_NAME_LENGTH - 100))
        (grad,) = ts.gradients(ts.square(long, name="sq"), [long])  # "gradients/<name>_grad/..." still fits
        assert float(ts.Session().run(grad, {long: 3.0})) == 6.0
        with pytest.raises(ts.InvalidArgumentError, match=f"at most {ts.graph.MAX_NAME_LENGTH} characters"):
            ts.placeholder(name=longest + "n")
        with pytest.raises(ts.InvalidArgumentError, match=f"at most {ts.graph.MAX_NAME_LENGTH} characters"):
            with ts.name_scope("scope"):
                ts.placeholder(name=longest)  # the scope makes it too long


def _build(names: list[str], scope: str):
    graph = ts.Graph()
    with graph.as_default():
        with ts.name_scope(scope):
            x = ts.placeholder(ts.float64, shape=(None,), name=names[0])
            w = ts.Variable(np.array(2.0), name=names[1])
            y = ts.reduce_sum(ts.sigmoid(x * w, name=names[2]), name=names[3])
        (dw,) = ts.gradients(y, [w])
        train = ts.train.GradientDescentOptimizer(0.5).minimize(y)
    return graph, x, w, y, dw, train


def _code_lines(source: str) -> list[str]:
    """The source without comments and without the docstring: what would run."""
    tree = ast.parse(source)
    return [line.split("#")[0].rstrip() for line in ast.unparse(tree).splitlines() if line.strip()]


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_names_and_scopes_reach_only_comments(hostile):
    graph, x, w, y, dw, train = _build([hostile, hostile + "w", hostile + "s", hostile + "r"], hostile)
    plain_graph, px, pw, py, pdw, ptrain = _build(["a", "b", "c", "d"], "scope")
    assert x.name == hostile + "/" + hostile  # the name is kept as given (scopes add the slash)
    session, plain = ts.Session(graph=graph), ts.Session(graph=plain_graph)
    source = session.source([y, dw, train], {x: [0.5]})
    plain_source = plain.source([py, pdw, ptrain], {px: [0.5]})
    # the code that runs is the same whatever the names: they reach comments only
    assert _code_lines(source) == _code_lines(plain_source)
    markers = ["quote", "import os", "injected", "SystemExit", "slash", "getcwd", "σ"]
    for line in source.splitlines():
        if any(marker in line for marker in markers):
            assert line.lstrip().startswith("#"), line
    got = session.run([y, dw, train], {x: [0.5, -1.0]})
    expected = plain.run([py, pdw, ptrain], {px: [0.5, -1.0]})
    np.testing.assert_allclose(got[0], expected[0])
    np.testing.assert_allclose(got[1], expected[1])
    np.testing.assert_allclose(session.run(w), plain.run(pw))


def test_hostile_name_in_an_error_message_is_quoted():
    with ts.Graph().as_default():
        x = ts.placeholder(ts.float64, shape=(2,), name="x' has shape (2,). FAKE: all is 'well")
        with pytest.raises(ts.InvalidArgumentError) as raised:
            ts.Session().run(x, {x: [1.0]})
    assert "placeholder \"x' has shape (2,). FAKE: all is 'well\" has shape (1,)" in str(raised.value)


def test_optimizer_given_a_non_scalar_loss(model):
    with model.graph.as_default():
        per_row = ts.matmul(model.x, model.w, name="per_row")
        with pytest.raises(ts.InvalidArgumentError) as raised:
            ts.train.GradientDescentOptimizer(0.1).minimize(per_row)
    message = str(raised.value)
    assert "'per_row'" in message and "(?, 1)" in message and "scalar" in message and "reduce_sum" in message
    assert model.unchanged()


@pytest.mark.parametrize("rate", ["0.1", None, [0.1], True, float("nan"), float("inf"), 1 + 1j])
def test_learning_rate_that_is_not_a_number(model, rate):
    with model.graph.as_default():
        with pytest.raises(ts.InvalidArgumentError) as raised:
            ts.train.GradientDescentOptimizer(rate).minimize(model.loss)
    message = str(raised.value)
    assert "GradientDescentOptimizer: learning_rate must be" in message and repr(rate) in message
    assert model.unchanged()


def test_optimizer_given_something_that_is_not_a_node(model):
    with pytest.raises(TypeError, match=r"minimize takes the loss node, not 3\.0"):
        ts.train.GradientDescentOptimizer(0.1).minimize(3.0)
    assert model.unchanged()


def test_a_run_failing_after_an_update_was_computed_changes_nothing(model):
    """The update of ``w`` computes fine; the fetch next to it fails: neither update nor anything else lands."""
    with model.graph.as_default():
        wrong = ts.matmul(model.x, ts.reshape(model.x, (-1, 1)), name="misaligned")
    fails(model, {model.x: [[1.0, 2.0], [3.0, 4.0]]}, "misaligned", fetch=[model.train, wrong])
