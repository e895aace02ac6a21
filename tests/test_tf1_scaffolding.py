"""TensorFlow 1's program scaffolding: tf.summary and FileWriter (read back by TensorBoard's own reader), tf.app.run
and tf.app.flags, tf.device, and the default graph.

Expected values are computed here with NumPy, never by symslow; event files are read with TensorBoard's
EventAccumulator, so these tests check files that TensorBoard itself understands.
"""

import os
import subprocess
import sys
import textwrap
import types

import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

import symslow as tf
from test_backends import WITH_INTERPRETER, _numpy_in_cupys_place  # noqa: F401  (the fixture for cupy-source-on-numpy)


def read_events(logdir):
    accumulator = EventAccumulator(str(logdir), size_guidance={"scalars": 0, "histograms": 0, "images": 0, "tensors": 0})
    accumulator.Reload()
    return accumulator


# tf.summary: scalars over training steps -------------------------------------------------------------------------
@pytest.mark.parametrize("backend", WITH_INTERPRETER)
def test_scalars_over_training_steps_read_back_by_tensorboard(backend, tmp_path):
    tf.reset_default_graph()
    xs = np.array([1.0, 2.0, 3.0], dtype=np.float32)
    ys = np.array([2.0, 4.5, 5.5], dtype=np.float32)
    x = tf.placeholder(tf.float32, shape=(None,), name="x")
    y = tf.placeholder(tf.float32, shape=(None,), name="y")
    w = tf.Variable(np.float32(0.5), name="w")
    with tf.name_scope("train"):
        loss = tf.reduce_mean(tf.square(w * x - y), name="loss")
        tf.summary.scalar("loss", loss)
    tf.summary.scalar("w", w)
    train_op = tf.train.GradientDescentOptimizer(0.05).minimize(loss)
    merged = tf.summary.merge_all()
    with tf.Session(backend=backend) as sess, tf.summary.FileWriter(str(tmp_path), sess.graph) as writer:
        for step in range(5):
            summary, _ = sess.run([merged, train_op], {x: xs, y: ys})
            assert isinstance(summary, bytes)
            writer.add_summary(summary, global_step=10 * step)
    # the same training in NumPy: loss and w are summarised before the update of the same run
    ref_w, expected_loss, expected_w = 0.5, [], []
    for _ in range(5):
        residual = ref_w * xs.astype(np.float64) - ys
        expected_loss.append(np.mean(residual ** 2))
        expected_w.append(ref_w)
        ref_w -= 0.05 * np.mean(2 * residual * xs)
    events = read_events(tmp_path)
    assert sorted(events.Tags()["scalars"]) == ["train/loss_1", "w_1"]  # 'train/loss' and 'w' were node names
    for tag, expected in (("train/loss_1", expected_loss), ("w_1", expected_w)):
        scalars = events.Scalars(tag)
        assert [s.step for s in scalars] == [0, 10, 20, 30, 40]
        np.testing.assert_allclose([s.value for s in scalars], expected, rtol=1e-5)


def test_scalar_tags_follow_name_scopes_and_family(tmp_path):
    tf.reset_default_graph()
    with tf.name_scope("eval"):
        a = tf.summary.scalar("accuracy", tf.constant(0.25))
    b = tf.summary.scalar("lr", tf.constant(3), family="optimizer")  # an integer tensor is accepted
    c = tf.summary.scalar("bad name!", tf.constant(1.0))
    with tf.summary.FileWriter(str(tmp_path)) as writer:
        writer.add_summary(tf.Session().run(tf.summary.merge([a, b, c])), 7)
    events = read_events(tmp_path)
    assert sorted(events.Tags()["scalars"]) == ["bad_name_", "eval/accuracy", "optimizer/lr"]
    assert [(e.step, e.value) for e in events.Scalars("optimizer/lr")] == [(7, 3.0)]
    assert [(e.step, e.value) for e in events.Scalars("eval/accuracy")] == [(7, 0.25)]


