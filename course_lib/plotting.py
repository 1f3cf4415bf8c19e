"""Plots for training runs and for what a network has learned. Every function returns the
matplotlib Axes or Figure it drew on and never calls plt.show()."""
import math

import matplotlib.pyplot as plt
import numpy as np

from course_lib._arguments import require_array, require_labels, require_ndim, require_positive_int


def _new_axes(ax, figsize=(6, 4)):
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def moving_average(values, window):
    """Mean of each run of `window` consecutive values: shape (len(values) - window + 1,)."""
    values = np.asarray(values, dtype=np.float64)
    window = require_positive_int("window", window)
    if values.ndim != 1 or values.size < window:
        raise ValueError(f"values must be 1-D with at least window = {window} entries, got shape {values.shape}")
    cumulative = np.concatenate([[0.0], np.cumsum(values)])
    return (cumulative[window:] - cumulative[:-window]) / window


def plot_loss(loss_history, window=None, ax=None, title="Training loss"):
    """Loss per iteration as a scatter of points plus its moving average (a line).

    loss_history: sequence of floats, one per iteration. window: moving-average length
    (default: about 2% of the iterations, at least 1). Returns the Axes.
    """
    losses = np.asarray(loss_history, dtype=np.float64)
    if losses.ndim != 1 or losses.size == 0:
        raise ValueError(f"loss_history must be a non-empty 1-D sequence, got shape {losses.shape}")
    window = max(1, losses.size // 50) if window is None else min(window, losses.size)
    ax = _new_axes(ax)
    iterations = np.arange(losses.size)
    ax.scatter(iterations, losses, s=4, alpha=0.3, label="minibatch loss")
    # Each average is plotted at the centre of its window so it lines up with the points.
    ax.plot(iterations[window // 2: window // 2 + losses.size - window + 1],
            moving_average(losses, window), color="C1", label=f"moving average ({window})")
    ax.set_xlabel("iteration")
    ax.set_ylabel("loss")
    ax.set_title(title)
    ax.legend()
    return ax


def plot_accuracy(train_acc_history, val_acc_history, ax=None, title="Accuracy"):
    """Training and validation accuracy per epoch (two lines with markers). Returns the Axes."""
    train = np.asarray(train_acc_history, dtype=np.float64)
    val = np.asarray(val_acc_history, dtype=np.float64)
    if train.shape != val.shape or train.ndim != 1:
        raise ValueError(
            f"train_acc_history and val_acc_history must be 1-D of one length, "
            f"got shapes {train.shape} and {val.shape}"
        )
    ax = _new_axes(ax)
    epochs = np.arange(1, train.size + 1)
    ax.plot(epochs, train, "o-", label="train")
    ax.plot(epochs, val, "s-", label="validation")
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy")
    ax.set_title(title)
    ax.legend()
    return ax


def plot_history(history, title=None):
    """Loss (left) and accuracy (right) from a Trainer's `history` dict. Returns the Figure."""
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 4))
    plot_loss(history["loss"], ax=ax_loss)
    plot_accuracy(history["train_acc"], history["val_acc"], ax=ax_acc)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def _scale_each(images):
    """Min-max scale each image of (K, ...) to [0, 1]; constant images become 0.5."""
    flat = images.reshape(images.shape[0], -1)
    low = flat.min(axis=1)
    span = flat.max(axis=1) - low
    scaled = np.where(span[:, None] > 0, (flat - low[:, None]) / np.where(span > 0, span, 1)[:, None], 0.5)
    return scaled.reshape(images.shape)


