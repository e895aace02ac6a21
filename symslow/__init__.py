"""symslow: deep learning from scratch, with graphs whose nodes are SymPy formulas.

The public API uses TensorFlow 1's names, so ``import symslow as tf`` and the tutorial's ``import symslow as ts``
both read naturally.
"""

from . import nn, train
from .errors import GraphMismatchError, InvalidArgumentError, LookupGradientError, ShapeError, SymslowError
from .graph import (Graph, Node, Placeholder, Variable, constant, float32, float64, get_default_graph, int32, int64,
                    name_scope, placeholder, reset_default_graph)
from .gradients import compute_gradients, gradients, hessians
from .ops.base import elementwise
from .ops import (ElementwiseOp, Operation, RegisterGradient, add, assign, assign_add, assign_sub, divide,
                  exp, group, identity, log, log_softmax, matmul, maximum, multiply, negative, ones_like, pow,
                  reduce_mean, reduce_sum, relu, reshape, sigmoid, softmax, softmax_cross_entropy_with_logits, sqrt,
                  square, subtract, tanh, transpose, zeros_like)
from .session import Session
from .symbolic import formula, latex, pretty
from .train import global_variables_initializer

# TensorFlow 1's everyday ops: comparisons, casts, arg-max, more elementwise functions and reductions
__all__ = []  # each block below adds its names
# -- everyday ops --

# TensorFlow 1's shape and indexing ops
# -- shape ops --

# TensorFlow 1's program scaffolding: tf.app, tf.summary, tf.device
# -- scaffolding --

__version__ = "0.1.0"

__all__ += [
    "Graph", "Node", "Placeholder", "Variable", "constant", "placeholder", "get_default_graph", "reset_default_graph",
    "name_scope", "float32", "float64", "int32", "int64",
    "Operation", "ElementwiseOp", "RegisterGradient", "elementwise",
    "add", "subtract", "multiply", "divide", "negative", "identity", "log", "exp", "sigmoid", "tanh", "relu",
    "square", "sqrt", "pow", "maximum", "matmul", "transpose", "reshape", "reduce_sum", "reduce_mean", "softmax",
    "log_softmax", "softmax_cross_entropy_with_logits", "ones_like", "zeros_like",
    "assign", "assign_add", "assign_sub", "group", "global_variables_initializer",
    "gradients", "compute_gradients", "hessians", "formula", "latex", "pretty",
    "Session", "nn", "train",
    "SymslowError", "InvalidArgumentError", "ShapeError", "GraphMismatchError", "LookupGradientError",
]
