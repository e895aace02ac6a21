"""The ``symslow`` command (also ``python -m symslow``).

``symslow demo --out DIR`` trains the tutorial's multi-layer perceptron and writes its plots and diagrams.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

import numpy as np

DESCRIPTION = (
    "symslow: deep learning from scratch with TensorFlow-1-style graphs whose nodes are SymPy formulas. "
    "Run 'symslow demo --out DIR' to train the tutorial's multi-layer perceptron and draw its graph, its gradient "
    "graph and every step of backpropagation."
)


def tutorial_data(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The tutorial's XOR-like data: 25 points around each of (0, 0) and (1, 1) (red, class 1) and (0, 1) and
    (1, 0) (blue, class 0), spread 0.2. Returns the points (100 x 2) and one-hot labels (100 x 2, blue first).

    Example:
        >>> points, labels = tutorial_data()
        >>> points.shape, labels.shape, labels.sum(axis=0).tolist()
        ((100, 2), (100, 2), [50.0, 50.0])
    """
    rng = np.random.default_rng(seed)
    blue = np.concatenate([0.2 * rng.standard_normal((25, 2)) + centre for centre in ([0, 1], [1, 0])])
    red = np.concatenate([0.2 * rng.standard_normal((25, 2)) + centre for centre in ([0, 0], [1, 1])])
    points = np.concatenate([blue, red])
    labels = np.array([[1.0, 0.0]] * len(blue) + [[0.0, 1.0]] * len(red))
    return points, labels


def build_mlp(seed: int = 0) -> dict:
    """The tutorial's multi-layer perceptron in a new graph: 2 inputs, 2 sigmoid hidden units, 2 softmax outputs.

    Returns its nodes by name: ``X``, ``c``, ``W_hidden``, ``b_hidden``, ``p_hidden``, ``W_output``, ``b_output``,
    ``p_output``, ``J`` (the cross-entropy, written as the tutorial writes it) and ``graph``.
    """
    import symslow as ts

    rng = np.random.default_rng(seed + 1)
    graph = ts.Graph()
    with graph.as_default():
        X = ts.placeholder(name="X")
        c = ts.placeholder(name="c")
        W_hidden = ts.Variable(rng.standard_normal((2, 2)), name="W_hidden")
        b_hidden = ts.Variable(rng.standard_normal(2), name="b_hidden")
        p_hidden = ts.sigmoid(ts.add(ts.matmul(X, W_hidden), b_hidden), name="p_hidden")
        W_output = ts.Variable(rng.standard_normal((2, 2)), name="W_output")
        b_output = ts.Variable(rng.standard_normal(2), name="b_output")
        p_output = ts.softmax(ts.add(ts.matmul(p_hidden, W_output), b_output), name="p_output")
        J = ts.negative(ts.reduce_sum(ts.reduce_sum(ts.multiply(c, ts.log(p_output)), axis=1)), name="J")
    return dict(graph=graph, X=X, c=c, W_hidden=W_hidden, b_hidden=b_hidden, p_hidden=p_hidden, W_output=W_output,
                b_output=b_output, p_output=p_output, J=J)


