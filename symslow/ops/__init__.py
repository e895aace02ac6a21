"""The ops, one module per family (elementwise, linalg, reduce, nn, state)."""

from .base import ElementwiseOp, Operation
from .elementwise import (add, divide, exp, identity, log, maximum, multiply, negative, pow, relu, sigmoid, sqrt, square,
                          subtract, tanh)
from .linalg import matmul, reshape, transpose
from .registered import RegisterGradient, unregister_gradient
from .nn import log_softmax, softmax, softmax_cross_entropy_with_logits
from .reduce import ones_like, reduce_mean, reduce_sum, zeros_like
from .state import assign, assign_add, assign_sub, group

# imported last: importing the submodule `elementwise` above binds its name in this package
from .base import elementwise  # noqa: E402