# tf.summary.histogram ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("backend", WITH_INTERPRETER)
def test_histogram_read_back_by_tensorboard(backend, tmp_path):
    tf.reset_default_graph()
    values = np.random.default_rng(0).normal(size=(40, 5)) * 3.0
    values[0, 0] = 0.0
    v = tf.placeholder(tf.float64, shape=(None, 5), name="v")
    h = tf.summary.histogram("weights", v * 2.0)
    with tf.summary.FileWriter(str(tmp_path)) as writer:
        writer.add_summary(tf.Session(backend=backend).run(h, {v: values}), 3)
    (event,) = read_events(tmp_path).Histograms("weights")
    histo, flat = event.histogram_value, (values * 2.0).reshape(-1)
    assert event.step == 3
    assert (histo.min, histo.max, histo.num) == (flat.min(), flat.max(), flat.size)
    np.testing.assert_allclose([histo.sum, histo.sum_squares], [flat.sum(), (flat ** 2).sum()])
    limits, counts = np.array(histo.bucket_limit), np.array(histo.bucket)
    assert counts.sum() == flat.size and np.all(np.diff(limits) > 0)
    lefts = np.concatenate([[-np.inf], limits[:-1]])
    for left, right, count in zip(lefts, limits, counts):
        assert count == np.count_nonzero((flat >= left) & (flat < right))
        if count and 0 < left:  # a non-empty bucket spans one 10% step of TensorFlow's grid
            assert right / left == pytest.approx(1.1)
    assert 1e-12 in limits.tolist()  # the bucket [0, 1e-12) of TensorFlow's grid holds the 0


# tf.summary.image and text ---------------------------------------------------------------------------------------
def _decode_png(data):
    import io

    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(data)))


@pytest.mark.parametrize("backend", WITH_INTERPRETER)
def test_images_read_back_by_tensorboard(backend, tmp_path):
    tf.reset_default_graph()
    rng = np.random.default_rng(1)
    positive = rng.uniform(0.0, 2.0, size=(2, 3, 5, 1)).astype(np.float32)  # grey, largest -> 255
    signed = rng.uniform(-1.0, 3.0, size=(1, 2, 4, 3))  # RGB with negatives: 0 -> 128, largest magnitude 3 -> 255
    signed[0, 0, 0] = [0.0, -3.0, 3.0]
    pixels = rng.integers(0, 256, size=(4, 2, 2, 4), dtype=np.uint8)  # RGBA, kept as they are
    images = tf.placeholder(tf.float32, shape=(None, 3, 5, 1), name="images")
    merged = tf.summary.merge([tf.summary.image("grey", images * 1.0, max_outputs=5),
                               tf.summary.image("signed", tf.constant(signed), max_outputs=1),
                               tf.summary.image("raw", tf.constant(pixels), max_outputs=2)])
    with tf.summary.FileWriter(str(tmp_path)) as writer:
        writer.add_summary(tf.Session(backend=backend).run(merged, {images: positive}), 4)
    events = read_events(tmp_path)
    assert sorted(events.Tags()["images"]) == ["grey/image/0", "grey/image/1", "raw/image/0", "raw/image/1",
                                               "signed/image"]
    for i in range(2):
        (event,) = events.Images(f"grey/image/{i}")
        expected = (positive[i, ..., 0] * (255.0 / positive[i].max())).astype(np.uint8)
        assert (event.step, event.height, event.width) == (4, 3, 5)
        np.testing.assert_array_equal(_decode_png(event.encoded_image_string), expected)
    (event,) = events.Images("signed/image")
    decoded = _decode_png(event.encoded_image_string)
    np.testing.assert_array_equal(decoded, (signed[0] * (127.0 / 3.0) + 128.0).astype(np.uint8))
    assert decoded[0, 0].tolist() == [128, 1, 255]
    for i in range(2):
        (event,) = events.Images(f"raw/image/{i}")
        np.testing.assert_array_equal(_decode_png(event.encoded_image_string), pixels[i])


