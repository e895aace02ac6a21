"""One conformance suite for every compiled backend present: ops, gradients and training, against NumPy references.

The tutorial's perceptron and MLP, trained against hand-written NumPy on every backend, are in test_training.py.

NumPy always runs; JAX runs where it is installed (``pip install symslow[jax]``, part of the test extra); CuPy runs
where it is installed and a CUDA GPU is present. A backend that is absent is skipped with the reason.

Everywhere, the CuPy backend's generated code also runs with NumPy in CuPy's place (``cupy-source-on-numpy``):
CuPy's functions have NumPy's names and meanings, so this checks what SymPy's CuPy printer and symslow write for
CuPy, and the session's path for a backend that moves and casts values, though not CuPy or a GPU themselves.
"""

import importlib
import sys

import numpy as np
import pytest

import symslow as ts
import symslow.backends
import symslow.session
from reference import blobs, mlp_loss, mlp_step, xor_clusters
from symslow.testing import numeric_gradient
from test_ops import CASES
from test_training import tutorial_mlp


def _absent(name: str) -> str | None:
    """Why backend ``name`` cannot run here, or None when it can."""
    try:
        module = importlib.import_module(name)
    except ImportError:
        return f"{name} is not installed (pip install symslow[{name}])"
    if name == "cupy":
        try:
            if module.cuda.runtime.getDeviceCount() < 1:
                return "CuPy finds no CUDA GPU"
        except Exception as error:  # no driver, no device
            return f"CuPy finds no CUDA GPU ({type(error).__name__})"
    return None


def _backend_param(name: str):
    reason = None if name == "numpy" else _absent(name)
    return pytest.param(name, id=name, marks=[pytest.mark.skip(reason=reason)] if reason else [])


CUPY_SOURCE_ON_NUMPY = pytest.param("cupy", id="cupy-source-on-numpy", marks=pytest.mark.cupy_source_on_numpy)
BACKENDS = [*(_backend_param(name) for name in ("numpy", "jax", "cupy")), CUPY_SOURCE_ON_NUMPY]


@pytest.fixture(autouse=True)
def _numpy_in_cupys_place(request, monkeypatch):
    """For ``cupy-source-on-numpy``: the "cupy" backend prints with CuPy's printer, and its code's ``cupy`` is NumPy."""
    if request.node.get_closest_marker("cupy_source_on_numpy") is None:
        return
    real = symslow.backends.get_backend

    def get_backend(name):
        if name != "cupy":
            return real(name)
        return symslow.backends.Backend("cupy", symslow.backends.CuPyCodePrinter, {"cupy": "numpy"})

    monkeypatch.setattr(symslow.backends, "get_backend", get_backend)

# the op tests run on the interpreter too: it is the oracle, and here it is held to NumPy and finite differences
WITH_INTERPRETER = [pytest.param("interpreter", id="interpreter"), *BACKENDS]


def _array_type(session: ts.Session) -> type:
    """The array type a session's backend keeps Variables in."""
    return session._backend.array_type or np.ndarray


# ops: values and gradients ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("backend", WITH_INTERPRETER)
@pytest.mark.parametrize("static_shapes", [True, False], ids=["static", "unknown"])
@pytest.mark.parametrize("name, builder, reference, values", CASES, ids=[c[0] for c in CASES])
def test_op_value_and_gradient(name, builder, reference, values, static_shapes, backend):
    ts.Graph().as_default()
    inputs = [ts.placeholder(ts.float64, shape=v.shape if static_shapes else None, name=f"in{i}")
              for i, v in enumerate(values)]
    y = builder(*inputs)
    value = check_value_and_gradient(name, ts.Session(backend=backend), y, inputs, values, reference)
    assert isinstance(value, (np.ndarray, np.generic))  # a 0-d result is a NumPy scalar, as in TensorFlow


def check_value_and_gradient(name, session, y, inputs, values, reference):
    """``y``'s value against ``reference`` (to 1e-12) and its gradients against central finite differences of the
    reference, each input in turn (a weighted sum makes every element count); returns the value."""
    feed = dict(zip(inputs, values))
    value = session.run(y, feed)
    np.testing.assert_allclose(value, reference(*values), rtol=1e-12, atol=1e-14)
    weights = np.random.default_rng(len(name)).uniform(0.5, 1.5, np.shape(reference(*values)))
    grads = session.run(ts.gradients(ts.reduce_sum(y * weights), inputs), feed)
    for i, (x, grad) in enumerate(zip(values, grads)):
        def f(v, i=i):
            args = list(values)
            args[i] = v
            return float(np.sum(reference(*args) * weights))

        assert np.shape(grad) == np.shape(x)
        np.testing.assert_allclose(grad, numeric_gradient(f, x), rtol=1e-6, atol=1e-8, err_msg=f"input {i} of {name}")
    return value


