"""train.Saver: .npz files keyed by Variable name, atomic saves, and restores that change all or nothing."""

from __future__ import annotations

import os
import pickle
import zipfile

import numpy as np
import pytest

import symslow as ts
from symslow.backends import available_backends


def make_model():
    graph = ts.Graph()
    with graph.as_default():
        x = ts.placeholder(ts.float64, shape=(None, 2), name="x")
        with ts.name_scope("layer"):
            W = ts.Variable(np.array([[1.0, -1.0], [0.5, 2.0]]), name="W")
            b = ts.Variable(np.array([0.0, 0.1]), name="b")
        loss = ts.reduce_sum(ts.square(ts.matmul(x, W) + b))
        train = ts.train.MomentumOptimizer(0.01, 0.9).minimize(loss)
    return graph, x, W, b, train


def trained(graph, x, train, steps=3, backend="numpy"):
    session = ts.Session(graph=graph, backend=backend)
    for _ in range(steps):
        session.run(train, {x: [[1.0, 2.0], [-0.5, 0.3]]})
    return session


def values(session, graph):
    return {v.name: session.run(v) for v in graph.variables}


@pytest.mark.parametrize("backend", available_backends() + ["interpreter"])
def test_save_then_restore_into_a_fresh_session(tmp_path, backend):
    graph, x, W, b, train = make_model()
    session = trained(graph, x, train, backend=backend)
    saved = values(session, graph)
    path = ts.train.Saver().save(session, tmp_path / "model")
    assert path == str(tmp_path / "model")  # the checkpoint prefix, as TensorFlow returns it
    with np.load(path + ".npz", allow_pickle=False) as archive:  # the file is plain .npz, keyed by Variable names
        assert sorted(archive.files) == sorted(saved)  # optimizer slots included
        for name in saved:
            np.testing.assert_array_equal(archive[name], saved[name])
    fresh = ts.Session(graph=graph, backend=backend)
    assert not np.array_equal(fresh.run(W), saved["layer/W"])
    ts.train.Saver().restore(fresh, path)
    for name, value in values(fresh, graph).items():
        np.testing.assert_array_equal(value, saved[name])
    # training goes on from the restored state exactly as it would have from the saved one
    session.run(train, {x: [[1.0, 2.0], [-0.5, 0.3]]})
    fresh.run(train, {x: [[1.0, 2.0], [-0.5, 0.3]]})
    np.testing.assert_array_equal(fresh.run(W), session.run(W))


def test_var_list_and_names_in_the_file(tmp_path):
    graph, x, W, b, train = make_model()
    session = trained(graph, x, train)
    path = ts.train.Saver({"weights": W}).save(session, tmp_path / "w.npz")
    with np.load(path) as archive:
        assert archive.files == ["weights"]
    fresh = ts.Session(graph=graph)
    ts.train.Saver({"weights": W}).restore(fresh, path)
    np.testing.assert_array_equal(fresh.run(W), session.run(W))
    np.testing.assert_array_equal(fresh.run(b), [0.0, 0.1])  # not in the var_list: untouched
    ts.train.Saver([W, b]).save(session, tmp_path / "wb.npz")
    with np.load(tmp_path / "wb.npz") as archive:
        assert sorted(archive.files) == ["layer/W", "layer/b"]


@pytest.fixture
def saved(tmp_path):
    graph, x, W, b, train = make_model()
    session = trained(graph, x, train)
    path = ts.train.Saver([W, b]).save(session, tmp_path / "model.npz")
    target = ts.Session(graph=graph)
    target.run(train, {x: [[3.0, 1.0]]})  # a state of its own, which failed restores must keep
    return path, graph, W, b, target, values(target, graph)


def restore_fails(saver, target, path, before, graph, *needles, error=ts.InvalidArgumentError):
    with pytest.raises(error) as raised:
        saver.restore(target, path)
    message = str(raised.value)
    for needle in needles:
        assert needle in message, f"{needle!r} not in {message!r}"
    after = values(target, graph)
    for name in before:
        np.testing.assert_array_equal(after[name], before[name])
    return message


def _write_npz(path, **arrays):
    np.savez(path, **arrays)
    return str(path)


def test_missing_variable(saved, tmp_path):
    path, graph, W, b, target, before = saved
    partial = _write_npz(tmp_path / "partial.npz", **{"layer/W": np.zeros((2, 2))})
    restore_fails(ts.train.Saver([W, b]), target, partial, before, graph,
                  "has no values for Variable(s) 'layer/b'", "No Variable was changed")


def test_extra_variable(saved, tmp_path):
    path, graph, W, b, target, before = saved
    extra = _write_npz(tmp_path / "extra.npz", **{"layer/W": np.zeros((2, 2)), "layer/b": np.zeros(2),
                                                  "layer/c": np.zeros(3)})
    restore_fails(ts.train.Saver([W, b]), target, extra, before, graph, "holds values for 'layer/c'")


