"""``tf.device``: accepted for TensorFlow 1 programs, with no effect on where anything runs."""

from __future__ import annotations

import contextlib
import re
from typing import Any, Iterator

# TensorFlow's device strings: "/cpu:0", "/gpu:1", "/device:GPU:0", "/job:worker/replica:0/task:1/device:CPU:0"
_PART = re.compile(r"(job:[\w-]+|replica:\d+|task:\d+|device:[A-Za-z_]+:(\d+|\*)|(cpu|gpu|CPU|GPU):(\d+|\*))")


def _check(spec: str) -> None:
    parts = spec.strip("/").split("/") if spec else []
    for part in parts:
        if not _PART.fullmatch(part):
            raise ValueError(
                f"tf.device: {spec!r} is not a device string (expected forms like '/cpu:0', '/gpu:0', "
                f"'/device:GPU:0'); the part {part!r} is not understood."
            )


@contextlib.contextmanager
def device(device_name_or_function: Any) -> Iterator[None]:
    """``with tf.device("/gpu:0"):`` as in TensorFlow 1: the block runs, and placement stays as it is.

    symslow does not place nodes on devices. The session's backend decides where the whole graph runs:
    ``Session(backend="numpy")`` and the interpreter compute on the CPU with NumPy; ``backend="jax"`` on JAX's
    default device (a GPU when JAX has one); ``backend="cupy"`` on CuPy's current CUDA GPU. The device string is
    checked for its form, so a typo fails here as it does in TensorFlow.

    Args:
        device_name_or_function: a device string (``"/cpu:0"``, ``"/gpu:0"``, ``"/device:GPU:0"``), ``None``, or a
            function of an op (TensorFlow's device functions; accepted and never called).

    Example:
        >>> import symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> with tf.device("/gpu:0"):
        ...     y = tf.constant(2.0) * 3.0
        >>> float(tf.Session().run(y))
        6.0
    """
    if isinstance(device_name_or_function, str):
        _check(device_name_or_function)
    elif device_name_or_function is not None and not callable(device_name_or_function):
        raise TypeError(
            f"tf.device takes a device string, None or a function, not {type(device_name_or_function).__name__}."
        )
    yield