def test_image_marks_nan_red_and_refuses_bad_shapes_and_dtypes():
    tf.reset_default_graph()
    image = np.full((1, 1, 2, 3), 0.5)
    image[0, 0, 1, 2] = np.nan
    data = tf.Summary.FromString(tf.Session().run(tf.summary.image("i", tf.constant(image))))
    decoded = _decode_png(data.value[0].image.encoded_image_string)
    assert decoded[0].tolist() == [[255, 255, 255], [255, 0, 0]]
    with pytest.raises(tf.ShapeError, match=r"1, 3 or 4 channels, got shape \(2, 4, 4, 2\)"):
        tf.summary.image("two_channels", tf.zeros([2, 4, 4, 2]))
    with pytest.raises(tf.ShapeError, match=r"\[batch, height, width, channels\]"):
        tf.summary.image("flat", tf.zeros([4, 4]))
    with pytest.raises(tf.InvalidArgumentError, match="float or uint8 images, not int32"):
        tf.summary.image("ints", tf.zeros([1, 2, 2, 1], dtype=tf.int32))
    with pytest.raises(tf.InvalidArgumentError, match="max_outputs must be a positive integer"):
        tf.summary.image("none", tf.zeros([1, 2, 2, 1]), max_outputs=0)


def test_text_read_back_by_tensorboard(tmp_path):
    tf.reset_default_graph()
    s = tf.summary.text("notes", tf.constant(["# step 1", "lr **0.1**"]))
    with tf.summary.FileWriter(str(tmp_path)) as writer:
        writer.add_summary(tf.Session().run(s), 1)
    events = read_events(tmp_path)
    assert events.Tags()["tensors"] == ["notes"]
    (event,) = events.Tensors("notes")
    assert event.step == 1 and list(event.tensor_proto.string_val) == [b"# step 1", b"lr **0.1**"]
    assert events.SummaryMetadata("notes").plugin_data.plugin_name == "text"
    with pytest.raises(tf.InvalidArgumentError, match="string tensor, not float32"):
        tf.summary.text("number", tf.constant(1.0))


def test_histogram_refuses_nan_and_non_numbers():
    tf.reset_default_graph()
    v = tf.placeholder(tf.float64, name="v")
    h = tf.summary.histogram("h", v)
    with pytest.raises(tf.InvalidArgumentError, match="'h'.*NaN"):
        tf.Session().run(h, {v: [1.0, np.nan]})
    with pytest.raises(tf.InvalidArgumentError, match="HistogramSummary.*bool"):
        tf.summary.histogram("b", tf.constant(np.array([True])))


# merge, merge_all, collections -------------------------------------------------------------------------------------
def test_merge_all_collections_scope_and_none():
    tf.reset_default_graph()
    assert tf.summary.merge_all() is None
    with tf.name_scope("a"):
        s1 = tf.summary.scalar("x", tf.constant(1.0))
    s2 = tf.summary.scalar("y", tf.constant(2.0))
    tf.summary.scalar("hidden", tf.constant(3.0), collections=[])
    tf.summary.scalar("other", tf.constant(4.0), collections=["mine"])
    everything = tf.summary.merge_all()
    assert everything.inputs == [s1, s2]
    assert tf.summary.merge_all(scope="a/").inputs == [s1]
    assert [n.name for n in tf.summary.merge_all(key="mine").inputs] == ["other"]
    merged = tf.Summary.FromString(tf.Session().run(everything))
    assert [(v.tag, v.simple_value) for v in merged.value] == [("a/x", 1.0), ("y", 2.0)]
    assert tf.summary.merge_all(scope="nothing") is None


def test_merge_refuses_duplicate_tags_and_non_summaries():
    tf.reset_default_graph()
    s = tf.summary.scalar("x", tf.constant(1.0))
    with pytest.raises(tf.InvalidArgumentError, match="duplicate tag 'x'"):
        tf.Session().run(tf.summary.merge([s, s]))
    with pytest.raises(tf.InvalidArgumentError, match="MergeSummary.*float32"):
        tf.summary.merge([tf.constant(1.0)])
    with pytest.raises(tf.InvalidArgumentError, match="non-empty"):
        tf.summary.merge([])


def test_zero_value_survives_the_round_trip():
    """A serialized Summary can end in zero bytes (simple_value 0.0): the fetched bytes keep them."""
    tf.reset_default_graph()
    data = tf.Session().run(tf.summary.scalar("zero", tf.constant(0.0)))
    assert data.endswith(b"\x00\x00\x00\x00")
    assert tf.Summary.FromString(data).value[0].simple_value == 0.0


