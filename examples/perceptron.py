"""
Perceptron
==========

The tutorial's perceptron: two Gaussian blobs of points, red around (-2, -2) and blue around (2, 2), and a
softmax perceptron ``p = softmax(X W + b)`` trained by gradient descent on the cross-entropy loss
``J = -Σ c log p``. The loss is printed every 10 steps; then the data, the decision boundary and the loss curve
are plotted.

Run it with ``python examples/perceptron.py --out DIR`` to save the plots in ``DIR`` as PNG files, or download it
as a notebook below, where each plot shows under its cell.
"""

import argparse
from pathlib import Path

import numpy as np

import symslow as ts
from symslow.plotting import plot_decision_boundary, plot_loss, plot_points

parser = argparse.ArgumentParser(description="Train the tutorial's perceptron; plot its data, "
                                             "decision boundary and loss curve.")
parser.add_argument("--out", type=Path, help="a folder to save the plots in, as PNG files (default: not saved)")
parser.add_argument("--steps", type=int, default=100, help="gradient descent steps")
# parse_known_args: in a notebook, the kernel's own command line is left alone (and --out is not given)
args, _ = parser.parse_known_args()


def saved(name):
    """Where to save a plot: in the --out folder, or nowhere."""
    return args.out / name if args.out else None


# %%
# The data: 50 red points around (-2, -2), 50 blue points around (2, 2), with one-hot labels.
rng = np.random.default_rng(0)
red_points = rng.standard_normal((50, 2)) - 2 * np.ones((50, 2))
blue_points = rng.standard_normal((50, 2)) + 2 * np.ones((50, 2))
points = np.concatenate((blue_points, red_points))
labels = [[1, 0]] * len(blue_points) + [[0, 1]] * len(red_points)
classes = np.argmax(labels, axis=1)  # 0 for blue, 1 for red

# %%
# The model, written as in the tutorial.
ts.Graph().as_default()

X = ts.placeholder()
c = ts.placeholder()

W = ts.Variable(rng.standard_normal((2, 2)))
b = ts.Variable(rng.standard_normal(2))

p = ts.softmax(ts.add(ts.matmul(X, W), b))
J = ts.negative(ts.reduce_sum(ts.reduce_sum(ts.multiply(c, ts.log(p)), axis=1)))

minimization_op = ts.train.GradientDescentOptimizer(learning_rate=0.01).minimize(J)

# %%
# Training: every step computes the gradients from this step's feed and updates W and b.
feed_dict = {X: points, c: labels}
session = ts.Session()
losses = []
for step in range(args.steps):
    J_value = session.run(J, feed_dict)
    losses.append(float(J_value))
    if step % 10 == 0:
        print("Step:", step, " Loss:", J_value)
    session.run(minimization_op, feed_dict)

W_value = session.run(W)
print("Weight matrix:\n", W_value)
b_value = session.run(b)
print("Bias:\n", b_value)

# %%
# The data.
plot_points(points, 1 - classes, saved("data.png"), title="red and blue points", names=("red", "blue"))

# %%
# The decision boundary the perceptron learned.
plot_decision_boundary(lambda grid: 1 - np.argmax(session.run(p, {X: grid}), axis=1), points, 1 - classes,
                       saved("decision_boundary.png"), title="perceptron decision boundary", names=("red", "blue"))

# %%
# The loss curve.
plot_loss(losses, saved("loss.png"), title="cross-entropy loss")
