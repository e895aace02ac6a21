"""TensorFlow 1's training API: every optimizer's update rule against hand-written NumPy, the global step, assign
and its variants on every rank, hyperparameter checks, and checkpoints (Saver, latest_checkpoint, max_to_keep).

The NumPy references below are TensorFlow 1's update rules written out (its docs and kernels), not symslow's code.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

import symslow as ts
from test_backends import WITH_INTERPRETER, _numpy_in_cupys_place  # noqa: F401  (the autouse fixture)

C = np.array([[1.0, -2.0], [0.5, 3.0]])
T = np.array([[0.3, 1.0], [-1.0, 2.0]])
W0 = np.array([[0.5, -0.25], [1.5, 0.75]])


def loss_gradient(w):
    """d/dw of sum((w * C - T)^2)."""
    return 2.0 * C * (w * C - T)


# TensorFlow 1's update rules: (optimizer factory, slots' initial state, step(w, g, state, t) -> w)
def sgd(lr):
    return lambda w, g, s, t: w - lr * g


def momentum(lr, mu, nesterov=False):
    def step(w, g, s, t):
        s["a"] = mu * s.get("a", 0.0) + g
        return w - lr * (g + mu * s["a"]) if nesterov else w - lr * s["a"]
    return step


def adam(lr=0.001, b1=0.9, b2=0.999, eps=1e-8):
    def step(w, g, s, t):
        s["m"] = b1 * s.get("m", 0.0) + (1 - b1) * g
        s["v"] = b2 * s.get("v", 0.0) + (1 - b2) * g * g
        lr_t = lr * np.sqrt(1 - b2**t) / (1 - b1**t)
        return w - lr_t * s["m"] / (np.sqrt(s["v"]) + eps)
    return step


def rmsprop(lr, decay=0.9, mu=0.0, eps=1e-10, centered=False):
    def step(w, g, s, t):
        s["ms"] = decay * s.get("ms", 1.0) + (1 - decay) * g * g  # TF 1 starts the mean square at ones
        denominator = s["ms"] + eps
        if centered:
            s["mg"] = decay * s.get("mg", 0.0) + (1 - decay) * g
            denominator = s["ms"] - s["mg"] ** 2 + eps
        s["mom"] = mu * s.get("mom", 0.0) + lr * g / np.sqrt(denominator)
        return w - s["mom"]
    return step


def adagrad(lr, initial=0.1):
    def step(w, g, s, t):
        s["acc"] = s.get("acc", initial) + g * g
        return w - lr * g / np.sqrt(s["acc"])
    return step


OPTIMIZERS = {
    "sgd": (lambda: ts.train.GradientDescentOptimizer(learning_rate=0.05), sgd(0.05)),
    "momentum": (lambda: ts.train.MomentumOptimizer(learning_rate=0.02, momentum=0.9), momentum(0.02, 0.9)),
    "nesterov": (lambda: ts.train.MomentumOptimizer(0.02, 0.9, use_nesterov=True), momentum(0.02, 0.9, True)),
    "adam": (lambda: ts.train.AdamOptimizer(0.1), adam(0.1)),
    "adam-args": (lambda: ts.train.AdamOptimizer(learning_rate=0.05, beta1=0.8, beta2=0.99, epsilon=1e-3,
                                                 use_locking=True, name="MyAdam"), adam(0.05, 0.8, 0.99, 1e-3)),
    "rmsprop": (lambda: ts.train.RMSPropOptimizer(0.01), rmsprop(0.01)),
    "rmsprop-momentum": (lambda: ts.train.RMSPropOptimizer(0.01, decay=0.8, momentum=0.5, epsilon=1e-3),
                         rmsprop(0.01, 0.8, 0.5, 1e-3)),
    "rmsprop-centered": (lambda: ts.train.RMSPropOptimizer(0.01, momentum=0.9, centered=True),
                         rmsprop(0.01, 0.9, 0.9, 1e-10, True)),
    "adagrad": (lambda: ts.train.AdagradOptimizer(0.1), adagrad(0.1)),
    "adagrad-initial": (lambda: ts.train.AdagradOptimizer(0.3, initial_accumulator_value=0.5), adagrad(0.3, 0.5)),
}
TOLERANCE = {np.float64: 1e-10, np.float32: 2e-5}


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("name", list(OPTIMIZERS))
@pytest.mark.parametrize("backend", WITH_INTERPRETER)
def test_optimizer_follows_tensorflows_update_rule(name, backend, dtype):
    make, reference = OPTIMIZERS[name]
    with ts.Graph().as_default():
        w = ts.Variable(W0.astype(dtype), name="w")
        loss = ts.reduce_sum(ts.square(w * ts.constant(C.astype(dtype)) - ts.constant(T.astype(dtype))))
        train = make().minimize(loss)
        session = ts.Session(backend=backend)
        expected, slots = W0.copy(), {}
        for t in range(1, 7):
            assert session.run(train) is None
            expected = reference(expected, loss_gradient(expected), slots, t)
            np.testing.assert_allclose(session.run(w), expected, rtol=TOLERANCE[dtype], atol=TOLERANCE[dtype])
        assert not np.allclose(expected, W0)  # the steps moved the weights


@pytest.mark.parametrize("backend", WITH_INTERPRETER)
def test_global_step_counts_runs_of_minimize_and_apply_gradients(backend):
    with ts.Graph().as_default():
        assert ts.train.get_global_step() is None
        step = ts.train.get_or_create_global_step()
        assert ts.train.get_or_create_global_step() is step and ts.train.get_global_step() is step
        assert step.name == "global_step" and not step.trainable and step.shape == ()
        assert np.dtype(step.dtype) == np.int64
        with pytest.raises(ValueError, match="already exists"):
            ts.train.create_global_step()
        w = ts.Variable(np.array([1.0, -1.0]), name="w")
        loss = ts.reduce_sum(ts.square(w))
        optimizer = ts.train.GradientDescentOptimizer(0.25)
        train = optimizer.minimize(loss, global_step=step, name="train")
        session = ts.Session(backend=backend)
        assert int(session.run(step)) == 0
        for k in range(1, 4):
            session.run(train)
            assert int(session.run(step)) == k
        np.testing.assert_allclose(session.run(w), np.array([1.0, -1.0]) * 0.5**3)
        # compute_gradients, a change to the gradients (clipped to [-0.1, 0.1]), apply_gradients
        grads_and_vars = optimizer.compute_gradients(loss, var_list=[w])
        clipped = [(-ts.maximum(-ts.maximum(g, -0.1), -0.1), v) for g, v in grads_and_vars]
        apply = optimizer.apply_gradients(iter(clipped), global_step=step)
        before = session.run(w)
        session.run(apply)
        assert int(session.run(step)) == 4
        np.testing.assert_allclose(session.run(w), before - 0.25 * np.clip(2 * before, -0.1, 0.1))


def test_global_step_is_per_graph_and_found_by_name():
    with ts.Graph().as_default() as graph:
        own = ts.Variable(np.array(0, np.int64), name="global_step", trainable=False)
        assert ts.train.get_global_step() is own  # a program's own global step Variable, found as TF finds it
        assert ts.train.get_or_create_global_step(graph) is own
    with ts.Graph().as_default():
        assert ts.train.get_global_step() is None
        assert ts.train.create_global_step() is not own


def test_slots_are_made_once_and_named():
    with ts.Graph().as_default():
        w = ts.Variable(np.zeros(2), name="w")
        optimizer = ts.train.RMSPropOptimizer(0.1, centered=True)
        loss = ts.reduce_sum(ts.square(w - 1.0))
        optimizer.minimize(loss)
        optimizer.minimize(loss)  # a second training op shares the slots
        assert optimizer.get_slot_names() == ["mg", "momentum", "rms"]
        np.testing.assert_array_equal(ts.Session().run(optimizer.get_slot(w, "rms")), [1.0, 1.0])
        assert len(optimizer.variables()) == 3
        assert optimizer.get_slot(w, "m") is None


BAD_HYPERPARAMETERS = [
    (lambda: ts.train.GradientDescentOptimizer("0.1"), "GradientDescentOptimizer: learning_rate must be a number"),
    (lambda: ts.train.GradientDescentOptimizer(float("nan")), "GradientDescentOptimizer: learning_rate must be finite"),
    (lambda: ts.train.GradientDescentOptimizer(-0.1), "GradientDescentOptimizer: learning_rate must be >= 0"),
    (lambda: ts.train.MomentumOptimizer(0.1, float("inf")), "MomentumOptimizer: momentum must be finite"),
    (lambda: ts.train.MomentumOptimizer(0.1, -0.5), "MomentumOptimizer: momentum must be >= 0"),
    (lambda: ts.train.MomentumOptimizer(0.1, True), "MomentumOptimizer: momentum must be a number"),
    (lambda: ts.train.AdamOptimizer(beta1=1.0), r"AdamOptimizer: beta1 must be in \[0, 1\)"),
    (lambda: ts.train.AdamOptimizer(beta2=-0.1), r"AdamOptimizer: beta2 must be in \[0, 1\)"),
    (lambda: ts.train.AdamOptimizer(epsilon=0.0), "AdamOptimizer: epsilon must be > 0"),
    (lambda: ts.train.AdamOptimizer(learning_rate=None), "AdamOptimizer: learning_rate must be a number"),
    (lambda: ts.train.RMSPropOptimizer(0.1, decay=1.5), r"RMSPropOptimizer: decay must be in \[0, 1\]"),
    (lambda: ts.train.RMSPropOptimizer(0.1, epsilon=float("-inf")), "RMSPropOptimizer: epsilon must be finite"),
    (lambda: ts.train.RMSPropOptimizer(0.1, momentum="0.9"), "RMSPropOptimizer: momentum must be a number"),
    (lambda: ts.train.AdagradOptimizer(0.1, initial_accumulator_value=0.0),
     "AdagradOptimizer: initial_accumulator_value must be > 0"),
]


@pytest.mark.parametrize("make, message", BAD_HYPERPARAMETERS)
def test_bad_hyperparameters_are_refused_naming_optimizer_and_argument(make, message):
    with pytest.raises(ts.InvalidArgumentError, match=message):
        make()


def test_learning_rate_may_be_a_fed_placeholder():
    with ts.Graph().as_default():
        w = ts.Variable(np.array(2.0), name="w")
        rate = ts.placeholder(ts.float64, shape=(), name="rate")
        train = ts.train.GradientDescentOptimizer(rate).minimize(ts.square(w))
        session = ts.Session()
        session.run(train, {rate: 0.25})
        assert float(session.run(w)) == pytest.approx(1.0)
        with pytest.raises(ts.InvalidArgumentError, match="learning_rate must be a scalar"):
            ts.train.GradientDescentOptimizer(ts.placeholder(ts.float64, shape=(2,)))


def test_apply_gradients_checks_its_pairs():
    with ts.Graph().as_default():
        w = ts.Variable(np.zeros(2), name="w")
        optimizer = ts.train.GradientDescentOptimizer(0.1)
        with pytest.raises(ts.InvalidArgumentError, match="gradient .* has shape \\(3,\\), but Variable 'w'"):
            optimizer.apply_gradients([(ts.constant(np.ones(3)), w)])
        with pytest.raises(ts.InvalidArgumentError, match="'w' appears twice"):
            optimizer.apply_gradients([(ts.constant(np.ones(2)), w), (ts.constant(np.ones(2)), w)])
        with pytest.raises(ts.InvalidArgumentError, match="No gradients to apply"):
            optimizer.apply_gradients([(None, w)])
        with pytest.raises(TypeError, match="global_step must be a Variable"):
            optimizer.apply_gradients([(ts.constant(np.ones(2)), w)], global_step=3)


@pytest.mark.parametrize("shape", [(), (3,), (2, 2)], ids=["0-d", "1-d", "2-d"])
@pytest.mark.parametrize("backend", WITH_INTERPRETER)
def test_assign_and_its_variants_on_every_rank(backend, shape):
    with ts.Graph().as_default():
        start = np.arange(1.0, 1.0 + np.prod(shape, dtype=int)).reshape(shape)
        v = ts.Variable(start, name="v")
        session = ts.Session(backend=backend)
        np.testing.assert_array_equal(session.run(ts.assign(v, 5.0)), np.full(shape, 5.0))  # a scalar fills it
        np.testing.assert_array_equal(session.run(v), np.full(shape, 5.0))
        np.testing.assert_array_equal(session.run(ts.assign(v, ts.constant(2.0, dtype=ts.float64) * 3.0)),
                                      np.full(shape, 6.0))  # a number once the compiler has folded it
        np.testing.assert_array_equal(session.run(ts.assign(v, start * 2)), start * 2)
        np.testing.assert_array_equal(session.run(ts.assign_add(v, 1.0)), start * 2 + 1)
        np.testing.assert_array_equal(session.run(ts.assign_sub(v, start)), start + 1)
        np.testing.assert_array_equal(session.run(v.assign(start)), start)
        np.testing.assert_array_equal(session.run(v.assign_add(start)), start * 2)
        np.testing.assert_array_equal(session.run(v.assign_sub(0.5)), start * 2 - 0.5)
        np.testing.assert_array_equal(session.run(v), start * 2 - 0.5)
        step = ts.Variable(np.array(0, np.int32), name="n")
        for _ in range(3):
            session.run(ts.assign_add(step, 1))
        assert int(session.run(step)) == 3


def test_assign_refuses_a_float_for_an_integer_variable():
    with ts.Graph().as_default():
        n = ts.Variable(np.array(1, np.int32), name="n")
        with pytest.raises(ts.InvalidArgumentError, match="cannot assign a value of dtype float64 to Variable of "
                                                         "dtype int32"):
            ts.assign(n, ts.constant(np.array(1.5)))


def _model(dtypes=(np.float32, np.float64, np.int32)):
    values = {"f32": np.array([[1.5, -2.0]], np.float32), "f64": np.array([0.1, 0.2, 0.3]),
              "i32": np.array(7, np.int32)}
    variables = {name: ts.Variable(value.astype(dtype), name=name)
                 for (name, value), dtype in zip(values.items(), dtypes)}
    return variables


@pytest.mark.parametrize("backend", WITH_INTERPRETER)
def test_save_and_restore_every_dtype(tmp_path, backend):
    with ts.Graph().as_default():
        variables = _model()
        session = ts.Session(backend=backend)
        new = {"f32": np.array([[3.25, 4.5]], np.float32), "f64": np.array([1 / 3, 2.0, -1e-300]),
               "i32": np.array(-12, np.int32)}
        for name, v in variables.items():
            session.run(ts.assign(v, ts.constant(new[name])))
        saver = ts.train.Saver()
        prefix = saver.save(session, str(tmp_path / "model.ckpt"))
        assert prefix == str(tmp_path / "model.ckpt")  # the checkpoint's prefix, as TensorFlow returns it
        with np.load(prefix + ".npz", allow_pickle=False) as archive:
            for name, value in new.items():
                assert archive[name].dtype == value.dtype  # each array in its Variable's dtype
                np.testing.assert_array_equal(archive[name], value)
        fresh = ts.Session(backend=backend)
        saver.restore(fresh, prefix)
        for name, v in variables.items():
            np.testing.assert_array_equal(fresh.run(v), new[name])
        with pytest.raises(ValueError, match="save_path when it is None"):
            saver.restore(fresh, None)


def test_global_step_names_the_checkpoint_and_latest_checkpoint_finds_it(tmp_path):
    with ts.Graph().as_default():
        w = ts.Variable(np.array([1.0, 2.0]), name="w")
        step = ts.train.get_or_create_global_step()
        train = ts.train.GradientDescentOptimizer(0.5).minimize(ts.reduce_sum(ts.square(w)), global_step=step)
        session = ts.Session()
        saver = ts.train.Saver(max_to_keep=2)
        directory = tmp_path / "run"
        directory.mkdir()
        assert ts.train.latest_checkpoint(str(directory)) is None
        prefixes = []
        for _ in range(4):
            session.run(train)
            prefixes.append(saver.save(session, os.path.join(str(directory), "model.ckpt"), global_step=step))
        assert prefixes == [os.path.join(str(directory), f"model.ckpt-{k}") for k in (1, 2, 3, 4)]
        assert saver.save(session, str(directory / "other"), global_step=10) == str(directory / "other-10")
        # max_to_keep=2: the older checkpoint files are gone
        assert sorted(os.listdir(directory)) == ["checkpoint", "model.ckpt-4.npz", "other-10.npz"]
        assert saver.last_checkpoints == [prefixes[-1], str(directory / "other-10")]
        with open(directory / "checkpoint") as file:  # TensorFlow's text format, relative paths
            assert file.read().splitlines() == ['model_checkpoint_path: "other-10"',
                                                'all_model_checkpoint_paths: "model.ckpt-4"',
                                                'all_model_checkpoint_paths: "other-10"']
        latest = ts.train.latest_checkpoint(str(directory))
        assert latest == str(directory / "other-10")
        state_ = ts.train.get_checkpoint_state(str(directory))
        assert state_.all_model_checkpoint_paths == [prefixes[-1], latest]
        fresh = ts.Session()
        saver.restore(fresh, latest)
        assert int(fresh.run(step)) == 4
        np.testing.assert_allclose(fresh.run(w), np.array([1.0, 2.0]) * 0.0**4)


def test_max_to_keep_none_keeps_every_file(tmp_path):
    with ts.Graph().as_default():
        ts.Variable(np.zeros(2), name="w")
        session = ts.Session()
        saver = ts.train.Saver(max_to_keep=None)
        for k in range(7):
            saver.save(session, str(tmp_path / "m"), global_step=k)
        assert len([f for f in os.listdir(tmp_path) if f.endswith(".npz")]) == 7
        assert ts.train.latest_checkpoint(str(tmp_path)) == str(tmp_path / "m-6")
        with pytest.raises(ts.InvalidArgumentError, match="max_to_keep must be an int >= 0"):
            ts.train.Saver(max_to_keep=-1)


def test_saver_global_step_must_be_an_integer(tmp_path):
    with ts.Graph().as_default():
        ts.Variable(np.zeros(2), name="w")
        session = ts.Session()
        with pytest.raises(ts.InvalidArgumentError, match="global_step must be an integer"):
            ts.train.Saver().save(session, str(tmp_path / "m"), global_step=1.5)
        assert os.listdir(tmp_path) == []  # nothing written
        assert ts.train.Saver().save(session, str(tmp_path / "m"), global_step=np.int64(3)) == str(tmp_path / "m-3")


# -- learning-rate schedules ------------------------------------------------------------------------------------------
SCHEDULES = {  # name: (schedule built on a global step, its formula in NumPy at step t)
    "exponential": (lambda step: ts.train.exponential_decay(0.1, step, decay_steps=3, decay_rate=0.5),
                    lambda t: 0.1 * 0.5 ** (t / 3)),
    "exponential-staircase": (lambda step: ts.train.exponential_decay(0.1, step, 3, 0.5, staircase=True),
                              lambda t: 0.1 * 0.5 ** np.floor(t / 3)),
    "natural-exp": (lambda step: ts.train.natural_exp_decay(0.1, step, decay_steps=2, decay_rate=0.3),
                    lambda t: 0.1 * np.exp(-0.3 * t / 2)),
    "inverse-time-staircase": (lambda step: ts.train.inverse_time_decay(0.1, step, 2, 0.5, staircase=True),
                               lambda t: 0.1 / (1 + 0.5 * np.floor(t / 2))),
    "piecewise": (lambda step: ts.train.piecewise_constant(step, [2, 5], [0.1, 0.05, 0.01]),
                  lambda t: 0.1 if t <= 2 else 0.05 if t <= 5 else 0.01),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("name", list(SCHEDULES))
@pytest.mark.parametrize("backend", WITH_INTERPRETER)
def test_a_schedule_sets_the_rate_of_each_step(name, backend, dtype):
    """Gradient descent with a decaying rate (a float32 rate, as TF makes it from 0.1) on Variables of either dtype."""
    schedule, rate_at = SCHEDULES[name]
    graph = ts.Graph()
    with graph.as_default():
        w = ts.Variable(W0.astype(dtype), name="w")
        step = ts.train.get_or_create_global_step()
        rate = schedule(step)
        loss = ts.reduce_sum(ts.square(w * C.astype(dtype) - T.astype(dtype)))
        train = ts.train.GradientDescentOptimizer(rate).minimize(loss, global_step=step)
    assert rate.dtype == np.float32
    sess = ts.Session(graph=graph, backend=backend)
    expected = W0.copy()
    for t in range(8):
        np.testing.assert_allclose(sess.run(rate), rate_at(t), rtol=1e-6)
        sess.run(train)
        expected = expected - np.float64(np.float32(rate_at(t))) * loss_gradient(expected)
    assert int(sess.run(step)) == 8
    got = sess.run(w)
    assert got.dtype == dtype
    np.testing.assert_allclose(got, expected, rtol=1e-6)  # the rate is float32: about 1e-7 of it is rounding


def test_schedules_refuse_what_tensorflow_refuses():
    graph = ts.Graph()
    with graph.as_default():
        step = ts.train.get_or_create_global_step()
        with pytest.raises(ValueError, match="needs a global_step"):
            ts.train.exponential_decay(0.1, None, 10, 0.9)
        with pytest.raises(TypeError, match="learning_rate must be a float.*int32"):
            ts.train.exponential_decay(1, step, 10, 0.9)
        with pytest.raises(ValueError, match="one more value than boundaries"):
            ts.train.piecewise_constant(step, [10, 20], [0.1, 0.01])
        with pytest.raises(TypeError, match="one dtype"):
            ts.train.piecewise_constant(step, [10], [0.1, np.float64(0.01)])
