"""TensorFlow 1 programs in the style of the classic teaching programs, run with ``import symslow as tf`` only.

Each builds, trains and evaluates as a TF1 user writes it, in float32 and in float64, and its results are checked
against the same computation written here in NumPy (from the same initial values, read back from the session).
"""

import numpy as np
import pytest

import symslow as tf

DTYPES = [pytest.param(np.float32, id="float32"), pytest.param(np.float64, id="float64")]
TOLERANCE = {np.float32: 2e-4, np.float64: 1e-10}


@pytest.fixture(autouse=True)
def _fresh_graph():
    tf.reset_default_graph()


def _digits(n=120, seed=0):
    """A small stand-in for MNIST: 16-pixel images of three classes, with one-hot labels."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, n)
    prototypes = rng.uniform(0, 1, (3, 16))
    images = prototypes[labels] + 0.3 * rng.standard_normal((n, 16))
    return images, np.eye(3)[labels]


@pytest.mark.parametrize("dtype", DTYPES)
def test_linear_regression_with_gradient_descent(dtype):
    rng = np.random.default_rng(1)
    train_X = rng.uniform(0, 10, 40)
    train_Y = 0.7 * train_X + 2.0 + rng.normal(0, 0.3, 40)
    X = tf.placeholder(dtype)
    Y = tf.placeholder(dtype)
    W = tf.Variable(np.array(0.5, dtype), name="weight")
    b = tf.Variable(np.array(0.0, dtype), name="bias")
    pred = tf.add(tf.multiply(X, W), b)
    n_samples = train_X.shape[0]
    cost = tf.reduce_sum(tf.pow(pred - Y, 2)) / (2 * n_samples)
    optimizer = tf.train.GradientDescentOptimizer(0.01).minimize(cost)
    init = tf.global_variables_initializer()
    with tf.Session() as sess:
        sess.run(init)
        for epoch in range(50):
            sess.run(optimizer, feed_dict={X: train_X, Y: train_Y})
        training_cost = sess.run(cost, feed_dict={X: train_X, Y: train_Y})
        w_value, b_value = sess.run(W), sess.run(b)
    assert type(training_cost) is dtype and w_value.dtype == dtype

    x, y = train_X.astype(dtype), train_Y.astype(dtype)
    w, c = np.array(0.5, dtype), np.array(0.0, dtype)
    for _ in range(50):
        residual = w * x + c - y
        w, c = w - dtype(0.01) * np.sum(residual * x) / n_samples, c - dtype(0.01) * np.sum(residual) / n_samples
    np.testing.assert_allclose([w_value, b_value], [w, c], rtol=TOLERANCE[dtype])
    np.testing.assert_allclose(training_cost, np.sum((w * x + c - y) ** 2) / (2 * n_samples), rtol=TOLERANCE[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
def test_logistic_regression_with_softmax_and_accuracy_in_an_interactive_session(dtype):
    images, labels = _digits()
    name = np.dtype(dtype).name
    x = tf.placeholder(name, [None, 16])
    y_ = tf.placeholder(name, [None, 3])
    W = tf.Variable(tf.zeros([16, 3], dtype=name))
    b = tf.Variable(tf.zeros([3], dtype=name))
    y = tf.nn.softmax(tf.matmul(x, W) + b)
    cross_entropy = tf.reduce_mean(-tf.reduce_sum(y_ * tf.log(y), reduction_indices=[1]))
    train_step = tf.train.GradientDescentOptimizer(0.5).minimize(cross_entropy)
    correct_prediction = tf.equal(tf.argmax(y, 1), tf.argmax(y_, 1))
    accuracy = tf.reduce_mean(tf.cast(correct_prediction, name))

    sess = tf.InteractiveSession()
    tf.global_variables_initializer().run()
    for step in range(30):
        batch = slice(step * 40 % 120, step * 40 % 120 + 40)
        train_step.run(feed_dict={x: images[batch], y_: labels[batch]})
    score = accuracy.eval(feed_dict={x: images, y_: labels})
    W_value, b_value = W.eval(), b.eval()
    sess.close()

    Wn, bn = np.zeros((16, 3), dtype), np.zeros(3, dtype)
    for step in range(30):
        batch = slice(step * 40 % 120, step * 40 % 120 + 40)
        xb, yb = images[batch].astype(dtype), labels[batch].astype(dtype)
        z = xb @ Wn + bn
        p = np.exp(z - z.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        delta = (p - yb) / len(xb)  # the gradient of the mean cross-entropy in the logits
        Wn, bn = Wn - dtype(0.5) * xb.T @ delta, bn - dtype(0.5) * delta.sum(0)
    np.testing.assert_allclose(W_value, Wn, rtol=TOLERANCE[dtype], atol=TOLERANCE[dtype])
    expected = np.mean(np.argmax(images.astype(dtype) @ Wn + bn, 1) == np.argmax(labels, 1))
    assert type(score) is dtype and abs(score - expected) < 1e-6 and score > 0.8


@pytest.mark.parametrize("dtype", DTYPES)
def test_multilayer_perceptron_from_random_normal_trained_with_adam(dtype):
    images, labels = _digits(seed=2)
    name = np.dtype(dtype).name
    tf.set_random_seed(7)
    weights = {"h1": tf.Variable(tf.random_normal([16, 8], dtype=name)),
               "out": tf.Variable(tf.random_normal([8, 3], dtype=name))}
    biases = {"b1": tf.Variable(tf.random_normal([8], dtype=name)),
              "out": tf.Variable(tf.random_normal([3], dtype=name))}
    X = tf.placeholder(name, [None, 16])
    Y = tf.placeholder(name, [None, 3])
    layer_1 = tf.nn.relu(tf.add(tf.matmul(X, weights["h1"]), biases["b1"]))
    logits = tf.matmul(layer_1, weights["out"]) + biases["out"]
    loss_op = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(logits=logits, labels=Y))
    train_op = tf.train.AdamOptimizer(learning_rate=0.01).minimize(loss_op)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        start = sess.run([weights["h1"], biases["b1"], weights["out"], biases["out"]])
        for _ in range(20):
            _, loss = sess.run([train_op, loss_op], feed_dict={X: images, Y: labels})
        end = sess.run([weights["h1"], biases["b1"], weights["out"], biases["out"]])
    assert all(v.dtype == dtype for v in end) and type(loss) is dtype

    params = [p.copy() for p in start]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    x, y = images.astype(dtype), labels.astype(dtype)
    for t in range(1, 21):
        h = x @ params[0] + params[1]
        a = np.maximum(h, 0)
        z = a @ params[2] + params[3]
        p = np.exp(z - z.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        last_loss = np.mean(-np.sum(y * np.log(p), 1))
        dz = (p - y) / len(x)
        dh = (dz @ params[2].T) * (h > 0)
        grads = [x.T @ dh, dh.sum(0), a.T @ dz, dz.sum(0)]
        rate = 0.01 * np.sqrt(1 - 0.999**t) / (1 - 0.9**t)
        for k, g in enumerate(grads):
            m[k] = 0.9 * m[k] + 0.1 * g
            v[k] = 0.999 * v[k] + 0.001 * g * g
            params[k] = params[k] - rate * m[k] / (np.sqrt(v[k]) + 1e-8)
    tolerance = 5e-3 if dtype is np.float32 else 1e-9
    for got, want in zip(end, params):
        np.testing.assert_allclose(got, want, rtol=tolerance, atol=tolerance)
    np.testing.assert_allclose(loss, last_loss, rtol=tolerance)


def test_save_and_restore_a_trained_model(tmp_path):
    x = tf.placeholder(tf.float32, [None, 2])
    W = tf.Variable(tf.truncated_normal([2, 1], stddev=0.1, seed=1), name="W")
    step = tf.train.get_or_create_global_step()
    loss = tf.reduce_mean(tf.square(tf.matmul(x, W) - 1.0))
    train = tf.train.GradientDescentOptimizer(0.1).minimize(loss, global_step=step)
    saver = tf.train.Saver()
    feed = {x: np.array([[1.0, 2.0], [3.0, 1.0]])}
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for _ in range(5):
            sess.run(train, feed)
        trained = sess.run(W)
        path = saver.save(sess, str(tmp_path / "model.ckpt"), global_step=step)
    assert path.endswith("model.ckpt-5") and tf.train.latest_checkpoint(str(tmp_path)) == path
    with tf.Session() as sess:
        saver.restore(sess, tf.train.latest_checkpoint(str(tmp_path)))
        np.testing.assert_array_equal(sess.run(W), trained)
        assert sess.run(step) == 5 and sess.run(W).dtype == np.float32
