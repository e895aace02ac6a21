"""A backend is one printer: ops print through the printer's words, so a new printer changes the code of every op
without touching one, and the code it writes still trains the tutorial's network as hand-written NumPy does."""

import ast
from pathlib import Path

import numpy as np
import pytest

import symslow as ts
from symslow.backends import COMPILED, Backend, NumPyCodePrinter, register_backend
from reference import mlp_step, xor_clusters
from test_training import tutorial_mlp

OPS = Path(ts.__file__).parent / "ops"


class FunctionCalls(NumPyCodePrinter):
    """NumPy with no operator or method of an array: every product, transpose and reduction a NumPy function."""

    unrolls_short_reductions = False

    def transposed(self, x):
        return self.call("transpose", x)

    def matmul(self, a, b, transpose_a=False, transpose_b=False):
        return self.call("matmul", self.transposed(a) if transpose_a else a, self.transposed(b) if transpose_b else b)

    def reduce_array(self, name, x, axes, keepdims):
        return self.reduce(name, x, axes, keepdims)


@pytest.fixture
def function_calls_backend():
    register_backend("function-calls", lambda: Backend("function-calls", FunctionCalls, {"numpy": "numpy"}))
    yield "function-calls"
    del COMPILED["function-calls"]


@pytest.mark.parametrize("shape", [None, (None, 2)], ids=["unknown-shapes", "known-shapes"])
def test_a_printer_registered_as_a_backend_trains_the_mlp_as_numpy_does(function_calls_backend, shape):
    rng = np.random.default_rng(3)
    X_value, c_value = xor_clusters(rng)
    initial = [rng.standard_normal((2, 2)), rng.standard_normal(2), rng.standard_normal((2, 2)), rng.standard_normal(2)]
    ts.Graph().as_default()
    X, c, variables, J, train = tutorial_mlp(initial, shape=shape)
    session = ts.Session(backend=function_calls_backend)
    feed = {X: X_value, c: c_value}
    for _ in range(20):
        session.run(train, feed)

    reference = initial
    for _ in range(20):
        reference = mlp_step(X_value, c_value, *reference, 0.03)
    for variable, expected in zip(variables, reference):
        np.testing.assert_allclose(session.run(variable), expected, rtol=0, atol=1e-12)

    tree = ast.parse(session.source(train, feed))
    assert not [n for n in ast.walk(tree) if isinstance(n, ast.BinOp) and isinstance(n.op, ast.MatMult)]
    methods = [n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute) and n.attr in ("T", "sum", "max")
               and not (isinstance(n.value, ast.Name) and n.value.id == "numpy")]
    assert methods == []
    assert "numpy.matmul(" in ast.unparse(tree)


def test_a_session_names_the_registered_backends_when_given_an_unknown_one(function_calls_backend):
    with pytest.raises(ValueError, match="'numpy', 'jax', 'cupy', 'function-calls', 'interpreter'"):
        ts.Session(backend="numba-typo")
    with pytest.raises(ValueError, match="interpreter"):
        register_backend("interpreter", lambda: None)


def _printed_names(path: Path) -> set[str]:
    """Every attribute name and string constant of a module's ``print_code`` functions."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.FunctionDef) and node.name == "print_code":
            for inner in ast.walk(node):
                if isinstance(inner, ast.Attribute):
                    names.add(inner.attr)
                elif isinstance(inner, ast.Constant) and isinstance(inner.value, str):
                    names.add(inner.value)
    return names


def test_no_op_prints_a_library_itself():
    """The ops' code goes through the printer's words: no print method per library, no module name of one."""
    for path in sorted(OPS.glob("*.py")):
        source = path.read_text()
        for spelling in ("_numpycode", "_cupycode", "_jaxcode", "printer._module", "startswith(\"jax"):
            assert spelling not in source, f"{path.name} spells {spelling!r}"
        for name in _printed_names(path):
            assert not name.startswith(("numpy.", "jax", "cupy", "runtime.")), f"{path.name} prints {name!r}"
