"""``symslow.nn``: the neural-network names of TensorFlow 1's ``tf.nn``."""

from .ops.elementwise import relu, sigmoid, tanh
from .ops.elementwise_math import elu, softplus
from .ops.lrn import local_response_normalization, lrn
from .ops.nn import (bias_add, l2_loss, log_softmax, sigmoid_cross_entropy_with_logits, softmax,
                     softmax_cross_entropy_with_logits, softmax_cross_entropy_with_logits_v2,
                     sparse_softmax_cross_entropy_with_logits)
from .ops.conv import conv2d, conv2d_transpose
from .ops.dropout import dropout
from .ops.pool import avg_pool, max_pool

__all__ = ["relu", "sigmoid", "tanh", "softmax", "log_softmax", "softmax_cross_entropy_with_logits",
           "elu", "softplus", "bias_add", "l2_loss", "sparse_softmax_cross_entropy_with_logits",
           "softmax_cross_entropy_with_logits_v2", "sigmoid_cross_entropy_with_logits"]
__all__ += ["conv2d", "conv2d_transpose", "max_pool", "avg_pool", "dropout", "lrn", "local_response_normalization"]
