"""
Multi-layer perceptron
======================

The tutorial's multi-layer perceptron on XOR-like data: four clusters, red around (0, 0) and (1, 1), blue around
(0, 1) and (1, 0), which no single line separates. A hidden layer of two sigmoid units and a softmax
output layer, trained by gradient descent on the cross-entropy for 1000 steps. The loss is printed every 100 steps;
the data, the decision boundary and the loss curve are saved as PNG files.

Run it with ``python examples/multi_layer_perceptron.py --out DIR``.
"""

import argparse
from pathlib import Path

import numpy as np

import symslow as ts
from symslow.plotting import plot_decision_boundary, plot_loss, plot_points

parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[1])
parser.add_argument("--out", default="example-output/multi_layer_perceptron", help="folder for the PNG files")
parser.add_argument("--steps", type=int, default=1000, help="gradient descent steps")
args, _ = parser.parse_known_args()
out = Path(args.out)

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
# The plots: the data, the decision boundary of the trained network, and the loss curve.
written = [
    plot_points(points, 1 - classes, out / "data.png", title="XOR-like clusters", names=("red", "blue")),
    plot_decision_boundary(lambda grid: 1 - np.argmax(session.run(p_output, {X: grid}), axis=1), points,
                           1 - classes, out / "decision_boundary.png", title="multi-layer perceptron decision boundary",
                           names=("red", "blue")),
    plot_loss(losses, out / "loss.png", title="cross-entropy loss"),
]
print("Wrote", ", ".join(str(path) for path in written))