def test_wrongly_shaped_and_typed_variables(saved, tmp_path):
    path, graph, W, b, target, before = saved
    shaped = _write_npz(tmp_path / "shaped.npz", **{"layer/W": np.zeros((2, 3)), "layer/b": np.zeros(2)})
    restore_fails(ts.train.Saver([W, b]), target, shaped, before, graph,
                  "Variable 'layer/W' has shape (2, 2) but the file holds shape (2, 3)")
    typed = _write_npz(tmp_path / "typed.npz", **{"layer/W": np.zeros((2, 2), np.int64), "layer/b": np.zeros(2)})
    restore_fails(ts.train.Saver([W, b]), target, typed, before, graph,
                  "Variable 'layer/W' has dtype float64 but the file holds dtype int64")


def test_truncated_file(saved, tmp_path):
    path, graph, W, b, target, before = saved
    data = open(path, "rb").read()
    for size in (0, 10, len(data) // 2, len(data) - 5):
        cut = tmp_path / f"cut{size}.npz"
        cut.write_bytes(data[:size])
        restore_fails(ts.train.Saver([W, b]), target, str(cut), before, graph, "truncated or corrupted",
                      str(cut))


def test_corrupted_member(saved, tmp_path):
    path, graph, W, b, target, before = saved
    data = bytearray(open(path, "rb").read())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("layer/b.npy")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)  # the member's data
    data[start + info.file_size - 3] ^= 0xFF  # flip bits in the last value of layer/b
    broken = tmp_path / "broken.npz"
    broken.write_bytes(bytes(data))
    restore_fails(ts.train.Saver([W, b]), target, str(broken), before, graph, "truncated or corrupted", "CRC")


def test_pickled_and_non_npz_files_are_refused(saved, tmp_path):
    path, graph, W, b, target, before = saved
    pickled = tmp_path / "pickled.npz"
    pickled.write_bytes(pickle.dumps({"layer/W": np.zeros((2, 2)), "layer/b": np.zeros(2)}))
    restore_fails(ts.train.Saver([W, b]), target, str(pickled), before, graph, "truncated or corrupted", "pickle")
    objects = _write_npz(tmp_path / "objects.npz", **{"layer/W": np.array([None, 1], dtype=object),
                                                      "layer/b": np.zeros(2)})
    restore_fails(ts.train.Saver([W, b]), target, objects, before, graph, "pickle")
    single = tmp_path / "single.npy"
    np.save(single, np.zeros(2))
    restore_fails(ts.train.Saver([W, b]), target, str(single), before, graph, "single array")
    restore_fails(ts.train.Saver([W, b]), target, str(tmp_path / "absent.npz"), before, graph,
                  "no file", error=FileNotFoundError)


def test_save_is_atomic_when_writing_fails(saved, tmp_path, monkeypatch):
    path, graph, W, b, target, before = saved
    original = open(path, "rb").read()

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np.lib.format, "write_array", crash)  # fails mid-file, after the zip is opened
    with pytest.raises(OSError, match="disk full"):
        ts.train.Saver([W, b]).save(target, path)
    assert open(path, "rb").read() == original  # the old file is intact
    assert sorted(os.listdir(tmp_path)) == ["checkpoint", "model.npz"]  # and no temporary file is left behind


def test_save_is_atomic_when_interrupted_before_the_replace(saved, tmp_path, monkeypatch):
    path, graph, W, b, target, before = saved
    original = open(path, "rb").read()

    def crash(source, destination):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        ts.train.Saver([W, b]).save(target, path)
    assert open(path, "rb").read() == original
    assert sorted(os.listdir(tmp_path)) == ["checkpoint", "model.npz"]


def test_bad_var_lists():
    graph, x, W, b, train = make_model()
    with pytest.raises(TypeError, match="not a Variable"):
        ts.train.Saver([W, x])
    with pytest.raises(ts.InvalidArgumentError, match="two Variables are saved under the name 'layer/W'"):
        ts.train.Saver([W, W])
    other, *_ = make_model()
    with pytest.raises(ts.GraphMismatchError, match="'layer/W' belongs to another graph"):
        ts.train.Saver([W]).save(ts.Session(graph=other), "unused.npz")


def test_restore_into_a_rebuilt_graph(tmp_path):
    """A program that builds the same graph again (another run of the script) restores by Variable names."""
    graph, x, W, b, train = make_model()
    session = trained(graph, x, train)
    path = ts.train.Saver().save(session, tmp_path / "model.npz")
    graph2, x2, W2, b2, train2 = make_model()
    assert W2 is not W and W2.name == W.name
    restored = ts.Session(graph=graph2)
    ts.train.Saver().restore(restored, path)
    for variable, twin in zip(graph.variables, graph2.variables):
        np.testing.assert_array_equal(restored.run(twin), session.run(variable))
