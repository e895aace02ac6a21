"""TensorFlow 1's shape, movement and indexing ops: reshape, squeeze, expand_dims, concat, stack, unstack, split,
slice, indexing, gather, tile, pad, reverse, one_hot, shape / size / rank, matrix_inverse.

Every differentiable case runs on the interpreter and on every compiled backend present (the parametrisation of
test_backends.py), with static shapes and with shapes known only when fed; its value is checked against NumPy
written out here and its gradient against central finite differences.
"""

import numpy as np
import pytest

import symslow as tf
from symslow.testing import numeric_gradient
from test_backends import WITH_INTERPRETER, _numpy_in_cupys_place, check_value_and_gradient  # noqa: F401

rng = np.random.default_rng(11)
ANY = lambda *shape: rng.uniform(-2.0, 2.0, shape)  # noqa: E731
INVERTIBLE = ANY(3, 3) + 4 * np.eye(3)


def _ints(values):
    return tf.constant(np.array(values, dtype=np.int32))


def _pad_reference(a, widths, mode):
    return np.pad(a, widths, mode={"REFLECT": "reflect", "SYMMETRIC": "symmetric"}[mode])


# (name, builder, NumPy reference, input values): work with static shapes and with shapes known only when fed
CASES = [
    ("reshape_minus_one", lambda a: tf.reshape(a, [-1, 3]), lambda a: a.reshape(4, 3), [ANY(2, 3, 2)]),
    ("squeeze_all", lambda a: tf.squeeze(a), lambda a: a[:, 0, :, 0], [ANY(3, 1, 2, 1)]),
    ("squeeze_dims", lambda a: tf.squeeze(a, squeeze_dims=[1]), lambda a: a[:, 0], [ANY(3, 1, 2, 1)]),
    ("squeeze_negative_axis", lambda a: tf.squeeze(a, axis=-1), lambda a: a[..., 0], [ANY(3, 1, 2, 1)]),
    ("expand_dims_0", lambda a: tf.expand_dims(a, 0), lambda a: a[None], [ANY(3, 2)]),
    ("expand_dims_last_dim", lambda a: tf.expand_dims(a, dim=-1), lambda a: a[:, :, None], [ANY(3, 2)]),
    ("concat_rows", lambda a, b: tf.concat([a, b], 0), lambda a, b: np.vstack([a, b]), [ANY(2, 3), ANY(1, 3)]),
    ("concat_three_columns", lambda a, b, c: tf.concat([a, b, c], axis=1), lambda a, b, c: np.hstack([a, b, c]),
     [ANY(2, 1), ANY(2, 3), ANY(2, 2)]),
    ("concat_negative_axis", lambda a, b: tf.concat([a, b], -1), lambda a, b: np.dstack([a, b]),
     [ANY(2, 3, 1), ANY(2, 3, 2)]),
    ("concat_one_input_twice", lambda a: tf.concat([a, 2 * a], 1), lambda a: np.hstack([a, 2 * a]), [ANY(2, 2)]),
    ("stack", lambda a, b: tf.stack([a, b]), lambda a, b: np.array([a, b]), [ANY(2, 3), ANY(2, 3)]),
    ("stack_axis_1", lambda a, b, c: tf.stack([a, b, c], axis=1),
     lambda a, b, c: np.transpose(np.array([a, b, c]), (1, 0, 2)), [ANY(2, 3), ANY(2, 3), ANY(2, 3)]),
    ("stack_last_axis", lambda a, b: tf.stack([a, b], axis=-1), lambda a, b: np.dstack([a, b]), [ANY(2, 3), ANY(2, 3)]),
    ("unstack", lambda a: (lambda u: u[2] * 2.0 + u[0])(tf.unstack(a, num=3, axis=1)),
     lambda a: a[:, 2] * 2.0 + a[:, 0], [ANY(2, 3)]),
    ("split_even", lambda a: (lambda p: p[0] - 2.0 * p[2])(tf.split(a, 3, axis=1)),
     lambda a: a[:, 0:2] - 2.0 * a[:, 4:6], [ANY(2, 6)]),
    ("split_sizes", lambda a: (lambda p: p[0] * p[2])(tf.split(a, [2, 1, 2])), lambda a: a[0:2] * a[3:5], [ANY(5, 2)]),
    ("split_rest", lambda a: (lambda p: tf.reduce_sum(p[1], axis=0) + p[0])(tf.split(a, [1, -1], axis=0)),
     lambda a: a[1:].sum(axis=0) + a[0:1], [ANY(4, 2)]),
    ("slice", lambda a: tf.slice(a, [1, 0], [2, -1]), lambda a: a[1:3, :], [ANY(4, 3)]),
    ("slice_3d", lambda a: tf.slice(a, [0, 1, 1], [2, 1, 2]), lambda a: a[0:2, 1:2, 1:3], [ANY(2, 3, 4)]),
    ("index_column", lambda a: a[:, 0], lambda a: a[:, 0], [ANY(3, 2)]),
    ("index_rows", lambda a: a[1:3], lambda a: a[1:3], [ANY(4, 2)]),
    ("index_new_last_axis", lambda a: a[..., None], lambda a: a[..., None], [ANY(3, 2)]),
    ("index_last_row", lambda a: a[-1], lambda a: a[-1], [ANY(3, 2)]),
    ("index_inner", lambda a: a[:, 1:-1], lambda a: a[:, 1:-1], [ANY(2, 4)]),
    ("index_mixed", lambda a: a[None, :, 0], lambda a: a[None, :, 0], [ANY(3, 2)]),
    ("index_ellipsis", lambda a: a[1, ..., 1:], lambda a: a[1, ..., 1:], [ANY(2, 3, 4)]),
    ("index_clipped", lambda a: a[1:10], lambda a: a[1:10], [ANY(3, 2)]),
    ("gather_rows", lambda a: tf.gather(a, _ints([2, 0, 2])), lambda a: a[[2, 0, 2]], [ANY(3, 2)]),
    ("gather_axis_1_matrix_of_indices", lambda a: tf.gather(a, _ints([[1, 1], [0, 2]]), axis=1),
     lambda a: a[:, [[1, 1], [0, 2]]], [ANY(2, 3, 2)]),
    ("gather_one_index", lambda a: tf.gather(a, _ints(1)), lambda a: a[1], [ANY(3, 2)]),
    ("tile", lambda a: tf.tile(a, [2, 3]), lambda a: np.tile(a, (2, 3)), [ANY(2, 2)]),
    ("tile_one_axis", lambda a: tf.tile(a, [1, 1, 2]), lambda a: np.concatenate([a, a], axis=2), [ANY(2, 1, 2)]),
    ("pad_zeros", lambda a: tf.pad(a, [[1, 0], [2, 1]]), lambda a: np.pad(a, ((1, 0), (2, 1))), [ANY(2, 3)]),
    ("pad_value", lambda a: tf.pad(a, [[0, 2]], constant_values=1.5), lambda a: np.pad(a, (0, 2), constant_values=1.5),
     [ANY(3)]),
    ("pad_reflect", lambda a: tf.pad(a, [[1, 1], [2, 1]], "REFLECT"),
     lambda a: _pad_reference(a, ((1, 1), (2, 1)), "REFLECT"), [ANY(3, 4)]),
    ("pad_symmetric", lambda a: tf.pad(a, [[2, 0], [1, 3]], mode="symmetric"),
     lambda a: _pad_reference(a, ((2, 0), (1, 3)), "SYMMETRIC"), [ANY(3, 4)]),
    ("reverse", lambda a: tf.reverse(a, [1]), lambda a: a[:, ::-1], [ANY(2, 3)]),
    ("one_hot_times", lambda a: tf.one_hot(_ints([0, 2, 1]), 3, dtype=tf.float64) * a,
     lambda a: np.eye(3)[[0, 2, 1]] * a, [ANY(3, 3)]),
    ("matrix_inverse", lambda a: tf.matrix_inverse(a), np.linalg.inv, [INVERTIBLE]),
    ("matrix_inverse_adjoint", lambda a: tf.matrix_inverse(a, adjoint=True), lambda a: np.linalg.inv(a.T),
     [INVERTIBLE.copy()]),
]

