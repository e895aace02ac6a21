"""
Perceptron
==========

The tutorial's perceptron: two Gaussian blobs of points, red around (-2, -2) and blue around (2, 2), and a
softmax perceptron ``p = softmax(X W + b)`` trained by gradient descent on the cross-entropy loss
``J = -Σ c log p``. The loss is printed every 10 steps; the data, the decision boundary and the loss curve are
saved as PNG files.

Run it with ``python examples/perceptron.py --out DIR``.
"""

import argparse
from pathlib import Path

import numpy as np

import symslow as ts
from symslow.plotting import plot_decision_boundary, plot_loss, plot_points

parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[1])
parser.add_argument("--out", default="example-output/perceptron", help="folder for the PNG files")
parser.add_argument("--steps", type=int, default=100, help="gradient descent steps")
args, _ = parser.parse_known_args()
out = Path(args.out)

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
# The plots: the data, the decision boundary the perceptron learned, and the loss curve.
written = [
    plot_points(points, 1 - classes, out / "data.png", title="red and blue points", names=("red", "blue")),
    plot_decision_boundary(lambda grid: 1 - np.argmax(session.run(p, {X: grid}), axis=1), points, 1 - classes,
                           out / "decision_boundary.png", title="perceptron decision boundary",
                           names=("red", "blue")),
    plot_loss(losses, out / "loss.png", title="cross-entropy loss"),
]
print("Wrote", ", ".join(str(path) for path in written))