@pytest.mark.parametrize("backend", BACKENDS)
def test_gradients_of_gradients(backend):
    ts.Graph().as_default()
    x = ts.placeholder(name="x")
    (g,) = ts.gradients(ts.sigmoid(x), [x])
    (h,) = ts.gradients(g, [x])
    v = np.array([-3.0, -0.5, 0.0, 2.0])
    s = 1 / (1 + np.exp(-v))
    first, second = ts.Session(backend=backend).run([g, h], {x: v})
    np.testing.assert_allclose(first, s * (1 - s), rtol=1e-12)  # closed forms of σ' and σ''
    np.testing.assert_allclose(second, s * (1 - s) * (1 - 2 * s), rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize("backend", BACKENDS)
def test_sigmoid_gradient_is_finite_far_out(backend):
    ts.Graph().as_default()
    x = ts.placeholder(name="x")
    (g,) = ts.gradients(ts.sigmoid(x), [x])
    with np.errstate(over="ignore"):  # exp(1000) overflows to inf on the way to σ = 0, as it may
        value = ts.Session(backend=backend).run(g, {x: [-1000.0, 0.0, 1000.0]})
    np.testing.assert_array_equal(value, [0.0, 0.25, 0.0])


@pytest.mark.parametrize("backend", BACKENDS)
def test_user_op_with_compute_runs_on_every_backend(backend):
    class cube(ts.Operation):
        def __init__(self, x):
            super().__init__([x])

        def compute(self, x_value):
            return np.asarray(x_value) ** 3

    @ts.RegisterGradient("cube")
    def _cube_gradient(op, grad):
        return [grad * 3 * op.inputs[0].output * op.inputs[0].output]

    ts.Graph().as_default()
    x = ts.placeholder(name="x")
    y = cube(x) + 1
    (dy,) = ts.gradients(y, [x])
    values = ts.Session(backend=backend).run([y, dy], {x: [1.0, 2.0]})
    np.testing.assert_allclose(values[0], [2.0, 9.0])
    np.testing.assert_allclose(values[1], [3.0, 12.0])


# training ----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("backend", BACKENDS)
def test_momentum_and_adam_train_on_every_backend(backend):
    ts.Graph().as_default()
    w = ts.Variable(np.array([3.0, -2.0]), name="w")
    loss = ts.reduce_sum(ts.square(w - ts.constant(np.array([1.0, 1.0]))))
    trains = [ts.train.MomentumOptimizer(0.1, 0.9).minimize(loss), ts.train.AdamOptimizer(0.1).minimize(loss)]
    for train in trains:
        session = ts.Session(backend=backend)
        for _ in range(300):
            session.run(train)
        np.testing.assert_allclose(session.run(w), [1.0, 1.0], atol=1e-2)


# dtype, device and errors -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("backend", BACKENDS)
def test_float32_session_computes_in_float32(backend):
    rng = np.random.default_rng(12)
    X_value, c_value = xor_clusters(rng)
    initial = [rng.standard_normal((2, 2)), rng.standard_normal(2), rng.standard_normal((2, 2)), rng.standard_normal(2)]
    ts.Graph().as_default()
    X, c, variables, J, train = tutorial_mlp(initial)
    session = ts.Session(backend=backend, dtype=ts.float32)
    feed = {X: X_value, c: c_value}
    for _ in range(20):
        session.run(train, feed)
    reference = initial
    for _ in range(20):
        reference = mlp_step(X_value, c_value, *reference, 0.03)
    loss = session.run(J, feed)
    assert loss.dtype == np.float32
    np.testing.assert_allclose(loss, mlp_loss(X_value, c_value, *reference), rtol=1e-4)
    for variable, expected in zip(variables, reference):
        value = session.run(variable)
        assert value.dtype == np.float32, variable.name
        np.testing.assert_allclose(value, expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("backend", BACKENDS)
def test_variables_stay_on_the_device_and_fetches_come_back_as_numpy(backend):
    ts.Graph().as_default()
    w = ts.Variable(np.array([1.0, 2.0]), name="w")
    step = ts.assign(w, w * 2.0)
    session = ts.Session(backend=backend)
    fetched = session.run(step)
    assert type(fetched) is np.ndarray
    np.testing.assert_array_equal(fetched, [2.0, 4.0])
    assert isinstance(session._values[w], _array_type(session))
    fetched[0] = 100.0  # a fetched value is the caller's own
    np.testing.assert_array_equal(session.run(w), [2.0, 4.0])


def test_unknown_dtype_is_refused():
    with pytest.raises(ValueError, match="float32 or float64"):
        ts.Session(dtype=np.int32)


@pytest.mark.parametrize("name, extra", [("jax", "symslow[jax]"), ("cupy", "symslow[cupy]")])
def test_missing_backend_package_names_what_to_install(monkeypatch, name, extra):
    monkeypatch.setitem(sys.modules, name, None)  # makes `import name` fail as if it were not installed
    with pytest.raises(ImportError, match=rf"pip install {extra.replace('[', '.').replace(']', '.')}"):
        ts.Session(backend=name)


def test_jax_step_is_one_jit_compiled_function():
    pytest.importorskip("jax", reason="jax is not installed (pip install symslow[jax])")
    ts.Graph().as_default()
    x = ts.placeholder(name="x")
    w = ts.Variable(np.array(1.0), name="w")
    train = ts.train.GradientDescentOptimizer(0.5).minimize(ts.reduce_sum(ts.square(w * x - 1.0)))
    session = ts.Session(backend="jax")
    session.run(train, {x: [1.0, 2.0]})
    program = next(iter(ts.get_default_graph().compile_cache.values()))
    assert hasattr(program.function, "lower")  # jax.jit's wrapper, not the plain Python function
    assert "(jax backend)" in program.source
    # d/dw Σ (w x - 1)² = Σ 2 x (w x - 1) = 2·(0 + 2·1) = 4 at w = 1: w ← 1 - 0.5·4
    np.testing.assert_allclose(session.run(w), -1.0)


def test_jax_arrays_are_fed_as_they_are():
    jax = pytest.importorskip("jax", reason="jax is not installed (pip install symslow[jax])")
    ts.Graph().as_default()
    x = ts.placeholder(ts.float64, shape=(None, 2), name="x")
    y = ts.reduce_sum(x * x, axis=1)
    session = ts.Session(backend="jax")
    np.testing.assert_allclose(session.run(y, {x: jax.numpy.asarray([[1.0, 2.0], [3.0, 4.0]])}), [5.0, 25.0])
    with pytest.raises(ts.InvalidArgumentError, match="placeholder 'x' has shape \\(3,\\)"):
        session.run(y, {x: jax.numpy.asarray([1.0, 2.0, 3.0])})


@pytest.mark.parametrize("backend", [b for b in BACKENDS if b.values[0] != "numpy"])
def test_fetches_can_stay_on_the_device(backend):
    ts.Graph().as_default()
    x = ts.placeholder(name="x")
    w = ts.Variable(np.array([1.0, 2.0]), name="w")
    session = ts.Session(backend=backend, to_numpy=False)
    y, w_value = session.run([w * x, w], {x: 3.0})
    assert isinstance(y, _array_type(session)) and isinstance(w_value, _array_type(session))
    np.testing.assert_allclose(np.asarray(session._backend.to_host(y)), [3.0, 6.0])


@pytest.mark.parametrize("backend", BACKENDS)
def test_programs_are_specialised_to_the_fed_shapes(backend):
    rng = np.random.default_rng(13)
    initial = [rng.standard_normal((2, 2)), rng.standard_normal(2), rng.standard_normal((2, 2)), rng.standard_normal(2)]
    ts.Graph().as_default()
    X, c, variables, J, train = tutorial_mlp(initial)
    session = ts.Session(backend=backend)
    reference = initial
    for n in (100, 7, 100):  # a new batch size compiles a program for it; the first one is found again
        X_value, c_value = blobs(rng, n // 2 + 1)
        X_value, c_value = X_value[:n], c_value[:n]
        session.run(train, {X: X_value, c: c_value})
        reference = mlp_step(X_value, c_value, *reference, 0.03)
        source = session.source(train, {X: X_value, c: c_value})
        # with every shape known: no run-time un-broadcasting or matmul-gradient helpers, and the loss, which the
        # training op does not read, is not computed (no logarithm is taken)
        assert "runtime." not in source and "log(" not in source, source
    assert len(session._programs) == 2
    for variable, expected in zip(variables, reference):
        np.testing.assert_allclose(session.run(variable), expected, rtol=0, atol=1e-10)


@pytest.mark.parametrize("backend", BACKENDS)
def test_filled_arrays_have_the_dtype_of_their_model(backend):
    ts.Graph().as_default()
    x = ts.placeholder(ts.int64, shape=(3,), name="x")
    y = ts.placeholder(ts.float32, shape=(3,), name="y")
    zeros, scaled, halves = ts.Session(backend=backend).run(
        [ts.zeros_like(x), ts.ones_like(x) * x, ts.ones_like(y) * y / 2], {x: [1, 2, 3], y: [1, 2, 3]})
    assert zeros.dtype == np.int64 and scaled.dtype == np.int64 and halves.dtype == np.float32  # as in TensorFlow
    np.testing.assert_array_equal(zeros, [0, 0, 0])
    np.testing.assert_array_equal(scaled, [1, 2, 3])
    np.testing.assert_array_equal(halves, [0.5, 1.0, 1.5])


@pytest.mark.cupy_source_on_numpy
def test_the_cupy_backend_prints_cupy_code():
    ts.Graph().as_default()
    z = ts.placeholder(ts.float64, shape=(None, 3), name="z")
    y = ts.reduce_sum(ts.softmax(z) * ts.sigmoid(z), axis=0)
    session = ts.Session(backend="cupy")
    source = session.source(y, {z: np.zeros((4, 3))})
    assert "(cupy backend)" in source and "cupy.exp(" in source and "numpy" not in source.replace("(numpy", "")
    assert ".max(axis=(1,)" in source  # one reduction kernel, not a reduction written out as for NumPy
    logits = np.random.default_rng(3).normal(size=(4, 3))
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    expected = np.sum(e / e.sum(axis=1, keepdims=True) / (1 + np.exp(-logits)), axis=0)
    np.testing.assert_allclose(session.run(y, {z: logits}), expected, rtol=1e-12)


@pytest.mark.parametrize("backend", WITH_INTERPRETER)
@pytest.mark.parametrize("fed", [2.5, np.float64(2.5), [2.5], -0.5], ids=["float", "numpy-float", "list", "negative"])
def test_a_bare_placeholder_fed_a_float_times_an_int_literal_gives_the_float(backend, fed):
    """x = placeholder() has no dtype until it is fed, so ``x * 3`` is typed from the literal alone (int); fed 2.5,
    it is 7.5 nonetheless, as NumPy computes 2.5 * 3, and no backend rounds it to the integer dtype."""
    ts.Graph().as_default()
    x = ts.placeholder(name="x")
    y = x * 3 + 1
    value = ts.Session(backend=backend).run(y, {x: fed})
    np.testing.assert_array_equal(value, np.asarray(fed, dtype=np.float64) * 3 + 1)
    assert np.asarray(value).dtype == np.float64


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("shaped", [True, False], ids=["shaped", "bare"])
def test_numpy_feeds_take_the_planned_path_from_the_second_run_on(backend, shaped, monkeypatch):
    """A TensorFlow 1 program feeds NumPy arrays: after the first run, later runs with the same fetches, fed shapes and
    dtypes neither plan nor convert anew (on JAX and CuPy too), and still train as hand-written NumPy does."""
    rng = np.random.default_rng(7)
    initial = [rng.standard_normal((2, 2)), rng.standard_normal(2), rng.standard_normal((2, 2)), rng.standard_normal(2)]
    ts.Graph().as_default()
    X, c, variables, J, train = tutorial_mlp(initial, shape=(None, 2) if shaped else None)
    session = ts.Session(backend=backend)
    X_value, c_value = blobs(rng, 20)
    session.run([J, train], {c: c_value, X: X_value})  # the feed_dict in another order than the program's
    monkeypatch.setattr(ts.Session, "_program", lambda self, *a: pytest.fail("planned again"))
    monkeypatch.setattr(symslow.session, "convert_feed", lambda *a: pytest.fail("a feed converted again"))
    reference = mlp_step(X_value, c_value, *initial, 0.03)
    for _ in range(3):
        X_value, c_value = blobs(rng, 20)
        loss, _ = session.run([J, train], {c: c_value, X: X_value})
        np.testing.assert_allclose(loss, mlp_loss(X_value, c_value, *reference), rtol=1e-12)
        reference = mlp_step(X_value, c_value, *reference, 0.03)
    monkeypatch.undo()
    for variable, expected in zip(variables, reference):
        np.testing.assert_allclose(session.run(variable), expected, rtol=0, atol=1e-10)