def image_grid(images, ncols=None, titles=None, normalize="each", cmap="gray", tile_size=1.2,
               suptitle=None):
    """Show images in a grid of small axes without ticks. Returns the Figure.

    images: shape (K, H, W) for single-channel maps or (K, H, W, 3) for RGB.
    ncols: columns (default about sqrt(K)). titles: K strings or None.
    normalize: 'each' scales every image to its own min..max, 'all' uses one min..max for
    the whole set (so brightness compares across tiles), None shows values as they are.
    """
    require_array("images", images)
    if images.ndim not in (3, 4) or (images.ndim == 4 and images.shape[3] != 3):
        raise ValueError(f"images must have shape (K, H, W) or (K, H, W, 3), got shape {images.shape}")
    if normalize not in ("each", "all", None):
        raise ValueError(f"normalize must be 'each', 'all' or None, got {normalize!r}")
    K = images.shape[0]
    if K == 0:
        raise ValueError("images must hold at least one image, got shape (0, ...)")
    if titles is not None and len(titles) != K:
        raise ValueError(f"titles must have {K} entries (one per image), got {len(titles)}")
    images = images.astype(np.float64)
    if normalize == "each":
        images = _scale_each(images)
    elif normalize == "all":
        images = _scale_each(images[None])[0]
    ncols = math.ceil(math.sqrt(K)) if ncols is None else require_positive_int("ncols", ncols)
    nrows = -(-K // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(tile_size * ncols, tile_size * nrows), squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.axis("off")
        if k >= K:
            continue
        vmin_vmax = {"vmin": 0.0, "vmax": 1.0} if normalize else {}
        ax.imshow(images[k], cmap=None if images.ndim == 4 else cmap, interpolation="nearest", **vmin_vmax)
        if titles is not None:
            ax.set_title(str(titles[k]), fontsize=8)
    if suptitle:
        fig.suptitle(suptitle)
    return fig


def plot_filters(W, ncols=None, title="Filters"):
    """Conv weights W, shape (F, C, HH, WW), each filter scaled to its own min..max.

    C = 3: one RGB tile per filter. C = 1: one grey tile per filter. Any other C: one row
    per filter and one column per input channel (F * C tiles). Returns the Figure.
    """
    require_ndim("W", W, ("F", "C", "HH", "WW"))
    F, C = W.shape[:2]
    if C == 3:
        return image_grid(_scale_each(W).transpose(0, 2, 3, 1), ncols, normalize=None, suptitle=title)
    if C == 1:
        return image_grid(W[:, 0], ncols, normalize="each", suptitle=title)
    # Scaling per filter (not per tile) keeps the channels of one filter comparable.
    tiles = _scale_each(W).reshape(F * C, *W.shape[2:])
    return image_grid(tiles, ncols=C, normalize=None, suptitle=title)


def plot_feature_maps(maps, ncols=None, normalize="all", title="Feature maps"):
    """Activation maps of one image, shape (C, H, W), one tile per channel.

    normalize: 'all' (default) shares one scale so weak and strong maps can be compared;
    'each' stretches every map to show its pattern. Returns the Figure.
    """
    require_ndim("maps", maps, ("C", "H", "W"))
    titles = [str(c) for c in range(maps.shape[0])]
    return image_grid(maps, ncols, titles=titles, normalize=normalize, cmap="viridis", suptitle=title)


def confusion_matrix(y_true, y_pred, num_classes):
    """Counts, shape (num_classes, num_classes): entry [i, j] = samples of class i predicted as j."""
    require_ndim("y_true", y_true, ("N",))
    require_labels("y_true", y_true, y_true.shape[0], num_classes)
    require_labels("y_pred", y_pred, y_true.shape[0], num_classes)
    counts = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(counts, (y_true, y_pred), 1)
    return counts


def plot_confusion_matrix(y_true, y_pred, class_names, ax=None, normalize=True, title="Confusion matrix"):
    """Confusion matrix of labels y_true and predictions y_pred, both shape (N,).

    class_names: one name per class (its length fixes the number of classes).
    normalize: show each row as fractions of that true class (True) or as counts (False).
    Returns the Axes.
    """
    num_classes = len(class_names)
    counts = confusion_matrix(y_true, y_pred, num_classes)
    if normalize:
        values = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
        fmt = "{:.2f}"
    else:
        values, fmt = counts, "{:d}"
    ax = _new_axes(ax, figsize=(1 + 0.6 * num_classes, 1 + 0.6 * num_classes))
    image = ax.imshow(values, cmap="Blues")
    threshold = values.max() / 2
    for i in range(num_classes):
        for j in range(num_classes):
            ax.text(j, i, fmt.format(values[i, j]), ha="center", va="center", fontsize=7,
                    color="white" if values[i, j] > threshold else "black")
    ax.set_xticks(range(num_classes), class_names, rotation=45, ha="right")
    ax.set_yticks(range(num_classes), class_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    ax.figure.colorbar(image, ax=ax, fraction=0.046)
    return ax