# bad input ---------------------------------------------------------------------------------------------------------
def test_scalar_refuses_non_scalars_and_non_numbers():
    tf.reset_default_graph()
    with pytest.raises(tf.ShapeError, match=r"ScalarSummary \(node 'v'\).*shape \(3,\)"):
        tf.summary.scalar("v", tf.constant([1.0, 2.0, 3.0]))
    with pytest.raises(tf.InvalidArgumentError, match="ScalarSummary.*bool"):
        tf.summary.scalar("flag", tf.constant(True))
    with pytest.raises(tf.InvalidArgumentError, match="non-empty string"):
        tf.summary.scalar("", tf.constant(1.0))


@pytest.mark.parametrize("backend", WITH_INTERPRETER)
def test_scalar_fed_a_vector_fails_at_run_time(backend):
    tf.reset_default_graph()
    x = tf.placeholder(tf.float32, name="x")  # unknown shape: the check happens when the value is known
    s = tf.summary.scalar("s", x)
    with pytest.raises(tf.InvalidArgumentError, match=r"ScalarSummary.*'s'.*\(2,\)"):
        tf.Session(backend=backend).run(s, {x: [1.0, 2.0]})


def test_summaries_have_no_gradient_and_do_not_disturb_gradients():
    tf.reset_default_graph()
    x = tf.placeholder(tf.float64, name="x")
    y = tf.square(x)
    s = tf.summary.scalar("y", y)
    assert s.gradient(tf.constant(1.0), 0) is None
    (dy,) = tf.gradients(y, [x])
    assert tf.Session().run(dy, {x: 3.0}) == 6.0


def test_missing_tensorboard_names_the_pip_command(monkeypatch):
    tf.reset_default_graph()
    monkeypatch.setitem(sys.modules, "tensorboard.compat.proto.summary_pb2", None)
    with pytest.raises(ImportError, match=r"pip install symslow\[tensorboard\]"):
        tf.summary.scalar("x", tf.constant(1.0))


# FileWriter --------------------------------------------------------------------------------------------------------
def test_graph_written_for_tensorboards_graph_view(tmp_path):
    graph = tf.Graph()
    with graph.as_default():
        x = tf.placeholder(tf.float32, shape=(None, 3), name="x")
        with tf.name_scope("layer1"):
            W = tf.Variable(np.zeros((3, 2), dtype=np.float32), name="W")
            h = tf.sigmoid(tf.matmul(x, W), name="h")
        tf.summary.histogram("h", h)
    writer = tf.summary.FileWriter(str(tmp_path))
    writer.add_graph(graph)
    writer.close()
    nodes = {n.name: n for n in read_events(tmp_path).Graph().node}
    assert {"x", "layer1/W", "layer1/h", "h"} <= set(nodes)
    assert nodes["x"].op == "Placeholder" and nodes["h"].op == "HistogramSummary"
    (matmul,) = nodes["layer1/h"].input
    assert matmul.startswith("layer1/") and list(nodes[matmul].input) == ["x", "layer1/W"]
    assert list(nodes["h"].input) == ["layer1/h"]
    dims = [d.size for d in nodes["x"].attr["_output_shapes"].list.shape[0].dim]
    assert dims == [-1, 3]
    assert nodes["x"].attr["dtype"].type == 1  # TensorFlow's DT_FLOAT


def test_writer_takes_summary_protos_reopens_and_refuses_misuse(tmp_path):
    writer = tf.summary.FileWriter(str(tmp_path), filename_suffix=".first")
    summary = tf.Summary(value=[tf.Summary.Value(tag="lr", simple_value=0.5)])
    assert isinstance(summary, tf.Summary)
    writer.add_summary(summary, np.int64(2))
    writer.add_summary(summary.SerializeToString())  # no step: 0
    with pytest.raises(TypeError, match="add_summary takes a serialized Summary"):
        writer.add_summary(0.5, 1)
    writer.close()
    with pytest.raises(RuntimeError, match="closed.*reopen"):
        writer.add_summary(summary, 3)
    writer.reopen()
    writer.add_summary(summary, 4)
    writer.flush()
    writer.close()
    assert writer.get_logdir() == str(tmp_path)
    assert len([f for f in os.listdir(tmp_path) if f.startswith("events.out.tfevents.")]) == 2
    assert [(e.step, e.value) for e in read_events(tmp_path).Scalars("lr")] == [(2, 0.5), (0, 0.5), (4, 0.5)]


