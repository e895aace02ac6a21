"""
Convolutional network
=====================

A small convolutional network, written as TensorFlow 1's "deep MNIST" tutorial writes one (``tf.nn.conv2d``,
``tf.nn.max_pool``, ``tf.nn.dropout`` with a ``keep_prob`` placeholder, Variables drawn by ``tf.truncated_normal``),
learns to tell three kinds of 12 x 12 pictures apart: a horizontal stroke, a vertical stroke and a diagonal one, each
at a random place, on noise. The data is generated here, so the example needs no download.

Each layer is made in a name scope (``conv1``, ``pool1``, ...), as the tutorial does, so its diagram draws one box per
layer. It trains with Adam for 300 steps on batches of 32, prints the loss every 50 steps and the accuracy on 300
pictures it never saw (above 95 %), then shows the loss curve and the eight 3 x 3 filters it learned.

Run it with ``python examples/convolutional_network.py --out DIR`` to save the diagram in ``DIR`` as an SVG file and
the plots as PNG files.
"""

import argparse
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import symslow as tf
from symslow.plotting import plot_loss
from symslow.viz import draw, save

parser = argparse.ArgumentParser(description="Train a small convolutional network on generated strokes; draw its "
                                             "graph, plot its loss curve and its filters.")
parser.add_argument("--out", type=Path, help="a folder to save the diagram and the plots in (default: not saved)")
parser.add_argument("--steps", type=int, default=300, help="Adam steps")
args, _ = parser.parse_known_args()


def saved(name):
    """Where to save a plot: in the --out folder, or nowhere."""
    return args.out / name if args.out else None


# %%
# The data: strokes four pixels long, horizontal (class 0), vertical (1) or diagonal (2), on noise.
SIZE = 12
rng = np.random.default_rng(0)


def pictures(count):
    images = rng.uniform(0.0, 0.3, size=(count, SIZE, SIZE, 1)).astype(np.float32)
    classes = rng.integers(0, 3, size=count)
    for image, kind in zip(images, classes):
        row, column = rng.integers(1, SIZE - 4, size=2)
        for k in range(4):
            r, c = [(row, column + k), (row + k, column), (row + k, column + k)][kind]
            image[r, c, 0] = 1.0
    return images, np.eye(3, dtype=np.float32)[classes]


train_images, train_labels = pictures(600)
test_images, test_labels = pictures(300)

# %%
# The model: a convolution of eight 3 x 3 filters with ReLU, 2 x 2 max pooling, dropout, and a softmax layer, each
# in its name scope.
tf.reset_default_graph()
tf.set_random_seed(1)


def weight_variable(shape):
    return tf.Variable(tf.truncated_normal(shape, stddev=0.1))


def bias_variable(shape):
    return tf.Variable(tf.constant(0.1, shape=shape))


x = tf.placeholder(tf.float32, [None, SIZE, SIZE, 1], name="x")
y_ = tf.placeholder(tf.float32, [None, 3], name="y_")
keep_prob = tf.placeholder(tf.float32, shape=[], name="keep_prob")

with tf.name_scope("conv1"):
    W_conv = weight_variable([3, 3, 1, 8])
    b_conv = bias_variable([8])
    h_conv = tf.nn.relu(tf.nn.conv2d(x, W_conv, strides=[1, 1, 1, 1], padding="SAME") + b_conv)
with tf.name_scope("pool1"):
    h_pool = tf.nn.max_pool(h_conv, ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding="SAME")
with tf.name_scope("dropout"):
    h_flat = tf.reshape(h_pool, [-1, 6 * 6 * 8])
    h_drop = tf.nn.dropout(h_flat, keep_prob)
with tf.name_scope("fc"):
    W_fc = weight_variable([6 * 6 * 8, 3])
    b_fc = bias_variable([3])
    y_conv = tf.matmul(h_drop, W_fc) + b_fc
with tf.name_scope("loss"):
    cross_entropy = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits_v2(labels=y_, logits=y_conv))

train_step = tf.train.AdamOptimizer(0.01).minimize(cross_entropy)
correct = tf.equal(tf.argmax(y_conv, 1), tf.argmax(y_, 1))
accuracy = tf.reduce_mean(tf.cast(correct, tf.float32))

# %%
# The graph of the loss, one box per name scope: its ops and its Variables' shapes inside, the shapes of the
# tensors on the edges between the layers (``?`` for the batch size). ``draw(cross_entropy, collapse=False)`` opens
# every box, ``expand=["conv1"]`` one of them.
diagram = draw(cross_entropy, loss=cross_entropy, rankdir="TB", title="the convolutional network, layer by layer")
if args.out:
    args.out.mkdir(parents=True, exist_ok=True)
    save(diagram, saved("graph.svg"))
diagram

# %%
# Training, with half of the pooled features dropped at each step.
sess = tf.Session()
sess.run(tf.global_variables_initializer())
losses = []
for step in range(args.steps):
    batch = rng.integers(0, len(train_images), size=32)
    feed = {x: train_images[batch], y_: train_labels[batch], keep_prob: 0.5}
    loss, _ = sess.run([cross_entropy, train_step], feed)
    losses.append(float(loss))
    if step % 50 == 0:
        print("Step:", step, " Loss:", loss)

test_accuracy = sess.run(accuracy, {x: test_images, y_: test_labels, keep_prob: 1.0})
print("Test accuracy:", test_accuracy)

# %%
# The loss curve (noisy: each step sees another batch, and another dropout mask).
plot_loss(losses, saved("loss.png"), title="cross-entropy during training")

# %%
# The eight filters it learned, each a 3 x 3 picture (dark: negative weight, light: positive).
filters = sess.run(W_conv)
figure, axes = plt.subplots(1, 8, figsize=(8, 1.4))
for k, ax in enumerate(axes):
    ax.imshow(filters[:, :, 0, k], cmap="gray")
    ax.set_axis_off()
figure.suptitle("learned 3 x 3 filters")
if args.out:
    args.out.mkdir(parents=True, exist_ok=True)
    figure.savefig(saved("filters.png"))
