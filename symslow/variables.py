"""Collections of Variables and the ops that initialise them, as TensorFlow 1 names them.

A Variable's :attr:`~symslow.leaves.Variable.initializer` assigns it its initial value (running the initial-value op,
a random one say, anew); these functions gather Variables of a graph and group their initializers.
"""

from __future__ import annotations

from typing import Sequence

from .errors import InvalidArgumentError
from .graph import Graph, get_default_graph
from .leaves import Variable
from .ops.state import group


def global_variables(graph: Graph | None = None) -> list[Variable]:
    """Every Variable of the graph (the default graph if None), in the order they were made."""
    return list((graph or get_default_graph()).variables)


def trainable_variables(graph: Graph | None = None) -> list[Variable]:
    """The Variables made with ``trainable=True`` (the default), which optimizers train."""
    return [v for v in global_variables(graph) if v.trainable]


def variables_initializer(var_list: Sequence[Variable], name: str = "init") -> group:
    """An op that sets each Variable of ``var_list`` to its initial value.

    Example:
        >>> import symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> v = tf.Variable(1.0)
        >>> sess = tf.Session()
        >>> _ = sess.run(tf.assign(v, 5.0))
        >>> sess.run(tf.variables_initializer([v])); sess.run(v)
        np.float32(1.0)
    """
    var_list = list(var_list)
    for variable in var_list:
        if not isinstance(variable, Variable):
            raise InvalidArgumentError(f"variables_initializer takes Variables, not {variable!r}.")
    return group(*[v.initializer for v in var_list], name=name)


def global_variables_initializer() -> group:
    """An op that sets every Variable of the default graph to its initial value (random ones drawn anew).

    Sessions also initialise a Variable on its first use, so calling this is optional (the tutorial never does).
    """
    return variables_initializer(global_variables(), name="init")


initialize_all_variables = global_variables_initializer  # TensorFlow 1's older name
