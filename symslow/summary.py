"""TensorFlow 1's ``tf.summary``: summary ops in the graph and a ``FileWriter`` of TensorBoard event files.

A summary op is a graph node like any other. It has no formula: on every backend (and in the interpreter) the
compiled program calls its ``compute()`` back with the value of its input, and it returns a serialized ``Summary``
protocol buffer, as bytes, exactly what TensorFlow 1's ``sess.run(merged)`` returns and ``add_summary`` takes.

Protocol buffers and event files come from the ``tensorboard`` package (``pip install symslow[tensorboard]``), which
is imported only when a summary is made: TensorBoard itself then reads what :class:`FileWriter` writes.

Example:
    >>> import tempfile, symslow as tf
    >>> _ = tf.Graph().as_default()
    >>> x = tf.placeholder(tf.float32, name="x")
    >>> loss = tf.square(x, name="loss")
    >>> _ = tf.summary.scalar("loss", loss)
    >>> merged = tf.summary.merge_all()
    >>> logdir = tempfile.mkdtemp()
    >>> with tf.Session() as sess, tf.summary.FileWriter(logdir, sess.graph) as writer:
    ...     for step in range(3):
    ...         writer.add_summary(sess.run(merged, {x: float(step)}), step)
    >>> value = tf.Summary.FromString(tf.Session().run(merged, {x: 3.0})).value[0]
    >>> value.tag, value.simple_value  # the tag is unique in the graph, as TensorFlow makes it: 'loss' was taken
    ('loss_1', 9.0)
"""

from __future__ import annotations

import re
from typing import Any, Sequence

import numpy as np

from .errors import InvalidArgumentError, describe
from .graph import Node, format_shape, get_default_graph
from .ops.base import Operation
from .protos import Event, Summary, _proto, tensorboard_module
from .summary_values import _LIMITS, _buckets, _normalized_image, _png

SUMMARIES = "summaries"  # TensorFlow's tf.GraphKeys.SUMMARIES: the collection merge_all() merges


def _clean_tag(name: Any, what: str) -> str:
    """A tag TensorBoard accepts: TensorFlow's rule (characters other than ``A-Za-z0-9_./-`` become ``_``)."""
    if not isinstance(name, str) or not name:
        raise InvalidArgumentError(f"{what} takes a non-empty string as its name, not {name!r}.")
    return re.sub(r"[^-/\w.]", "_", name).lstrip("/") or "_"


def _string_scalar(data: bytes) -> np.ndarray:
    """A 0-d array holding ``data`` (object dtype: a NumPy bytes array would drop trailing zero bytes)."""
    array = np.empty((), dtype=object)
    array[()] = data
    return array


def _host(value: Any) -> np.ndarray:
    """A value computed on any backend as a NumPy array (a CuPy array is copied from the GPU)."""
    if type(value).__module__.startswith("cupy"):
        return value.get()
    return np.asarray(value)


def _numeric_dtype(op: Operation, dtype: Any, argument: str) -> Any:
    if dtype is not None and np.dtype(dtype).kind not in "fiu":
        raise InvalidArgumentError(
            f"Op {op.op_type} (node {op.display_name!r}): {argument} must be a real number tensor, not "
            f"{np.dtype(dtype).name}; convert it with tf.cast."
        )
    return np.bytes_  # tf.string: a serialized Summary


class SummaryOp(Operation):
    """A node whose value is a serialized ``Summary`` protocol buffer (bytes); summaries have no gradient."""

    def __init__(self, inputs: Sequence[Any], name: str | None, collections: Sequence[str] | None):
        super().__init__(inputs, name)
        self.collections = [SUMMARIES] if collections is None else list(collections)

    def infer_shape(self, *input_shapes):
        return ()

    def gradient(self, grad: Node, index: int) -> None:
        return None  # as in TensorFlow: a summary is not differentiable


