"""Hand-written NumPy references for the tutorial's models: forward pass and manual backward pass."""

import numpy as np


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def perceptron_step(X, c, W, b, learning_rate):
    """One gradient step on J = -Σ c log softmax(X W + b); dJ/dz = p - c because each row of c sums to 1."""
    p = softmax(X @ W + b)
    dz = p - c
    return W - learning_rate * (X.T @ dz), b - learning_rate * dz.sum(axis=0)


def mlp_step(X, c, W1, b1, W2, b2, learning_rate):
    """One gradient step of the tutorial's 2-layer perceptron (sigmoid hidden layer, softmax output)."""
    h = 1 / (1 + np.exp(-(X @ W1 + b1)))
    p = softmax(h @ W2 + b2)
    dz2 = p - c
    dh = dz2 @ W2.T
    dz1 = dh * h * (1 - h)
    return (
        W1 - learning_rate * (X.T @ dz1),
        b1 - learning_rate * dz1.sum(axis=0),
        W2 - learning_rate * (h.T @ dz2),
        b2 - learning_rate * dz2.sum(axis=0),
    )


def mlp_loss(X, c, W1, b1, W2, b2):
    h = 1 / (1 + np.exp(-(X @ W1 + b1)))
    return -np.sum(c * np.log(softmax(h @ W2 + b2)))


def blobs(rng, n=50):
    """The tutorial's red and blue Gaussian blobs around (-2, -2) and (2, 2), and one-hot labels."""
    red = rng.standard_normal((n, 2)) - 2
    blue = rng.standard_normal((n, 2)) + 2
    X = np.concatenate((blue, red))
    c = np.array([[1, 0]] * n + [[0, 1]] * n, dtype=float)
    return X, c


def xor_clusters(rng, n=25):
    """Four clusters: red around (-2, -2) and (2, 2), blue around (-2, 2) and (2, -2)."""
    red = np.concatenate((rng.standard_normal((n, 2)) * 0.4 + [-2, -2], rng.standard_normal((n, 2)) * 0.4 + [2, 2]))
    blue = np.concatenate((rng.standard_normal((n, 2)) * 0.4 + [-2, 2], rng.standard_normal((n, 2)) * 0.4 + [2, -2]))
    X = np.concatenate((blue, red))
    c = np.array([[1, 0]] * len(blue) + [[0, 1]] * len(red), dtype=float)
    return X, c
