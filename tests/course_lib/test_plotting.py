"""course_lib.plotting builds figures with the Agg backend (structure, not pixels)."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import PathCollection  # noqa: E402

from course_lib import plotting  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def image_axes(fig):
    return [ax for ax in fig.axes if ax.images]


def test_moving_average_by_hand():
    np.testing.assert_allclose(plotting.moving_average([1, 2, 3, 4, 5], 2), [1.5, 2.5, 3.5, 4.5])
    np.testing.assert_allclose(plotting.moving_average([4, 0, 2], 3), [2.0])
    with pytest.raises(ValueError, match="at least window = 4 entries"):
        plotting.moving_average([1, 2, 3], 4)


def test_loss_plot_is_a_scatter_plus_a_moving_average_line():
    losses = 2.3 * np.exp(-np.linspace(0, 3, 200)) + 0.1 * np.random.default_rng(0).random(200)
    ax = plotting.plot_loss(losses, window=10)
    scatters = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert len(scatters) == 1 and len(scatters[0].get_offsets()) == 200
    (line,) = ax.get_lines()
    np.testing.assert_allclose(line.get_ydata(), plotting.moving_average(losses, 10))
    assert len(line.get_xdata()) == 191


def test_accuracy_and_history_plots():
    ax = plotting.plot_accuracy([0.5, 0.6, 0.7], [0.45, 0.55, 0.6])
    assert [len(line.get_xdata()) for line in ax.get_lines()] == [3, 3]
    history = {"loss": list(np.linspace(2, 1, 50)), "train_acc": [0.5, 0.7], "val_acc": [0.4, 0.6]}
    fig = plotting.plot_history(history, title="run")
    assert len(fig.axes) == 2
    with pytest.raises(ValueError, match="of one length"):
        plotting.plot_accuracy([0.5, 0.6], [0.5])


def test_plot_into_given_axes():
    fig, (left, right) = plt.subplots(1, 2)
    assert plotting.plot_loss([3.0, 2.0, 1.0], ax=right) is right
    assert not left.collections


@pytest.mark.parametrize("C, tiles", [(1, 6), (3, 6), (4, 24)])
def test_filter_grid_has_one_tile_per_filter_or_per_filter_channel(C, tiles):
    W = np.random.default_rng(0).standard_normal((6, C, 3, 3))
    fig = plotting.plot_filters(W)
    shown = image_axes(fig)
    assert len(shown) == tiles
    for ax in shown:
        data = ax.images[0].get_array()
        assert data.min() >= 0.0 and data.max() <= 1.0


def test_feature_maps_one_tile_per_channel_with_shared_or_own_scale():
    maps = np.stack([np.full((5, 5), 2.0), np.arange(25.0).reshape(5, 5)])
    shared = image_axes(plotting.plot_feature_maps(maps))
    assert len(shared) == 2
    assert np.all(shared[0].images[0].get_array() == 2.0 / 24.0)
    own = image_axes(plotting.plot_feature_maps(maps, normalize="each"))
    assert np.all(own[0].images[0].get_array() == 0.5)  # a constant map: mid-grey
    assert own[1].images[0].get_array().max() == 1.0


def test_image_grid_leaves_unused_cells_empty_and_checks_titles():
    fig = plotting.image_grid(np.zeros((5, 4, 4)), ncols=3)
    assert len(fig.axes) == 6 and len(image_axes(fig)) == 5
    with pytest.raises(ValueError, match="titles must have 5 entries"):
        plotting.image_grid(np.zeros((5, 4, 4)), titles=["a"])
    with pytest.raises(ValueError, match=r"images must have shape \(K, H, W\) or \(K, H, W, 3\)"):
        plotting.image_grid(np.zeros((5, 4)))


def test_confusion_matrix_counts_and_plot():
    y_true = np.array([0, 0, 1, 2, 2, 2])
    y_pred = np.array([0, 1, 1, 2, 0, 2])
    expected = np.array([[1, 1, 0], [0, 1, 0], [1, 0, 2]])
    np.testing.assert_array_equal(plotting.confusion_matrix(y_true, y_pred, 3), expected)
    ax = plotting.plot_confusion_matrix(y_true, y_pred, ["a", "b", "c"], normalize=False)
    assert [t.get_text() for t in ax.texts] == [str(v) for v in expected.ravel()]
    np.testing.assert_array_equal(ax.images[0].get_array(), expected)
    with pytest.raises(ValueError, match=r"labels in \[0, 3\)"):
        plotting.confusion_matrix(y_true, y_pred + 1, 3)
