"""Transfer learning helpers: the pretrained source ConvNet, class splits, and Grad-CAM.

The source network is a course_lib.nn.ConvNet trained by data/pretrain.py on the
Fashion-MNIST classes SOURCE_CLASSES (relabelled 0..4); the other five classes,
TARGET_CLASSES, are held out as a "similar" target task. Its weights ship in
data/convnet_fashion_source.npz, and what the script measured (accuracy, seed, epochs,
command, SHA-256) in data/convnet_fashion_source.json.

Grad-CAM (Selvaraju et al., 2017) for a feature map A of some layer, shape (N, F, H', W'):
the class score s_c is pushed back to A, dA = ds_c / dA; each channel's weight is the
spatial mean of its gradient, alpha (N, F); the map is ReLU(sum_k alpha_k A_k), (N, H', W').
"""
import json

import numpy as np

from course_lib import layers
from course_lib._arguments import require_array, require_labels, require_ndim, require_positive_int
from course_lib.datasets import DATA_DIR
from course_lib.nn import ConvNet

# Tops, trousers and two kinds of shoe for the source; dress, coat, shirt, bag and
# ankle boot for the target: most target classes resemble a source class, one (bag) does not.
SOURCE_CLASSES = (0, 1, 2, 5, 7)
TARGET_CLASSES = (3, 4, 6, 8, 9)
PRETRAINED_WEIGHTS_FILE = "convnet_fashion_source.npz"
PRETRAINED_INFO_FILE = "convnet_fashion_source.json"
# loader -> the data/ files it reads (see datasets.FILES_READ_BY)
FILES_READ_BY = {"load_pretrained_convnet": (PRETRAINED_WEIGHTS_FILE,), "pretrained_info": (PRETRAINED_INFO_FILE,)}
SOURCE_ARCHITECTURE = {"input_shape": (1, 28, 28), "num_filters": (8, 16), "filter_size": 3}


def source_convnet(seed=0):
    """A freshly initialised ConvNet with the source network's architecture (5 outputs)."""
    return ConvNet(num_classes=len(SOURCE_CLASSES), seed=seed, **SOURCE_ARCHITECTURE)


def pretrained_info():
    """What data/pretrain.py recorded, as a dict (see data/README.md for the fields)."""
    path = DATA_DIR / PRETRAINED_INFO_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: run `make pretrain` (see data/README.md)")
    return json.loads(path.read_text())


def load_pretrained_convnet():
    """The source ConvNet with the shipped pretrained weights loaded (strictly)."""
    path = DATA_DIR / PRETRAINED_WEIGHTS_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: run `make pretrain` (see data/README.md)")
    model = source_convnet()
    model.load_state_dict(path, strict=True)
    return model


def restrict_classes(X, y, classes):
    """The samples whose label is in `classes`, relabelled by position in `classes`.

    X: (N, ...) samples; y: (N,) integer labels; classes: sequence of K distinct labels.
    Returns X_sub (N_sub, ...) and y_sub (N_sub,) int64 in [0, K), in the original order;
    y_sub[i] = classes.index(old label). Inputs are not modified.
    """
    require_array("X", X)
    require_array("y", y)
    if X.ndim < 1 or y.shape != (X.shape[0],):
        raise ValueError(f"y must have shape (N,) with N = X.shape[0], got X {X.shape}, y {y.shape}")
    classes = [int(c) for c in classes]
    if not classes or len(set(classes)) != len(classes):
        raise ValueError(f"classes must be a non-empty sequence of distinct labels, got {classes}")
    keep = np.isin(y, classes)
    relabel = {c: i for i, c in enumerate(classes)}
    y_sub = np.array([relabel[int(label)] for label in y[keep]], dtype=np.int64)
    return X[keep], y_sub


def feature_normalizer(F_train):
    """Shift and scale that normalize_features applies, fitted on the labelled features.

    F_train: (N, ...) features, flattened to (N, D). Returns mean, shape (D,), and scale, a
    positive float: the root mean squared norm of the centred rows (1.0 if they are all equal).
    """
    require_array("F_train", F_train)
    if F_train.ndim < 1 or F_train.shape[0] == 0:
        raise ValueError(f"F_train must have shape (N, ...) with N >= 1, got shape {F_train.shape}")
    flat = F_train.reshape(F_train.shape[0], -1)
    mean = flat.mean(axis=0)
    scale = float(np.sqrt(np.mean(np.sum((flat - mean) ** 2, axis=1))))
    return mean, (scale if scale > 0 else 1.0)