# tf.app.flags ------------------------------------------------------------------------------------------------------
def make_flags():
    fv = tf.app.flags.FlagValues()
    tf.flags.DEFINE_string("name", "mnist", "Data set.", flag_values=fv)
    tf.flags.DEFINE_integer("steps", 100, "Steps.", lower_bound=1, flag_values=fv)
    tf.flags.DEFINE_float("lr", 0.01, "Learning rate.", flag_values=fv)
    tf.flags.DEFINE_boolean("verbose", False, "Talk.", flag_values=fv)
    tf.flags.DEFINE_bool("shuffle", True, "Shuffle.", flag_values=fv)
    return fv


def test_flags_defaults_and_every_spelling():
    fv = make_flags()
    assert fv([]) == [] and fv.flag_values_dict() == {
        "name": "mnist", "steps": 100, "lr": 0.01, "verbose": False, "shuffle": True}
    rest = fv(["prog", "--name=cifar", "--steps", "7", "--lr=-0.5", "--verbose", "--noshuffle", "file.txt"])
    assert rest == ["prog", "file.txt"]
    assert (fv.name, fv.steps, fv.lr, fv.verbose, fv.shuffle) == ("cifar", 7, -0.5, True, False)
    fv(["prog", "--verbose=false", "--shuffle=1", "--steps=0x10"])
    assert (fv.verbose, fv.shuffle, fv.steps, fv.name) == (False, True, 16, "cifar")  # others keep their values
    assert tf.flags is tf.app.flags and tf.app.flags.FLAGS is tf.flags.FLAGS


def test_flags_errors():
    fv = make_flags()
    with pytest.raises(tf.app.flags.IllegalFlagValueError, match="--steps.*'abc'"):
        fv(["prog", "--steps=abc"])
    with pytest.raises(tf.app.flags.IllegalFlagValueError, match="--steps.*outside"):
        fv(["prog", "--steps=0"])
    with pytest.raises(tf.app.flags.IllegalFlagValueError, match="--verbose"):
        fv(["prog", "--verbose=maybe"])
    with pytest.raises(tf.app.flags.UnrecognizedFlagError, match="--nope"):
        fv(["prog", "--nope=1"])
    assert fv(["prog", "--nope=1"], known_only=True) == ["prog", "--nope=1"]
    with pytest.raises(tf.app.flags.DuplicateFlagError, match="'steps'"):
        tf.flags.DEFINE_integer("steps", 1, "again", flag_values=fv)
    with pytest.raises(tf.app.flags.IllegalFlagValueError, match="default"):
        tf.flags.DEFINE_integer("bad", "x", "bad default", flag_values=fv)
    with pytest.raises(AttributeError, match="Unknown flag 'missing'"):
        fv.missing
    assert getattr(fv, "missing", 5) == 5
    with pytest.raises(AttributeError):
        fv.missing = 1


def test_flags_parse_sys_argv_lazily_and_can_be_set_and_removed(monkeypatch):
    fv = make_flags()
    monkeypatch.setattr(sys, "argv", ["prog.py", "--steps=3", "-f", "/kernel.json"])  # a notebook kernel's -f
    assert not fv.is_parsed()
    assert fv.steps == 3 and fv.is_parsed()
    fv.lr = 0.5
    assert fv.lr == 0.5 and getattr(fv, "__flags")["lr"] == 0.5
    del fv.lr
    assert "lr" not in fv and list(fv) == ["name", "steps", "verbose", "shuffle"]
    fv.unparse_flags()
    assert fv.flag_values_dict()["steps"] == 100


def test_enum_and_list_flags():
    fv = tf.app.flags.FlagValues()
    tf.flags.DEFINE_enum("opt", "sgd", ["sgd", "adam"], "Optimizer.", flag_values=fv)
    tf.flags.DEFINE_list("layers", "64,32", "Sizes.", flag_values=fv)
    fv(["p", "--opt=adam", "--layers", "8, 4,2"])
    assert fv.opt == "adam" and fv.layers == ["8", "4", "2"]
    with pytest.raises(tf.app.flags.IllegalFlagValueError, match="one of"):
        fv(["p", "--opt=rmsprop"])