# steps other than 1 need the static size of their axis
STATIC_CASES = [
    ("index_step_2", lambda a: a[::2], lambda a: a[::2], [ANY(5, 2)]),
    ("index_reversed", lambda a: a[::-1], lambda a: a[::-1], [ANY(3, 2)]),
    ("index_columns_backwards", lambda a: a[:, 3:0:-2], lambda a: a[:, 3:0:-2], [ANY(2, 5)]),
]

PARAMS = [pytest.param(*c, s, id=f"{c[0]}-{'static' if s else 'unknown'}") for c in CASES for s in (True, False)]
PARAMS += [pytest.param(*c, True, id=f"{c[0]}-static") for c in STATIC_CASES]


def _placeholders(values, static_shapes):
    return [tf.placeholder(tf.float64, shape=v.shape if static_shapes else None, name=f"in{i}")
            for i, v in enumerate(values)]


@pytest.mark.parametrize("backend", WITH_INTERPRETER)
@pytest.mark.parametrize("name, builder, reference, values, static_shapes", PARAMS)
def test_value_and_gradient(name, builder, reference, values, static_shapes, backend):
    tf.Graph().as_default()
    inputs = _placeholders(values, static_shapes)
    y = builder(*inputs)
    expected = reference(*values)
    if static_shapes:
        assert tuple(y.shape) == expected.shape
    check_value_and_gradient(name, tf.Session(backend=backend), y, inputs, values, reference)


