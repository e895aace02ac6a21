"""The plotting helpers: they return the figure, draw on a given Axes, save only when given a path, leave pyplot and
its backend as they were, and put a loss that falls by orders of magnitude on a log scale."""

import os
import subprocess
import sys

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from symslow.plotting import plot_decision_boundary, plot_loss, plot_points  # noqa: E402

POINTS = np.array([[-1.0, -1.0], [-0.5, -1.5], [1.0, 1.0], [1.5, 0.5]])
LABELS = np.array([0, 0, 1, 1])


def right_of_zero(grid):
    return (grid[:, 0] > 0).astype(int)


CALLS = {
    "points": lambda **kw: plot_points(POINTS, LABELS, **kw),
    "boundary": lambda **kw: plot_decision_boundary(right_of_zero, POINTS, LABELS, resolution=50, **kw),
    "loss": lambda **kw: plot_loss([3.0, 2.0, 1.5], **kw),
}


@pytest.mark.parametrize("kind", CALLS)
def test_returns_a_figure_saves_nothing_and_leaves_pyplot_alone(kind, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    open_before = plt.get_fignums()
    figure = CALLS[kind]()
    assert isinstance(figure, Figure) and len(figure.axes) >= 1
    assert plt.get_fignums() == open_before  # not left open: a notebook shows it once, as the cell's result
    assert list(tmp_path.iterdir()) == []  # no path, no file
    png = figure.canvas.print_figure  # the figure still draws after pyplot let go of it
    target = tmp_path / "again.png"
    png(target, format="png")
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("kind", CALLS)
def test_saves_when_given_a_path(kind, tmp_path):
    path = tmp_path / "sub" / f"{kind}.png"
    figure = CALLS[kind](path=path)
    assert isinstance(figure, Figure)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 2000
    svg = CALLS[kind](path=tmp_path / f"{kind}.svg")  # the suffix names the format
    assert isinstance(svg, Figure) and "<svg" in (tmp_path / f"{kind}.svg").read_text()


def test_draws_on_the_axes_it_is_given():
    figure, (left, right) = plt.subplots(1, 2)
    try:
        assert plot_points(POINTS, LABELS, ax=left) is figure
        assert plot_loss([3.0, 2.0, 1.0], ax=right, every=10) is figure
        np.testing.assert_array_equal(np.concatenate([c.get_offsets() for c in left.collections]),
                                      np.concatenate([POINTS[LABELS == 0], POINTS[LABELS == 1]]))
        (line,) = right.get_lines()
        np.testing.assert_array_equal(line.get_xdata(), [0, 10, 20])
        np.testing.assert_array_equal(line.get_ydata(), [3.0, 2.0, 1.0])
        assert plt.fignum_exists(figure.number)  # the caller's figure stays theirs, open
    finally:
        plt.close(figure)


def test_decision_boundary_colours_the_plane_by_the_prediction():
    figure = plot_decision_boundary(right_of_zero, POINTS, LABELS, resolution=50)
    (axes,) = figure.axes
    filled = [c for c in axes.collections if hasattr(c, "levels")]
    assert filled and list(filled[0].levels) == [-0.5, 0.5, 1.5]  # one band per class
    assert axes.get_xlim()[0] <= POINTS[:, 0].min() - 0.5 + 1e-9


def test_a_loss_falling_by_orders_of_magnitude_is_drawn_on_a_log_scale():
    falling = 10.0 ** -np.linspace(0, 4, 50)  # four decades
    assert plot_loss(falling).axes[0].get_yscale() == "log"
    assert plot_loss(falling, log=False).axes[0].get_yscale() == "linear"
    assert plot_loss([2.0, 1.0, 0.5, 0.1]).axes[0].get_yscale() == "linear"  # 1.3 decades
    assert plot_loss([1.0, 0.0]).axes[0].get_yscale() == "linear"  # zero: no log axis
    assert plot_loss([-1.0, -100.0, -1000.0]).axes[0].get_yscale() == "linear"
    assert plot_loss([1.0, 0.5], log=True).axes[0].get_yscale() == "log"
    assert plot_loss([100.0, float("nan"), 0.01]).axes[0].get_yscale() == "log"  # NaN ignored when choosing


def test_the_backend_is_never_switched(tmp_path):
    # svg is a non-interactive backend other than Agg: the helpers used to switch such backends to Agg
    code = ("import matplotlib\n"
            "from symslow.plotting import plot_loss, plot_points\n"
            "import numpy as np\n"
            "plot_loss([1.0, 0.5])\n"
            f"plot_points(np.zeros((2, 2)), np.array([0, 1]), path={str(tmp_path / 'p.png')!r})\n"
            "print(matplotlib.get_backend())\n")
    env = {**os.environ, "MPLBACKEND": "svg"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "svg"
    assert (tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG"
