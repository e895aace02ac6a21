"""
Multi-layer perceptron
======================

The tutorial's multi-layer perceptron on XOR-like data: four clusters, red around (0, 0) and (1, 1), blue around
(0, 1) and (1, 0), which no single line separates. A hidden layer of two sigmoid units and a softmax
output layer, trained by gradient descent on the cross-entropy for 1000 steps. The loss is printed every 100 steps;
then the data, the decision boundary and the loss curve are plotted.

Run it with ``python examples/multi_layer_perceptron.py --out DIR`` to save the plots in ``DIR`` as PNG files, or
download it as a notebook below, where each plot shows under its cell.
"""

import argparse
from pathlib import Path

import numpy as np

import symslow as ts
from symslow.plotting import plot_decision_boundary, plot_loss, plot_points

parser = argparse.ArgumentParser(description="Train the tutorial's multi-layer-perceptron; plot its data, "
                                             "decision boundary and loss curve.")
parser.add_argument("--out", type=Path, help="a folder to save the plots in, as PNG files (default: not saved)")
parser.add_argument("--steps", type=int, default=1000, help="gradient descent steps")
# parse_known_args: in a notebook, the kernel's own command line is left alone (and --out is not given)
args, _ = parser.parse_known_args()


def saved(name):
    """Where to save a plot: in the --out folder, or nowhere."""
    return args.out / name if args.out else None


# %%
# The data: 25 points in each of four clusters.
rng = np.random.default_rng(1)
red_points = np.concatenate((
    0.2 * rng.standard_normal((25, 2)) + np.array([[0, 0]] * 25),
    0.2 * rng.standard_normal((25, 2)) + np.array([[1, 1]] * 25),
))
blue_points = np.concatenate((
    0.2 * rng.standard_normal((25, 2)) + np.array([[0, 1]] * 25),
    0.2 * rng.standard_normal((25, 2)) + np.array([[1, 0]] * 25),
))
points = np.concatenate((blue_points, red_points))
labels = [[1, 0]] * len(blue_points) + [[0, 1]] * len(red_points)
classes = np.argmax(labels, axis=1)

# %%
# The model: a hidden layer of two sigmoid units, then a softmax output layer.
ts.Graph().as_default()

X = ts.placeholder()
c = ts.placeholder()

W_hidden = ts.Variable(rng.standard_normal((2, 2)))
b_hidden = ts.Variable(rng.standard_normal(2))
p_hidden = ts.sigmoid(ts.add(ts.matmul(X, W_hidden), b_hidden))

W_output = ts.Variable(rng.standard_normal((2, 2)))
b_output = ts.Variable(rng.standard_normal(2))
p_output = ts.softmax(ts.add(ts.matmul(p_hidden, W_output), b_output))

J = ts.negative(ts.reduce_sum(ts.reduce_sum(ts.multiply(c, ts.log(p_output)), axis=1)))

minimization_op = ts.train.GradientDescentOptimizer(learning_rate=0.03).minimize(J)

# %%
# Training.
feed_dict = {X: points, c: labels}
session = ts.Session()
losses = []
for step in range(args.steps):
    J_value = session.run(J, feed_dict)
    losses.append(float(J_value))
    if step % 100 == 0:
        print("Step:", step, " Loss:", J_value)
    session.run(minimization_op, feed_dict)

print("Hidden layer weights:\n", session.run(W_hidden), "\n", session.run(b_hidden))
print("Output layer weights:\n", session.run(W_output), "\n", session.run(b_output))

# %%
# The data.
plot_points(points, 1 - classes, saved("data.png"), title="XOR-like clusters", names=("red", "blue"))

# %%
# The decision boundary of the trained network.
plot_decision_boundary(lambda grid: 1 - np.argmax(session.run(p_output, {X: grid}), axis=1), points, 1 - classes,
                       saved("decision_boundary.png"), title="multi-layer perceptron decision boundary",
                       names=("red", "blue"))

# %%
# The loss curve.
plot_loss(losses, saved("loss.png"), title="cross-entropy loss")