# second derivatives: the gradient of a slice's gradient (a pad) is a slice, of a gather's (a scatter-add) a gather
SECOND = [
    ("slice", lambda a: tf.reduce_sum(tf.square(a[1:, :2]) * a[1:, :2]), lambda a: np.sum(a[1:, :2] ** 3)),
    ("concat", lambda a: tf.reduce_sum(tf.concat([a, tf.square(a)], 0) ** 3),
     lambda a: np.sum(a ** 3) + np.sum(a ** 6)),
    ("split", lambda a: tf.reduce_sum(tf.split(a, 2, axis=1)[1] ** 3), lambda a: np.sum(a[:, 2:] ** 3)),
    ("gather", lambda a: tf.reduce_sum(tf.gather(a, _ints([1, 1, 0])) ** 3), lambda a: np.sum(a[[1, 1, 0]] ** 3)),
    ("pad", lambda a: tf.reduce_sum(tf.pad(a, [[1, 2], [0, 1]]) ** 3), lambda a: np.sum(a ** 3)),
]


@pytest.mark.parametrize("backend", WITH_INTERPRETER)
@pytest.mark.parametrize("static_shapes", [True, False], ids=["static", "unknown"])
@pytest.mark.parametrize("name, builder, reference", SECOND, ids=[c[0] for c in SECOND])
def test_gradient_of_gradient(name, builder, reference, static_shapes, backend):
    tf.Graph().as_default()
    value = ANY(3, 4)
    (a,) = _placeholders([value], static_shapes)
    (g,) = tf.gradients(builder(a), [a])
    weights = np.random.default_rng(3).uniform(0.5, 1.5, value.shape)
    (h,) = tf.gradients(tf.reduce_sum(g * weights), [a])
    session = tf.Session(backend=backend)
    first, second = session.run([g, h], {a: value})
    np.testing.assert_allclose(first, numeric_gradient(reference, value), rtol=1e-6, atol=1e-8)
    expected = numeric_gradient(lambda v: float(np.sum(numeric_gradient(reference, v, 1e-4) * weights)), value, 1e-4)
    np.testing.assert_allclose(second, expected, rtol=1e-4, atol=1e-5)


