"""The tutorial's plots with matplotlib: labelled points, a decision boundary, a loss curve.

Each function returns the matplotlib ``Figure`` it drew on:

* without ``ax``, a new figure that pyplot does not keep open, so that a notebook shows it once, as the cell's
  result, and a script leaves no figure behind;
* with ``ax=``, the Axes given (of a figure of your own, e.g. one of ``plt.subplots(1, 2)``), and its figure.

A figure is saved only when ``path`` is given (as PNG, or the format the suffix names). The matplotlib backend is
never changed: in a script without a display matplotlib picks a non-interactive one by itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

_COLOURS = ("tab:red", "tab:blue", "tab:green", "tab:orange")
LOG_SCALE_DECADES = 2  # a positive loss that falls (or rises) by more than this many powers of ten is drawn on a log scale


def plot_points(points: np.ndarray, labels: np.ndarray, path: str | Path | None = None, title: str = "data",
                names: Sequence[str] | None = None, *, ax: "Axes | None" = None) -> "Figure":
    """Scatter ``points`` (N x 2) coloured by ``labels`` (N integers; 0 red, 1 blue, ...).

    Example:
        >>> import numpy as np
        >>> from symslow.plotting import plot_points
        >>> figure = plot_points(np.array([[0.0, 0.0], [1.0, 1.0]]), np.array([0, 1]), names=("red", "blue"))
        >>> [text.get_text() for text in figure.axes[0].get_legend().get_texts()]
        ['red', 'blue']
    """
    fig, ax, own = _axes(ax)
    _scatter(ax, np.asarray(points), np.asarray(labels), names)
    ax.set_title(title)
    return _finish(fig, own, path)


def plot_decision_boundary(predict: Callable[[np.ndarray], np.ndarray], points: np.ndarray, labels: np.ndarray,
                           path: str | Path | None = None, title: str = "decision boundary", resolution: int = 200,
                           names: Sequence[str] | None = None, *, ax: "Axes | None" = None) -> "Figure":
    """Colour the plane by ``predict`` (rows of 2-D points -> class index) and overlay the labelled points.

    Example:
        >>> import numpy as np
        >>> from symslow.plotting import plot_decision_boundary
        >>> points, labels = np.array([[-1.0, 0.0], [1.0, 0.0]]), np.array([0, 1])
        >>> figure = plot_decision_boundary(lambda grid: (grid[:, 0] > 0).astype(int), points, labels)
        >>> figure.axes[0].get_title()
        'decision boundary'
    """
    fig, ax, own = _axes(ax)
    points, labels = np.asarray(points), np.asarray(labels)
    low, high = points.min(axis=0) - 0.5, points.max(axis=0) + 0.5
    xs, ys = np.meshgrid(np.linspace(low[0], high[0], resolution), np.linspace(low[1], high[1], resolution))
    grid = np.column_stack([xs.ravel(), ys.ravel()])
    classes = np.asarray(predict(grid)).reshape(xs.shape)
    from matplotlib.colors import ListedColormap

    count = int(max(classes.max(), labels.max())) + 1
    ax.contourf(xs, ys, classes, levels=np.arange(count + 1) - 0.5, cmap=ListedColormap(_COLOURS[:count]), alpha=0.25)
    _scatter(ax, points, labels, names)
    ax.set_title(title)
    return _finish(fig, own, path)


def plot_loss(losses: Sequence[float], path: str | Path | None = None, title: str = "loss", every: int = 1, *,
              log: bool | None = None, ax: "Axes | None" = None) -> "Figure":
    """The loss against the training step (``every``: steps between recorded values).

    ``log``: a logarithmic loss axis; by default, when the losses are positive and span more than two powers of
    ten, as a loss falling by orders of magnitude does (on a linear axis all but the first steps look flat).

    Example:
        >>> from symslow.plotting import plot_loss
        >>> plot_loss([50.0, 5.0, 0.5, 0.05]).axes[0].get_yscale()
        'log'
        >>> plot_loss([0.7, 0.5, 0.4]).axes[0].get_yscale()
        'linear'
    """
    fig, ax, own = _axes(ax)
    values = np.asarray(losses, dtype=np.float64).ravel()
    ax.plot(np.arange(len(values)) * every, values)
    if log is None:
        finite = values[np.isfinite(values)]
        log = finite.size > 0 and finite.min() > 0 and np.log10(finite.max() / finite.min()) > LOG_SCALE_DECADES
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("loss (log scale)" if log else "loss")
    ax.set_title(title)
    return _finish(fig, own, path)


def _axes(ax: "Axes | None") -> tuple["Figure", "Axes", bool]:
    """The figure and Axes to draw on, and whether the figure is a new one of ours."""
    if ax is not None:
        return ax.figure, ax, False
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 4), dpi=100)
    # pyplot lets go of it: it is shown where it is returned (once in a notebook) and is not left open in scripts
    plt.close(fig)
    return fig, ax, True


def _scatter(ax, points, labels, names=None):
    for label in np.unique(labels):
        chosen = labels == label
        name = names[int(label)] if names is not None else f"class {int(label)}"
        ax.scatter(points[chosen, 0], points[chosen, 1], s=12, color=_COLOURS[int(label) % len(_COLOURS)], label=name)
    ax.legend(loc="best", fontsize=8)


def _finish(fig: "Figure", own: bool, path: str | Path | None) -> "Figure":
    if own:
        fig.tight_layout()  # only on figures of ours: the layout of the caller's figure is the caller's
    if path is not None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path)
    return fig
