"""``symslow.nn``: the neural-network names of TensorFlow 1's ``tf.nn``."""

from .ops.elementwise import relu, sigmoid, tanh
from .ops.nn import log_softmax, softmax, softmax_cross_entropy_with_logits

__all__ = ["relu", "sigmoid", "tanh", "softmax", "log_softmax", "softmax_cross_entropy_with_logits"]