class ScalarSummary(SummaryOp):
    """The node of :func:`scalar`: one ``simple_value`` tagged with the node's name."""

    default_name = "scalar"

    def infer_shape(self, x_shape=None):
        if x_shape is not None and tuple(x_shape) != ():
            raise self.shape_error(
                f"tf.summary.scalar takes a scalar tensor, but its input has shape {format_shape(x_shape)}; "
                "reduce it first (tf.reduce_mean) or pick one element."
            )
        return ()

    def infer_dtype(self, x_dtype=None):
        return _numeric_dtype(self, x_dtype, "the tensor of tf.summary.scalar")

    def compute(self, x):
        value = _host(x)
        self.infer_shape(np.shape(value))
        summary = _proto("summary_pb2").Summary
        proto = summary(value=[summary.Value(tag=self.name, simple_value=float(value))])
        return _string_scalar(proto.SerializeToString())


def scalar(name: str, tensor: Any, collections: Sequence[str] | None = None, family: str | None = None) -> Node:
    """A summary of one scalar value, tagged ``name`` (within the name scope), for TensorBoard's scalar plots.

    Args:
        name: the tag (made unique in the graph, as TensorFlow makes a node name: ``loss``, ``loss_1``).
        tensor: a scalar node (or number) of a real type.
        collections: the collections it joins; the default, ``["summaries"]``, is what :func:`merge_all` merges.
        family: a prefix of the tag, shown as its own group in TensorBoard.

    Returns:
        A node whose value is a serialized ``Summary`` (bytes), for ``FileWriter.add_summary``.

    Example:
        >>> import symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> s = tf.summary.scalar("accuracy", tf.constant(0.75))
        >>> print(tf.Summary.FromString(tf.Session().run(s)))
        value {
          tag: "accuracy"
          simple_value: 0.75
        }
        <BLANKLINE>
    """
    tag = _clean_tag(name, "tf.summary.scalar")
    _proto("summary_pb2")  # fail now, not at run time, when TensorBoard is missing
    return ScalarSummary([tensor], f"{family}/{tag}" if family else tag, collections)


class HistogramSummary(SummaryOp):
    """The node of :func:`histogram`: TensorFlow's histogram of a tensor's values, with its default buckets."""

    default_name = "histogram"

    def infer_dtype(self, values_dtype=None):
        return _numeric_dtype(self, values_dtype, "the values of tf.summary.histogram")

    def compute(self, values):
        array = _host(values).astype(np.float64).reshape(-1)
        if not np.isfinite(array).all():
            raise InvalidArgumentError(f"Op {describe(self)}: NaN or infinity in the values of a histogram summary.")
        summary = _proto("summary_pb2")
        limits, counts = _buckets(array)
        histo = summary.HistogramProto(
            min=float(array.min()) if array.size else float(_LIMITS[-1]),
            max=float(array.max()) if array.size else float(-_LIMITS[-1]),
            num=float(array.size), sum=float(array.sum()), sum_squares=float(np.dot(array, array)),
            bucket_limit=limits, bucket=counts,
        )
        value = summary.Summary.Value(tag=self.name, histo=histo)
        return _string_scalar(summary.Summary(value=[value]).SerializeToString())


def histogram(name: str, values: Any, collections: Sequence[str] | None = None, family: str | None = None) -> Node:
    """A summary of the distribution of ``values`` (any shape), for TensorBoard's histograms and distributions.

    Args, returns: as :func:`scalar`; ``values`` is a node of a real type, of any shape.

    Example:
        >>> import symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> h = tf.summary.histogram("weights", tf.constant([1.0, 2.0, 2.0, 5.0]))
        >>> histo = tf.Summary.FromString(tf.Session().run(h)).value[0].histo
        >>> histo.min, histo.max, histo.num, histo.sum, sum(histo.bucket)
        (1.0, 5.0, 4.0, 10.0, 4.0)
    """
    tag = _clean_tag(name, "tf.summary.histogram")
    _proto("summary_pb2")
    return HistogramSummary([values], f"{family}/{tag}" if family else tag, collections)


