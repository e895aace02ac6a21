"""``tf.summary.FileWriter``: TensorBoard event files of summaries and graphs, written by TensorBoard's own writer.

The records, the ``Event`` and ``Summary`` protocol buffers and the file names all come from the ``tensorboard``
package (``tensorboard.summary.writer.event_file_writer.EventFileWriter``); this module only says what goes in them.
A graph is written as a ``GraphDef``: one ``NodeDef`` per node, with its name (name scopes become TensorBoard's
collapsible groups), its op type, its inputs, and its dtype and static shape as attributes.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from .graph import Graph, Node
from .protos import _proto, tensorboard_module

# NumPy kinds of dtypes -> the names of TensorFlow's DataType enum in tensorboard.compat.proto.types_pb2
_DATA_TYPES = {
    "float16": "DT_HALF", "float32": "DT_FLOAT", "float64": "DT_DOUBLE", "int8": "DT_INT8", "int16": "DT_INT16",
    "int32": "DT_INT32", "int64": "DT_INT64", "uint8": "DT_UINT8", "bool": "DT_BOOL",
}


def _data_type(dtype: Any) -> int | None:
    if dtype is None:
        return None
    numpy_dtype = np.dtype(getattr(dtype, "as_numpy_dtype", dtype))
    types = _proto("types_pb2")
    if numpy_dtype.kind in "SO":
        return types.DT_STRING
    name = _DATA_TYPES.get(numpy_dtype.name)
    return None if name is None else getattr(types, name)


def _node_def(node: Node):
    """The ``NodeDef`` of one node: name, op type, inputs, and ``dtype`` and ``_output_shapes`` attributes."""
    node_def_pb2, attr_value_pb2 = _proto("node_def_pb2"), _proto("attr_value_pb2")
    shape_pb2 = _proto("tensor_shape_pb2")
    node_def = node_def_pb2.NodeDef(name=node.name, op=node.op_type, input=[i.name for i in node.input_nodes])
    dtype = _data_type(node.dtype)
    if dtype is not None:
        node_def.attr["dtype"].CopyFrom(attr_value_pb2.AttrValue(type=dtype))
    if node.shape is None:
        shape = shape_pb2.TensorShapeProto(unknown_rank=True)
    else:
        dims = [shape_pb2.TensorShapeProto.Dim(size=-1 if d is None else int(d)) for d in node.shape]
        shape = shape_pb2.TensorShapeProto(dim=dims)
    node_def.attr["_output_shapes"].CopyFrom(
        attr_value_pb2.AttrValue(list=attr_value_pb2.AttrValue.ListValue(shape=[shape]))
    )
    return node_def


def graph_def(graph: Graph | None = None):
    """The graph (the default graph if None) as a TensorFlow ``GraphDef`` protocol buffer, for TensorBoard.

    Example:
        >>> import symslow as tf
        >>> g = tf.Graph()
        >>> with g.as_default():
        ...     x = tf.placeholder(tf.float32, shape=(None, 2), name="x")
        ...     with tf.name_scope("layer"):
        ...         y = tf.sigmoid(x, name="y")
        >>> [(n.name, n.op, list(n.input)) for n in tf.summary.graph_def(g).node]
        [('x', 'Placeholder', []), ('layer/y', 'sigmoid', ['x'])]
    """
    from .graph import get_default_graph

    graph = get_default_graph() if graph is None else graph
    if not isinstance(graph, Graph):
        raise TypeError(f"graph_def takes a symslow Graph, not {type(graph).__name__}.")
    graph_pb2, versions_pb2 = _proto("graph_pb2"), _proto("versions_pb2")
    with graph._lock:
        nodes = list(graph.nodes)
    return graph_pb2.GraphDef(node=[_node_def(n) for n in nodes], versions=versions_pb2.VersionDef(producer=1))


_graph_def_of = graph_def  # for add_graph, whose argument is called graph_def as in TensorFlow


def _summary_bytes(summary: Any) -> bytes:
    """A summary as ``add_summary`` takes it: serialized bytes (what ``sess.run`` gives) or a ``Summary``."""
    if isinstance(summary, np.ndarray) and summary.shape == ():
        summary = summary[()]
    if isinstance(summary, (bytes, bytearray)):
        return bytes(summary)
    if hasattr(summary, "SerializeToString"):
        return summary.SerializeToString()
    raise TypeError(
        f"add_summary takes a serialized Summary (the value of a summary op from sess.run) or a tf.Summary, "
        f"not {type(summary).__name__}."
    )


class FileWriter:
    """Writes summaries and graphs to an event file in ``logdir`` that TensorBoard reads (``tensorboard --logdir``).

    Args:
        logdir: the directory of the event file (made if missing).
        graph: a graph to write at once (``sess.graph``), as :meth:`add_graph` does.
        max_queue: how many events may wait before they are written.
        flush_secs: how often waiting events are written, in seconds.
        graph_def: a ``GraphDef`` to write at once instead of ``graph``.
        filename_suffix: appended to the event file's name.

    Use it as a context manager, or call :meth:`close` (or at least :meth:`flush`) before reading the file.

    Example:
        >>> import os, tempfile, symslow as tf
        >>> logdir = tempfile.mkdtemp()
        >>> with tf.summary.FileWriter(logdir) as writer:
        ...     writer.add_summary(tf.Summary(value=[tf.Summary.Value(tag="lr", simple_value=0.1)]), 0)
        >>> [name.startswith("events.out.tfevents.") for name in os.listdir(logdir)]
        [True]
    """

    def __init__(self, logdir: str, graph: Graph | None = None, max_queue: int = 10, flush_secs: float = 120,
                 graph_def: Any = None, filename_suffix: str | None = None):
        self._options = (str(logdir), int(max_queue), flush_secs, filename_suffix or "")
        self._writer = None
        self.reopen()
        if graph is not None or graph_def is not None:
            self.add_graph(graph, graph_def=graph_def)

    def reopen(self) -> None:
        """Start a new event file in the same directory, if this writer was closed."""
        if self._writer is None:
            module = tensorboard_module("summary.writer.event_file_writer")
            logdir, max_queue, flush_secs, suffix = self._options
            self._writer = module.EventFileWriter(logdir, max_queue_size=max_queue, flush_secs=flush_secs,
                                                  filename_suffix=suffix)

    def get_logdir(self) -> str:
        """The directory of the event file."""
        return self._options[0]

    def add_event(self, event: Any) -> None:
        """Write an ``Event`` protocol buffer."""
        if self._writer is None:
            raise RuntimeError(f"This FileWriter of {self._options[0]!r} is closed; call reopen() to write again.")
        self._writer.add_event(event)

    def _event(self, global_step: Any, **fields):
        event = _proto("event_pb2").Event(wall_time=time.time(), **fields)
        if global_step is not None:
            event.step = int(global_step)
        return event

    def add_summary(self, summary: Any, global_step: int | None = None) -> None:
        """Write a summary (the bytes ``sess.run`` gives for a summary op, or a ``tf.Summary``) at ``global_step``."""
        parsed = _proto("summary_pb2").Summary.FromString(_summary_bytes(summary))
        self.add_event(self._event(global_step, summary=parsed))

    def add_graph(self, graph: Graph | None, global_step: int | None = None, graph_def: Any = None) -> None:
        """Write a graph (a symslow ``Graph``, ``sess.graph``) or a ``GraphDef`` for TensorBoard's graph view."""
        if graph is not None and graph_def is not None:
            raise ValueError("add_graph takes a graph or a graph_def, not both.")
        if graph_def is None:
            if graph is None:
                raise ValueError("add_graph needs a graph (sess.graph) or a graph_def.")
            graph_def = _graph_def_of(graph)
        self.add_event(self._event(global_step, graph_def=graph_def.SerializeToString()))

    def flush(self) -> None:
        """Write every waiting event to the file."""
        if self._writer is not None:
            self._writer.flush()

    def close(self) -> None:
        """Flush and close the event file; :meth:`reopen` starts a new one."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def __enter__(self) -> "FileWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