# shape facts and one_hot: values on every backend, no gradient ------------------------------------------------------
@pytest.mark.parametrize("backend", WITH_INTERPRETER)
@pytest.mark.parametrize("static_shapes", [True, False], ids=["static", "unknown"])
def test_shape_size_and_rank(static_shapes, backend):
    tf.Graph().as_default()
    value = ANY(4, 3, 2)
    (x,) = _placeholders([value], static_shapes)
    facts = [tf.shape(x), tf.size(x), tf.rank(x), tf.shape(x, out_type=tf.int64)]
    assert facts[0].shape == ((3,) if static_shapes else (None,))
    assert facts[1].shape == () and facts[2].shape == ()
    shape, size, rank, shape64 = tf.Session(backend=backend).run(facts, {x: value})
    np.testing.assert_array_equal(shape, [4, 3, 2])
    assert np.asarray(shape).dtype == np.int32 and np.asarray(shape64).dtype == np.int64
    assert int(size) == 24 and np.asarray(size).dtype == np.int32
    assert int(rank) == 3
    assert facts[0].gradient(tf.ones_like(facts[0]), 0) is None  # no gradient flows through a shape
    (grad,) = tf.gradients(tf.reduce_sum(tf.cast(tf.shape(x), tf.float64)) + tf.reduce_sum(x), [x])
    np.testing.assert_array_equal(tf.Session(backend=backend).run(grad, {x: value}), np.ones_like(value))


@pytest.mark.parametrize("backend", WITH_INTERPRETER)
def test_one_hot(backend):
    tf.Graph().as_default()
    labels = tf.placeholder(tf.int32, shape=(None,), name="labels")
    codes = [tf.one_hot(labels, 4), tf.one_hot(labels, 3, on_value=5.0, off_value=-1.0, axis=0, dtype=tf.float64),
             tf.one_hot(tf.reshape(labels, (2, 2)), 3, axis=1)]
    assert codes[0].shape == (None, 4) and codes[1].shape == (3, None) and codes[2].shape == (2, 3, 2)
    assert codes[0].dtype == np.float32 and codes[1].dtype == np.float64
    value = np.array([0, 3, -1, 2], dtype=np.int32)
    first, second, third = tf.Session(backend=backend).run(codes, {labels: value})
    eye = np.eye(4)
    np.testing.assert_array_equal(first, [eye[0], eye[3], np.zeros(4), eye[2]])
    assert first.dtype == np.float32
    expected = np.full((3, 4), -1.0)
    expected[0, 0] = expected[2, 3] = 5.0  # 3 and -1 are outside depth 3: a column of off values
    np.testing.assert_array_equal(second, expected)
    blocks = value.reshape(2, 2)
    np.testing.assert_array_equal(third, (blocks[:, None, :] == np.arange(3)[None, :, None]).astype(np.float32))


@pytest.mark.parametrize("backend", WITH_INTERPRETER)
def test_embedding_lookup_trains(backend):
    """A gather inside training: the rows looked up (twice for row 1) move, the others do not."""
    tf.Graph().as_default()
    table = tf.Variable(np.arange(8.0).reshape(4, 2), name="table")
    ids = tf.placeholder(tf.int32, shape=(None,), name="ids")
    loss = tf.reduce_sum(tf.gather(table, ids))
    step = tf.train.GradientDescentOptimizer(0.5).minimize(loss)
    session = tf.Session(backend=backend)
    session.run(step, {ids: np.array([1, 3, 1], dtype=np.int32)})
    expected = np.arange(8.0).reshape(4, 2) - 0.5 * np.array([[0, 0], [2, 2], [0, 0], [1, 1]])
    np.testing.assert_allclose(session.run(table), expected)