class ImageSummary(SummaryOp):
    """The node of :func:`image`: up to ``max_outputs`` images of a batch, PNG-encoded."""

    default_name = "image"

    def __init__(self, inputs, name, collections, max_outputs: int):
        self.max_outputs = max_outputs
        super().__init__(inputs, name, collections)

    def infer_shape(self, shape=None):
        if shape is not None and (len(shape) != 4 or shape[-1] not in (1, 3, 4, None)):
            raise self.shape_error(
                f"tf.summary.image takes images of shape [batch, height, width, channels] with 1, 3 or 4 channels, "
                f"got shape {format_shape(shape)}."
            )
        return ()

    def infer_dtype(self, dtype=None):
        if dtype is not None and np.dtype(dtype) != np.uint8 and np.dtype(dtype).kind != "f":
            raise InvalidArgumentError(f"Op {self.op_type} (node {self.display_name!r}): tf.summary.image takes float or uint8 images, not "
                                       f"{np.dtype(dtype).name}; convert them with tf.cast.")
        return np.bytes_

    def compute(self, images):
        array = _host(images)
        self.infer_shape(np.shape(array))
        summary = _proto("summary_pb2").Summary
        values = []
        for i, image in enumerate(array[: self.max_outputs]):
            pixels = image if array.dtype == np.uint8 else _normalized_image(image.astype(np.float64))
            tag = f"{self.name}/image" if self.max_outputs == 1 else f"{self.name}/image/{i}"
            encoded = summary.Image(height=pixels.shape[0], width=pixels.shape[1], colorspace=pixels.shape[2],
                                    encoded_image_string=_png(pixels))
            values.append(summary.Value(tag=tag, image=encoded))
        return _string_scalar(summary(value=values).SerializeToString())


def image(name: str, tensor: Any, max_outputs: int = 3, collections: Sequence[str] | None = None,
          family: str | None = None) -> Node:
    """A summary of up to ``max_outputs`` images of a batch, for TensorBoard's image dashboard.

    ``tensor`` has shape ``[batch, height, width, channels]`` with 1 (grey), 3 (RGB) or 4 (RGBA) channels. uint8
    values are kept; floats are scaled one image at a time, as TensorFlow scales them: when all are non-negative
    the largest becomes 255; otherwise 0 becomes 128 and the largest magnitude 1 or 255. The tags are
    ``name/image/0``, ``name/image/1`` ... (``name/image`` when ``max_outputs`` is 1).

    Example:
        >>> import numpy as np, symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> batch = tf.constant(np.linspace(0.0, 1.0, 2 * 4 * 4).reshape(2, 4, 4, 1))
        >>> s = tf.Summary.FromString(tf.Session().run(tf.summary.image("inputs", batch)))
        >>> [(v.tag, v.image.height, v.image.width, v.image.encoded_image_string[1:4]) for v in s.value]
        [('inputs/image/0', 4, 4, b'PNG'), ('inputs/image/1', 4, 4, b'PNG')]
    """
    tag = _clean_tag(name, "tf.summary.image")
    if isinstance(max_outputs, bool) or not isinstance(max_outputs, (int, np.integer)) or max_outputs < 1:
        raise InvalidArgumentError(f"tf.summary.image: max_outputs must be a positive integer, not {max_outputs!r}.")
    _proto("summary_pb2")
    return ImageSummary([tensor], f"{family}/{tag}" if family else tag, collections, int(max_outputs))


class TextSummary(SummaryOp):
    """The node of :func:`text`: a string tensor for TensorBoard's text dashboard."""

    default_name = "text"

    def infer_shape(self, shape=None):
        return ()

    def infer_dtype(self, dtype=None):
        if dtype is not None and np.dtype(dtype).kind not in "SUO":
            raise InvalidArgumentError(f"Op {self.op_type} (node {self.display_name!r}): tf.summary.text takes a string tensor, not "
                                       f"{np.dtype(dtype).name}.")
        return np.bytes_

    def compute(self, strings):
        array = np.asarray(_host(strings), dtype=object)
        encoded = np.vectorize(lambda v: v if isinstance(v, bytes) else str(v).encode(), otypes=[object])(array)
        summary = _proto("summary_pb2")
        metadata = tensorboard_module("plugins.text.metadata").create_summary_metadata(display_name=None,
                                                                                        description=None)
        tensor = tensorboard_module("util.tensor_util").make_tensor_proto(encoded)
        value = summary.Summary.Value(tag=self.name, metadata=metadata, tensor=tensor)
        return _string_scalar(summary.Summary(value=[value]).SerializeToString())