def normalize_features(F_train, *F_others):
    """Flatten features to (N, D), centre them on the training mean, scale to unit RMS norm.

    F_train: (N, ...) features of the labelled set; F_others: any number of (N_i, ...)
    feature arrays (validation, test) that get the same shift and scale.
    One scalar scale for all D features keeps their relative sizes and makes a learning
    rate mean the same thing at every layer: afterwards the training rows have mean 0 and
    mean squared norm 1. Returns a tuple (F_train (N, D), *F_others (N_i, D)).
    """
    mean, scale = feature_normalizer(F_train)
    out = []
    for i, F in enumerate((F_train, *F_others)):
        require_array("F_train" if i == 0 else f"F_others[{i - 1}]", F)
        flat = F.reshape(F.shape[0], -1)
        if flat.shape[1] != mean.shape[0]:
            raise ValueError(f"F_others[{i - 1}] must have D = {mean.shape[0]} features per sample "
                             f"like F_train, got shape {F.shape}")
        out.append((flat - mean) / scale)
    return tuple(out)


def fit_softmax_classifier(X, y, num_classes, learning_rate=10.0, reg=1e-3, num_iters=100):
    """Softmax classifier scores = X @ W + b fitted by full-batch gradient descent.

    X: (N, D) features (normalize_features makes the default learning rate safe);
    y: (N,) labels in [0, num_classes). Minimises the mean cross-entropy plus
    0.5 * reg * sum(W ** 2), starting from W = 0, b = 0.
    Returns W (D, num_classes) and b (num_classes,).
    """
    require_ndim("X", X, ("N", "D"))
    num_classes = require_positive_int("num_classes", num_classes)
    require_labels("y", y, X.shape[0], num_classes)
    W = np.zeros((X.shape[1], num_classes))
    b = np.zeros(num_classes)
    for _ in range(require_positive_int("num_iters", num_iters)):
        _, dscores = layers.softmax_loss(X @ W + b, y)
        W = W - learning_rate * (X.T @ dscores + reg * W)
        b = b - learning_rate * dscores.sum(axis=0)
    return W, b


def class_score_gradient(model, A, layer, class_index):
    """Gradient of each sample's class score w.r.t. the output A of `layer`.

    model: a course_lib.nn.Sequential; A: output of `layer` (name or index), shape
    (N, F, H', W') (or any shape the next layer takes); class_index: int or (N,) ints,
    the class c_n whose score s_{n, c_n} is differentiated.
    Returns (scores, dA): scores (N, num_classes) computed from A, and dA, shape of A,
    with dA[n] = d s_{n, c_n} / d A[n]. Parameters are not changed; frozen layers pass
    gradients as usual. Overwrites the head layers' forward caches and grads.
    """
    require_array("A", A)
    start = model.index(layer) + 1
    head = model.layers[start:]
    out = A
    for block in head:
        out = block.forward(out)
    N, num_classes = out.shape
    classes = np.broadcast_to(np.asarray(class_index), (N,))
    if not np.issubdtype(classes.dtype, np.integer) or classes.min() < 0 or classes.max() >= num_classes:
        raise ValueError(f"class_index must be integers in [0, {num_classes}), got {class_index!r}")
    dscores = np.zeros((N, num_classes))
    dscores[np.arange(N), classes] = 1.0
    dout = dscores
    for block in reversed(head):
        dout = block.backward(dout)
    return out, dout


def grad_cam(A, dA):
    """Grad-CAM channel weights and map from feature maps and the class score's gradient.

    A: feature maps, shape (N, F, H', W'); dA: d s_c / dA, same shape.
    Returns weights (N, F), the spatial means of dA, and cam (N, H', W'),
    ReLU(sum over F of weights * A).
    """
    require_ndim("A", A, ("N", "F", "H'", "W'"))
    require_ndim("dA", dA, ("N", "F", "H'", "W'"))
    if dA.shape != A.shape:
        raise ValueError(f"dA must have the shape of A {A.shape}, got shape {dA.shape}")
    weights = dA.mean(axis=(2, 3))
    cam = layers.relu_forward(np.einsum("nf,nfhw->nhw", weights, A))[0]
    return weights, cam


def grad_cam_maps(model, X, layer, class_index):
    """Grad-CAM maps of images X for the class(es) class_index, at the output of `layer`.

    X: (N, C, H, W) images; layer: name or index of a layer with (N, F, H', W') output;
    class_index: int or (N,) ints. Returns (scores (N, num_classes), cam (N, H', W')).
    """
    A = model.features(X, upto=layer)
    scores, dA = class_score_gradient(model, A, layer, class_index)
    return scores, grad_cam(A, dA)[1]
