"""The ops, one module per family (elementwise, linalg, reduce, nn, state)."""

from .base import Operation
from .elementwise_op import ElementwiseOp
from .elementwise import (add, divide, exp, identity, log, maximum, multiply, negative, pow, relu, sigmoid, sqrt, square,
                          subtract, tanh)
from .linalg import matmul
from .movement import reshape, transpose
from .registered import RegisterGradient, unregister_gradient
from .nn import log_softmax, softmax, softmax_cross_entropy_with_logits
from .constant import ones_like, zeros_like
from .reduce import reduce_sum
from .reductions import reduce_mean
from .state import assign, assign_add, assign_sub, group

# imported last: importing the submodule `elementwise` above binds its name in this package
from .elementwise_op import elementwise  # noqa: E402

# Python's operators and NumPy's spellings on nodes, now that every op they name exists
from . import operators  # noqa: E402

operators.install()
