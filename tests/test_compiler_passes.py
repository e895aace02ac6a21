"""Each pass of the compiler on its own, on small graphs, by what it decides rather than by the text it prints:
the schedule (shapes, liveness, readers), the line passes (liveness of lines, reuse of an earlier line) and the
placing of code into a template (the parentheses Python's precedence needs)."""

from __future__ import annotations

import numpy as np

import symslow as ts
from symslow.compiler.code import Code, _fill, _Line, _name, _precedence
from symslow.compiler.lines import _live, _reuse_lines
from symslow.compiler.schedule import known_shapes, schedule
from symslow.graph import topological_order


def _schedule_of(results, fed_shapes=None):
    order = topological_order(results)
    known = known_shapes(order, fed_shapes or {})
    return order, known, schedule(order, results, known)


def test_the_fed_shapes_decide_the_shapes_of_what_is_computed_from_them():
    ts.Graph().as_default()
    x = ts.placeholder(ts.float64, shape=(None, 3))
    W = ts.Variable(np.ones((3, 4)))
    y = ts.reduce_sum(ts.matmul(x, W), axis=1)
    order, known, _ = _schedule_of([y], {x: (5, 3)})
    assert known[id(y.input_nodes[0])] == (5, 4) and known[id(y)] == (5,)
    order, known, _ = _schedule_of([y])  # nothing fed: the batch size stays open
    assert id(y) not in known and known[id(W)] == (3, 4)


def test_an_input_that_only_lends_its_shape_is_not_computed_once_shapes_are_known():
    ts.Graph().as_default()
    x = ts.placeholder(ts.float64, shape=(2, 3))
    e = ts.exp(x)
    zeros = ts.zeros_like(e)
    _, _, plan = _schedule_of([zeros])
    assert id(zeros) in plan.live and id(e) not in plan.live and id(x) not in plan.live

    ts.Graph().as_default()  # the shape unknown when compiling: e is computed for its shape at run time
    x = ts.placeholder(ts.float64)
    e = ts.exp(x)
    zeros = ts.zeros_like(e)
    _, _, plan = _schedule_of([zeros])
    assert id(e) in plan.live


def test_the_schedule_counts_the_readers_of_each_node_and_marks_those_an_opaque_op_reads():
    class doubled(ts.Operation):  # defined by compute() alone: the compiler calls it back
        def __init__(self, x):
            super().__init__([x])

        def compute(self, x_value):
            return 2 * x_value

    ts.Graph().as_default()
    x = ts.placeholder(ts.float64, shape=(3,))
    s = ts.sigmoid(x)
    y = s * s + ts.tanh(s)
    z = doubled(ts.exp(x))
    _, _, plan = _schedule_of([y, z])
    assert plan.uses[id(s)] == 3  # s * s reads it twice, tanh once
    assert plan.uses[id(x)] == 2
    assert id(z.input_nodes[0]) in plan.opaque_consumer and id(s) not in plan.opaque_consumer
    assert plan.reads[id(y)] == list(y.input_nodes)


def _line(name, text, reads):
    return _Line(node=None, name=name, text=text, names=frozenset(reads))


def test_lines_no_result_needs_are_dropped_and_kept_ones_stay():
    lines = [_line("v1", "v0 + 1", {"v0"}), _line("v2", "v0 * 2", {"v0"}), _line("v3", "v1 - 1", {"v1"}),
             _Line(node=None, name="v4", text="call()", names=frozenset(), kept=True)]
    kept = _live(lines, [_name("v3")])
    assert [line.name for line in kept] == ["v1", "v3", "v4"]


def test_a_part_written_as_an_earlier_line_reads_that_lines_name():
    lines = [_line("v1", "numpy.maximum(v0, 0)", {"v0"}),
             _line("v2", "numpy.sign(numpy.maximum(v0, 0)) * v9", {"v0", "v9"})]
    reused = _reuse_lines(lines)
    assert reused[1].text == "numpy.sign(v1) * v9" and "v1" in reused[1].names
    assert reused[0].text == lines[0].text  # a line is never replaced as a whole


def test_code_is_parenthesised_where_its_place_needs_it():
    def code(text):
        return Code(text, _precedence(text))

    assert _fill("__a0__ - __a1__", {0: code("a"), 1: code("b - c")}) == "a - (b - c)"
    assert _fill("__a0__ - __a1__", {0: code("a - b"), 1: code("c")}) == "a - b - c"
    assert _fill("__a0__ * __a1__", {0: code("a"), 1: code("-b")}) == "a * (-b)"
    assert _fill("__a0__ ** 2", {0: code("-a")}) == "(-a) ** 2"
    assert _fill("__a0__.T", {0: code("a @ b")}) == "(a @ b).T"


def test_a_random_op_that_reads_only_shapes_is_drawn_before_the_step_where_the_backend_hoists_draws():
    ts.Graph().as_default()
    x = ts.placeholder(ts.float64, shape=(4, 3))
    mask = ts.nn.dropout(ts.exp(x), keep_prob=0.5).input_nodes[1]  # floor(keep + u): u reads exp(x)'s shape alone
    (draw,) = [n for n in topological_order([mask]) if n.op_type == "RandomUniform"]
    _, _, kept = _schedule_of([mask])
    assert id(draw) not in kept.draws and kept.reads[id(draw)] == list(draw.input_nodes)
    order = topological_order([mask])
    hoisted = schedule(order, [mask], known_shapes(order, {}), hoists_draws=True)
    assert hoisted.draws == {id(draw)} and hoisted.reads[id(draw)] == []
    assert id(draw.input_nodes[0]) not in hoisted.live  # exp(x) only lent its shape: not computed
    shuffled = ts.random_shuffle(x)  # reads the values it reorders: never drawn before
    order = topological_order([shuffled])
    assert schedule(order, [shuffled], known_shapes(order, {}), hoists_draws=True).draws == set()