# static shapes where TensorFlow infers them -------------------------------------------------------------------------
def test_static_shapes():
    tf.Graph().as_default()
    x = tf.placeholder(tf.float64, shape=(None, 3, 1))
    z = tf.placeholder(tf.float64)
    assert tf.squeeze(x, axis=2).shape == (None, 3) and tf.squeeze(x).shape is None and tf.squeeze(z).shape is None
    assert tf.expand_dims(x, 1).shape == (None, 1, 3, 1)
    assert tf.concat([x, x], 0).shape == (None, 3, 1) and tf.concat([x, x], 1).shape == (None, 6, 1)
    assert tf.concat([x, z], 1).shape == (None, None, 1)
    assert tf.stack([x, x], axis=-1).shape == (None, 3, 1, 2)
    assert [p.shape for p in tf.split(x, 3, axis=1)] == [(None, 1, 1)] * 3
    assert [p.shape for p in tf.split(x, 2, axis=0)] == [(None, 3, 1)] * 2
    assert [p.shape for p in tf.unstack(x, axis=1)] == [(None, 1)] * 3
    assert tf.slice(x, [0, 1, 0], [2, -1, 1]).shape == (2, 2, 1)
    assert x[:, 1].shape == (None, 1) and x[1:3].shape == (None, 3, 1) and x[-1].shape == (3, 1)
    assert x[..., None].shape == (None, 3, 1, 1) and z[0].shape is None
    assert tf.gather(x, _ints([[0, 1]]), axis=1).shape == (None, 1, 2, 1)
    assert tf.tile(x, [2, 2, 1]).shape == (None, 6, 1)
    assert tf.pad(x, [[1, 1], [0, 2], [0, 0]]).shape == (None, 5, 1)
    assert tf.pad(x, [[1, 1], [1, 0], [0, 0]], "REFLECT").shape == (None, 4, 1)
    assert tf.matrix_inverse(tf.placeholder(tf.float64, shape=(None, None))).shape == (None, None)
    assert tf.reshape(x, [-1]).shape == (None,)


# errors name the op and the shapes ----------------------------------------------------------------------------------
def test_errors_name_the_op_and_shapes():
    tf.Graph().as_default()
    a = tf.placeholder(tf.float64, shape=(2, 3), name="a")
    b = tf.placeholder(tf.float64, shape=(2, 4), name="b")
    with pytest.raises(tf.ShapeError, match=r"concat.*\(2, 3\).*\(2, 4\).*axis 1"):
        tf.concat([a, b], 0)
    with pytest.raises(tf.ShapeError, match=r"slice.*out of range for axis 1 of size 3"):
        tf.slice(a, [0, 2], [1, 2])
    with pytest.raises(tf.ShapeError, match=r"squeeze.*axis 1 of size 3"):
        tf.squeeze(a, axis=[1])
    with pytest.raises(tf.ShapeError, match=r"split.*3 equal pieces"):
        tf.split(b, 3, axis=1)
    with pytest.raises(tf.ShapeError, match=r"split.*do not add up to the size 4"):
        tf.split(b, [1, 2], axis=1)
    with pytest.raises(tf.ShapeError, match=r"stack.*\(2, 3\)"):
        tf.stack([a, b])
    with pytest.raises(tf.ShapeError, match=r"matrix_inverse.*square.*\(2, 3\)"):
        tf.matrix_inverse(a)
    with pytest.raises(tf.ShapeError, match=r"out of range for axis 0 of size 2"):
        a[2]
    with pytest.raises(IndexError, match=r"3 indices for shape \(2, 3\)"):
        a[0, 0, 0]
    with pytest.raises(TypeError, match="gather.*integers.*float64"):
        tf.gather(a, a)
    with pytest.raises(ValueError, match="unstack: cannot infer num"):
        tf.unstack(tf.placeholder(tf.float64))
    with pytest.raises(tf.ShapeError, match=r"pad.*at most 2 in REFLECT"):
        tf.pad(a, [[0, 0], [3, 0]], "REFLECT")
    with pytest.raises(ValueError, match=r"step 2 needs the static size"):
        tf.placeholder(tf.float64)[::2]


@pytest.mark.parametrize("backend", WITH_INTERPRETER)
def test_fed_shapes_are_checked(backend):
    tf.Graph().as_default()
    x = tf.placeholder(tf.float64, name="x")
    y = tf.concat([x, x[1:]], 1)
    with pytest.raises(tf.InvalidArgumentError, match=r"concat"):
        tf.Session(backend=backend).run(y, {x: ANY(3, 2)})  # (3, 2) next to (2, 2) along axis 1


def test_gather_index_out_of_range_is_an_error_in_the_interpreter():
    tf.Graph().as_default()
    x = tf.placeholder(tf.float64, shape=(3,), name="x")
    with pytest.raises(tf.InvalidArgumentError, match=r"gather.*index 3 is out of range \[0, 3\)"):
        tf.Session(backend="interpreter").run(tf.gather(x, _ints([0, 3])), {x: ANY(3)})