def text(name: str, tensor: Any, collections: Sequence[str] | None = None) -> Node:
    """A summary of a string tensor (Markdown), for TensorBoard's text dashboard.

    Example:
        >>> import symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> s = tf.Summary.FromString(tf.Session().run(tf.summary.text("note", tf.constant("**loss** falls"))))
        >>> s.value[0].tag, s.value[0].metadata.plugin_data.plugin_name, s.value[0].tensor.string_val
        ('note', 'text', [b'**loss** falls'])
    """
    tag = _clean_tag(name, "tf.summary.text")
    _proto("summary_pb2")
    return TextSummary([tensor], tag, collections)


class MergeSummary(SummaryOp):
    """The node of :func:`merge`: the values of several summaries in one ``Summary``."""

    default_name = "Merge/MergeSummary"

    def infer_dtype(self, *input_dtypes):
        for dtype in input_dtypes:
            if dtype is not None and np.dtype(dtype).kind not in "SO":
                raise InvalidArgumentError(
                    f"Op {self.op_type} (node {self.display_name!r}) merges summaries (string tensors), "
                    f"not a tensor of {np.dtype(dtype).name}."
                )
        return np.bytes_

    def compute(self, *inputs):
        summary_class = _proto("summary_pb2").Summary
        merged, tags = summary_class(), set()
        for node, value in zip(self.input_nodes, inputs):
            for data in np.asarray(value, dtype=object).reshape(-1):
                part = summary_class.FromString(bytes(data))
                for item in part.value:
                    if item.tag in tags:
                        raise InvalidArgumentError(f"Op {describe(self)}: duplicate tag {item.tag!r} in the "
                                                   f"summaries to merge (from {describe(node)}).")
                    tags.add(item.tag)
                merged.MergeFrom(part)
        return _string_scalar(merged.SerializeToString())


def merge(inputs: Sequence[Node], collections: Sequence[str] | None = None, name: str | None = None) -> Node:
    """One summary holding the values of ``inputs`` (summary nodes); a duplicate tag is an error at run time.

    Example:
        >>> import symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> a = tf.summary.scalar("a", tf.constant(1.0))
        >>> b = tf.summary.scalar("b", tf.constant(2.0))
        >>> both = tf.Summary.FromString(tf.Session().run(tf.summary.merge([a, b])))
        >>> [(v.tag, v.simple_value) for v in both.value]
        [('a', 1.0), ('b', 2.0)]
    """
    inputs = list(inputs) if not isinstance(inputs, Node) else [inputs]
    if not inputs:
        raise InvalidArgumentError("tf.summary.merge takes a non-empty list of summary nodes.")
    return MergeSummary(inputs, name, [] if collections is None else collections)


def merge_all(key: str = SUMMARIES, scope: str | None = None, name: str | None = None) -> Node | None:
    """Merge every summary of the default graph in collection ``key``; ``None`` when there is none (as in TF).

    ``scope`` keeps only the summaries whose names match it (``re.match``).

    Example:
        >>> import symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> print(tf.summary.merge_all())
        None
        >>> _ = tf.summary.scalar("a", tf.constant(1.0))
        >>> tf.summary.merge_all().inputs[0].name
        'a'
    """
    graph = get_default_graph()
    found = [n for n in graph.operations if isinstance(n, SummaryOp) and key in n.collections
             and (scope is None or re.match(scope, n.name))]
    if not found:
        return None
    return MergeSummary(found, name, [])


from .summary_writer import FileWriter, graph_def  # noqa: E402

__all__ = ["scalar", "histogram", "image", "text", "merge", "merge_all", "FileWriter", "Summary", "Event", "graph_def"]