def test_help_lists_the_flags(capsys):
    fv = make_flags()
    with pytest.raises(SystemExit) as exit:
        fv(["prog", "--help"])
    assert exit.value.code == 0
    out = capsys.readouterr().out
    assert "--steps" in out and "Learning rate." in out and "default: 100" in out


# tf.app.run --------------------------------------------------------------------------------------------------------
@pytest.fixture
def global_flags():
    before = set(tf.flags.FLAGS)
    yield tf.flags.FLAGS
    for name in set(tf.flags.FLAGS) - before:
        delattr(tf.flags.FLAGS, name)


def test_run_parses_flags_calls_main_and_exits_with_its_value(global_flags, monkeypatch, capsys):
    tf.flags.DEFINE_integer("scaffold_steps", 1, "Steps.")
    seen = []

    def main(argv):
        seen.append((argv, global_flags.scaffold_steps))
        return 3

    with pytest.raises(SystemExit) as exit:
        tf.app.run(main, ["prog", "--scaffold_steps=9", "--unknown", "data"])
    assert exit.value.code == 3 and seen == [(["prog", "--unknown", "data"], 9)]
    fake_main = types.ModuleType("__main__")
    fake_main.main = lambda argv: print("main got", argv)
    monkeypatch.setitem(sys.modules, "__main__", fake_main)
    monkeypatch.setattr(sys, "argv", ["script.py", "--scaffold_steps", "4"])
    with pytest.raises(SystemExit) as exit:
        tf.app.run()
    assert exit.value.code is None and capsys.readouterr().out == "main got ['script.py']\n"
    assert global_flags.scaffold_steps == 4
    with pytest.raises(SystemExit) as exit:
        tf.app.run(main, ["prog", "--scaffold_steps=zero"])
    assert exit.value.code == 1 and "FATAL Flags parsing error" in capsys.readouterr().err
    del fake_main.main
    with pytest.raises(AttributeError, match="main"):
        tf.app.run(argv=["prog"])


def test_a_tf1_program_runs_unchanged(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent("""
        import symslow as tf
        flags = tf.app.flags
        flags.DEFINE_integer("steps", 2, "Training steps.")
        flags.DEFINE_boolean("verbose", True, "Print.")
        FLAGS = flags.FLAGS

        def main(_):
            with tf.device("/cpu:0"):
                x = tf.constant(3.0)
                y = x * FLAGS.steps
            with tf.Session() as sess:
                print(sess.run(y), FLAGS.verbose, _)

        if __name__ == "__main__":
            tf.app.run()
    """))
    result = subprocess.run([sys.executable, str(script), "--steps=5", "--noverbose", "extra"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"15.0 False ['{script}', 'extra']"


# tf.device and the default graph -----------------------------------------------------------------------------------
@pytest.mark.parametrize("backend", WITH_INTERPRETER)
@pytest.mark.parametrize("spec", ["/cpu:0", "/gpu:0", "/device:GPU:1", "/job:localhost/replica:0/task:0/device:CPU:0",
                                  None, lambda op: "/cpu:0"])
def test_device_is_accepted_and_changes_nothing(spec, backend):
    tf.reset_default_graph()
    x = tf.placeholder(tf.float64, name="x")
    with tf.device(spec):
        y = tf.square(x) + 1.0
    np.testing.assert_array_equal(tf.Session(backend=backend).run(y, {x: [1.0, 2.0]}), [2.0, 5.0])


def test_device_refuses_malformed_specs():
    with pytest.raises(ValueError, match="'/tpu_zero'"):
        with tf.device("/tpu_zero"):
            pass
    with pytest.raises(TypeError, match="device string"):
        with tf.device(0):
            pass


def test_reset_and_get_default_graph():
    first = tf.reset_default_graph()
    tf.summary.scalar("s", tf.constant(1.0))
    assert tf.get_default_graph() is first and len(first.nodes) == 2
    second = tf.reset_default_graph()
    assert second is not first and tf.get_default_graph() is second and second.nodes == []
    assert tf.summary.merge_all() is None
    with tf.Graph().as_default() as g:
        assert tf.get_default_graph() is g
    assert tf.get_default_graph() is second
