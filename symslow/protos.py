"""TensorBoard's protocol buffers, from the ``tensorboard`` package, imported on first use.

The one place symslow imports TensorBoard: ``tf.summary`` builds its ``Summary`` protocol buffers and the
``FileWriter`` its events and ``GraphDef`` with these classes, and TensorBoard's own ``EventFileWriter`` writes them.
"""

from __future__ import annotations

import importlib

INSTALL = "pip install symslow[tensorboard]  (or: pip install tensorboard)"


def tensorboard_module(name: str):
    """``tensorboard.<name>``, or an ImportError that says how to install TensorBoard."""
    try:
        return importlib.import_module(f"tensorboard.{name}")
    except ImportError as error:
        raise ImportError(f"tf.summary needs the tensorboard package ({error}); install it with: {INSTALL}") from None


def _proto(module: str):
    return tensorboard_module(f"compat.proto.{module}")


class _LazyProto:
    """A protocol buffer class of TensorBoard's, imported on first use (``tf.Summary``, ``tf.summary.Event``)."""

    def __init__(self, module: str, name: str):
        self._where = (module, name)

    def _resolve(self) -> type:
        return getattr(_proto(self._where[0]), self._where[1])

    def __call__(self, *args, **kwargs):
        return self._resolve()(*args, **kwargs)

    def __getattr__(self, attribute: str):
        if attribute.startswith("__"):
            raise AttributeError(attribute)
        return getattr(self._resolve(), attribute)

    def __instancecheck__(self, instance) -> bool:
        return isinstance(instance, self._resolve())

    def __repr__(self) -> str:
        return f"<lazy tensorboard.compat.proto.{self._where[0]}.{self._where[1]}>"


Summary = _LazyProto("summary_pb2", "Summary")
Event = _LazyProto("event_pb2", "Event")
