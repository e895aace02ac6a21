"""symslow: deep learning from scratch, with graphs whose nodes are SymPy formulas.

The public API uses TensorFlow 1's names, so ``import symslow as tf`` and the tutorial's ``import symslow as ts``
both read naturally.
"""

from . import nn, train
from .errors import GraphMismatchError, InvalidArgumentError, LookupGradientError, ShapeError, SymslowError
from .dtypes import DType, as_dtype, bool, float16, float32, float64, int8, int16, int32, int64, string, uint8
from .default_session import get_default_session
from .graph import Graph, Node, TensorShape, get_default_graph, name_scope, reset_default_graph
from .leaves import Placeholder, Variable, constant, placeholder
from .gradients import compute_gradients, gradients, hessians
from .ops.elementwise_op import elementwise
from .ops import (ElementwiseOp, Operation, RegisterGradient, add, assign, assign_add, assign_sub, divide,
                  exp, group, identity, log, log_softmax, matmul, maximum, multiply, negative, ones_like, pow,
                  reduce_mean, reduce_sum, relu, reshape, sigmoid, softmax, softmax_cross_entropy_with_logits, sqrt,
                  square, subtract, tanh, transpose, unregister_gradient, zeros_like)
from .ops.constant import fill, ones, zeros
from .ops.random import random_normal, random_shuffle, random_uniform, set_random_seed, truncated_normal
from .session import InteractiveSession, Session
from .symbolic import formula, latex, pretty
from .variables import (global_variables, global_variables_initializer, initialize_all_variables,
                        trainable_variables, variables_initializer)

# TensorFlow 1's everyday ops: comparisons, casts, arg-max, more elementwise functions and reductions
__all__ = []  # each block below adds its names
# -- everyday ops --
from .ops.compare import (arg_max, arg_min, argmax, argmin, cast, equal, greater, greater_equal, less, less_equal,
                          logical_and, logical_not, logical_or, logical_xor, not_equal, reduce_all, reduce_any,
                          to_float, where)
from .ops.elementwise_math import (absolute as abs, ceil, clip_by_value, cos, floor, log1p, minimum,  # noqa: A004
                                   reciprocal, rsqrt, sign, sin)
from .ops.reductions import reduce_max, reduce_min, reduce_prod

__all__ += [
    "argmax", "argmin", "arg_max", "arg_min", "cast", "to_float", "equal", "not_equal", "less", "less_equal",
    "greater", "greater_equal", "logical_and", "logical_or", "logical_xor", "logical_not", "where",
    "reduce_max", "reduce_min", "reduce_prod", "reduce_any", "reduce_all",
    "abs", "sign", "floor", "ceil", "sin", "cos", "log1p", "minimum", "reciprocal", "rsqrt", "clip_by_value",
]

# TensorFlow 1's shape and indexing ops
# -- shape ops --
from .ops.array import expand_dims, squeeze  # noqa: E402
from .ops.composed import concat, pad, rank, reverse, shape, size, slice, split, stack, tile, unstack  # noqa: E402
from .ops.indexing import gather, one_hot  # noqa: E402
from .ops.linalg import matrix_inverse  # noqa: E402

__all__ += ["expand_dims", "squeeze", "concat", "stack", "unstack", "split", "slice", "tile", "pad", "reverse",
            "gather", "one_hot", "shape", "size", "rank", "matrix_inverse"]

# TensorFlow 1's program scaffolding: tf.app, tf.summary, tf.device
# -- scaffolding --
from . import app, summary
from .app import flags
from .device import device
from .summary import Event, Summary

__all__ += ["app", "flags", "summary", "device", "Summary", "Event"]

# TensorFlow 1's layers, initializers and variable scopes: tf.layers, tf.glorot_uniform_initializer, tf.get_variable
# -- layers and initializers --
from . import initializers, layers  # noqa: E402
from .initializers import (constant_initializer, glorot_normal_initializer, glorot_uniform_initializer,  # noqa: E402
                           ones_initializer, random_normal_initializer, random_uniform_initializer,
                           truncated_normal_initializer, variance_scaling_initializer, zeros_initializer)
from .variable_scope import AUTO_REUSE, VariableScope, get_variable, get_variable_scope, variable_scope  # noqa: E402

__all__ += ["layers", "initializers", "zeros_initializer", "ones_initializer", "constant_initializer",
            "random_normal_initializer", "random_uniform_initializer", "truncated_normal_initializer",
            "variance_scaling_initializer", "glorot_uniform_initializer", "glorot_normal_initializer",
            "variable_scope", "get_variable", "get_variable_scope", "VariableScope", "AUTO_REUSE"]

# the diagrams, imported so that a notebook shows each node as its diagram
from . import viz  # noqa: E402

__version__ = "0.1.0"

__all__ += [
    "Graph", "Node", "Placeholder", "Variable", "constant", "placeholder", "get_default_graph", "reset_default_graph",
    "name_scope", "TensorShape",
    "DType", "as_dtype", "float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool", "string",
    "zeros", "ones", "fill", "random_normal", "random_uniform", "truncated_normal", "random_shuffle",
    "set_random_seed", "global_variables", "trainable_variables", "variables_initializer",
    "initialize_all_variables", "InteractiveSession", "get_default_session",
    "Operation", "ElementwiseOp", "RegisterGradient", "unregister_gradient", "elementwise",
    "add", "subtract", "multiply", "divide", "negative", "identity", "log", "exp", "sigmoid", "tanh", "relu",
    "square", "sqrt", "pow", "maximum", "matmul", "transpose", "reshape", "reduce_sum", "reduce_mean", "softmax",
    "log_softmax", "softmax_cross_entropy_with_logits", "ones_like", "zeros_like",
    "assign", "assign_add", "assign_sub", "group", "global_variables_initializer",
    "gradients", "compute_gradients", "hessians", "formula", "latex", "pretty",
    "Session", "nn", "train",
    "SymslowError", "InvalidArgumentError", "ShapeError", "GraphMismatchError", "LookupGradientError",
]
