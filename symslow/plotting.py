"""The tutorial's plots with matplotlib: labelled points, a decision boundary, a loss curve.

Each function draws on a new figure, saves it as PNG and returns the path, so scripts run headless.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

import numpy as np


def _figure():
    import matplotlib

    if matplotlib.get_backend().lower() not in ("agg", "module://matplotlib_inline.backend_inline"):
        try:
            matplotlib.use("Agg")
        except Exception:
            pass
    import matplotlib.pyplot as plt

    return plt, plt.subplots(figsize=(5, 4), dpi=100)


_COLOURS = ("tab:red", "tab:blue", "tab:green", "tab:orange")


def plot_points(points: np.ndarray, labels: np.ndarray, path: str | Path, title: str = "data",
                names: Sequence[str] | None = None) -> Path:
    """Scatter ``points`` (N x 2) coloured by ``labels`` (N integers; 0 red, 1 blue, ...) and save as PNG."""
    plt, (fig, ax) = _figure()
    _scatter(ax, points, labels, names)
    ax.set_title(title)
    return _save(plt, fig, path)


def plot_decision_boundary(predict: Callable[[np.ndarray], np.ndarray], points: np.ndarray, labels: np.ndarray,
                           path: str | Path, title: str = "decision boundary", resolution: int = 200,
                           names: Sequence[str] | None = None) -> Path:
    """Colour the plane by ``predict`` (rows of 2-D points -> class index) and overlay the labelled points."""
    plt, (fig, ax) = _figure()
    low, high = points.min(axis=0) - 0.5, points.max(axis=0) + 0.5
    xs, ys = np.meshgrid(np.linspace(low[0], high[0], resolution), np.linspace(low[1], high[1], resolution))
    grid = np.column_stack([xs.ravel(), ys.ravel()])
    classes = np.asarray(predict(grid)).reshape(xs.shape)
    from matplotlib.colors import ListedColormap

    count = int(max(classes.max(), labels.max())) + 1
    ax.contourf(xs, ys, classes, levels=np.arange(count + 1) - 0.5, cmap=ListedColormap(_COLOURS[:count]), alpha=0.25)
    _scatter(ax, points, labels, names)
    ax.set_title(title)
    return _save(plt, fig, path)


def plot_loss(losses: Sequence[float], path: str | Path, title: str = "loss", every: int = 1) -> Path:
    """The loss against the training step (``every``: steps between recorded values)."""
    plt, (fig, ax) = _figure()
    ax.plot(np.arange(len(losses)) * every, losses)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title(title)
    return _save(plt, fig, path)


def _scatter(ax, points, labels, names=None):
    for label in np.unique(labels):
        chosen = labels == label
        name = names[int(label)] if names is not None else f"class {int(label)}"
        ax.scatter(points[chosen, 0], points[chosen, 1], s=12, color=_COLOURS[int(label) % len(_COLOURS)], label=name)
    ax.legend(loc="best", fontsize=8)


def _save(plt, fig, path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
