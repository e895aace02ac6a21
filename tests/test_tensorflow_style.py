"""The same models written as a TensorFlow 1 user writes them run unchanged with ``import symslow as tf``."""

import numpy as np

import symslow as tf
from reference import blobs, mlp_step, xor_clusters


def test_tensorflow_1_mlp_program():
    rng = np.random.default_rng(21)
    X_data, c_data = xor_clusters(rng)
    W1_0, b1_0, W2_0, b2_0 = (rng.standard_normal((2, 2)), rng.standard_normal(2),
                              rng.standard_normal((2, 2)), rng.standard_normal(2))

    tf.reset_default_graph()
    X = tf.placeholder(tf.float64, shape=(None, 2), name="X")
    y = tf.placeholder(tf.float64, shape=(None, 2), name="y")
    with tf.name_scope("hidden"):
        W1 = tf.Variable(W1_0, name="W")
        b1 = tf.Variable(b1_0, name="b")
        hidden = tf.nn.sigmoid(tf.matmul(X, W1) + b1)
    with tf.name_scope("output"):
        W2 = tf.Variable(W2_0, name="W")
        b2 = tf.Variable(b2_0, name="b")
        logits = tf.matmul(hidden, W2) + b2
    loss = tf.reduce_sum(tf.nn.softmax_cross_entropy_with_logits(labels=y, logits=logits))
    train_op = tf.train.GradientDescentOptimizer(0.03).minimize(loss)
    init = tf.global_variables_initializer()

    with tf.Session() as sess:
        sess.run(init)
        for step in range(200):
            _, loss_value = sess.run([train_op, loss], feed_dict={X: X_data, y: c_data})
        final = sess.run([W1, b1, W2, b2])

    reference = [W1_0, b1_0, W2_0, b2_0]
    for _ in range(200):
        reference = mlp_step(X_data, c_data, *reference, 0.03)
    for value, expected in zip(final, reference):
        np.testing.assert_allclose(value, expected, rtol=0, atol=1e-10)
    assert W1.name == "hidden/W" and W2.name == "output/W"


def test_tensorflow_1_fetch_train_op_with_the_loss_reads_the_values_before_the_step():
    rng = np.random.default_rng(3)
    X_data, c_data = blobs(rng, n=5)
    tf.reset_default_graph()
    X = tf.placeholder(tf.float64, shape=(None, 2))
    y = tf.placeholder(tf.float64, shape=(None, 2))
    W = tf.Variable(np.zeros((2, 2)))
    loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=y, logits=tf.matmul(X, W)))
    train_op = tf.train.AdamOptimizer(0.1).minimize(loss)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        _, first = sess.run([train_op, loss], {X: X_data, y: c_data})
        later = sess.run(loss, {X: X_data, y: c_data})
    assert abs(first - np.log(2)) < 1e-15  # W = 0: every class has probability 1/2
    assert later < first