def demo(out: Path, steps: int = 1000, learning_rate: float = 0.03, seed: int = 1) -> list[tuple[Path, str]]:
    """Train the tutorial's MLP and write its plots and diagrams into ``out``; returns ``(path, description)``."""
    import symslow as ts
    from symslow import plotting, viz

    out.mkdir(parents=True, exist_ok=True)
    points, labels = tutorial_data(seed)
    classes = np.argmax(labels, axis=1)
    m = build_mlp(seed)
    with m["graph"].as_default():
        train = ts.train.GradientDescentOptimizer(learning_rate=learning_rate).minimize(m["J"])
    session = ts.Session(graph=m["graph"])
    feed = {m["X"]: points, m["c"]: labels}
    losses = []
    for step in range(steps):
        loss, _ = session.run([m["J"], train], feed)
        losses.append(float(loss))
        if step % 100 == 0:
            print(f"step {step:4d}  loss {float(loss):.4f}")
    final = float(session.run(m["J"], feed))
    predicted = np.argmax(session.run(m["p_output"], {m["X"]: points}), axis=1)
    print(f"after {steps} steps: loss {final:.4f}, training accuracy {np.mean(predicted == classes):.0%}")

    written = []

    def wrote(path, what):
        written.append((Path(path), what))

    # colour index 0 is red: the tutorial's red points are class 1 of the one-hot labels
    colours = 1 - classes
    plotting.plot_points(points, colours, out / "data.png", title="XOR-like clusters", names=("red", "blue"))
    wrote(out / "data.png", "the data")
    plotting.plot_decision_boundary(
        lambda grid: 1 - np.argmax(session.run(m["p_output"], {m["X"]: grid}), axis=1), points, colours,
        out / "decision_boundary.png", title="decision boundary after training", names=("red", "blue"))
    wrote(out / "decision_boundary.png", "the decision boundary")
    plotting.plot_loss(losses, out / "loss.png", title="cross-entropy loss")
    wrote(out / "loss.png", "the loss curve")

    # the diagrams show values for four points, one from each cluster, so that every array fits in a node
    sample = [0, 25, 50, 75]
    small_feed = {m["X"]: points[sample], m["c"]: labels[sample]}
    note = "values for 4 points, one per cluster, after training"
    forward = viz.draw(m["J"], small_feed, session, loss=m["J"], title=f"The tutorial's MLP ({note})")
    wrote(viz.save(forward, out / "forward_graph.svg"), "the forward graph")
    gradient = viz.draw_gradients(m["J"], feed_dict=small_feed, session=session,
                                  title=f"The MLP and its gradient graph ({note})")
    wrote(viz.save(gradient, out / "gradient_graph.svg"), "the gradient graph")
    steps_ = viz.backprop_steps(m["J"], small_feed, session)
    for path in viz.save_steps(steps_, out / "backprop"):
        if path.suffix == ".svg":
            wrote(path, "a step of backpropagation")
        elif path.suffix == ".html":
            wrote(path, f"a page stepping through all {len(steps_)} steps of backpropagation")
        else:
            wrote(path, "the same steps as an animated GIF")
    return written


def _unwritable(out: Path) -> str | None:
    """Why files cannot be written into the folder ``out`` (made if missing), or None if they can."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        return "it is a file, not a folder"
    except OSError as error:
        return error.strerror or str(error)
    if not out.is_dir():
        return "it is not a folder"
    probe = out / ".symslow-write-test"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as error:
        return error.strerror or str(error)
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``symslow`` command."""
    from . import __version__

    parser = argparse.ArgumentParser(prog="symslow", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"symslow {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo_parser = commands.add_parser(
        "demo", help="train the tutorial's MLP and write its plots and diagrams",
        description="Train the tutorial's multi-layer perceptron (XOR-like clusters, 2 sigmoid hidden units, "
                    "softmax output, cross-entropy, gradient descent) and write into DIR the data and "
                    "decision-boundary plots, the loss curve, the forward graph, the gradient graph and every "
                    "step of backpropagation (SVG files, an HTML page to step through them and an animated GIF). "
                    "Drawing needs Graphviz.")
    demo_parser.add_argument("--out", default="demo-output", metavar="DIR", help="output folder (default: %(default)s)")
    demo_parser.add_argument("--steps", type=int, default=1000, help="gradient descent steps (default: %(default)s)")
    demo_parser.add_argument("--learning-rate", type=float, default=0.03, help="default: %(default)s")
    demo_parser.add_argument("--seed", type=int, default=1, help="seed of the data and the initial weights (default: %(default)s; a network this small lands in a poor local minimum from some starts, e.g. seed 0)")
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    if args.command == "demo":
        from .viz import GraphvizNotFoundError

        if args.steps < 0:
            parser.error("--steps must be 0 or more")
        problem = _unwritable(Path(args.out))
        if problem:
            print(f"symslow demo: cannot write into --out {args.out!r}: {problem}", file=sys.stderr)
            return 1
        try:
            written = demo(Path(args.out), args.steps, args.learning_rate, args.seed)
        except GraphvizNotFoundError as error:
            print(f"symslow demo: {error}", file=sys.stderr)
            return 1
        except OSError as error:  # the disk filled, or the folder was taken away while writing
            print(f"symslow demo: could not write the demo's files into {args.out!r}: {error}", file=sys.stderr)
            return 1
        print(f"Wrote {len(written)} files into {args.out}:")
        for path, what in written:
            print(f"  {path}  ({what})")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
