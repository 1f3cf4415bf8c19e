"""course_lib.transfer: class restriction, feature normalisation, the softmax classifier,
the class-score gradient (against finite differences) and Grad-CAM."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib import layers
from course_lib.gradcheck import eval_numerical_gradient, eval_numerical_gradient_array, rel_error
from course_lib.nn import ConvNet
from course_lib.transfer import (
    class_score_gradient,
    feature_normalizer,
    fit_softmax_classifier,
    grad_cam,
    grad_cam_maps,
    normalize_features,
    restrict_classes,
)

TOL = 1e-7


def small_convnet(seed=0, num_filters=(3, 4), num_classes=3):
    return ConvNet(input_shape=(1, 8, 8), num_filters=num_filters, num_classes=num_classes, seed=seed)


# ---------------------------------------------------------------------------- restrict_classes

def test_restrict_classes_keeps_order_and_relabels_by_position():
    X = np.arange(6.0).reshape(6, 1)
    y = np.array([5, 0, 7, 5, 2, 7])
    X_sub, y_sub = restrict_classes(X, y, (7, 5))
    assert X_sub.ravel().tolist() == [0.0, 2.0, 3.0, 5.0]
    assert y_sub.tolist() == [1, 0, 1, 0]
    assert y_sub.dtype == np.int64
    assert y.tolist() == [5, 0, 7, 5, 2, 7]


@pytest.mark.parametrize("classes", [(), (1, 1)])
def test_restrict_classes_rejects_empty_or_repeated_classes(classes):
    with pytest.raises(ValueError, match="distinct"):
        restrict_classes(np.zeros((3, 2)), np.array([0, 1, 1]), classes)


def test_restrict_classes_names_mismatched_shapes():
    with pytest.raises(ValueError, match=r"y must have shape \(N,\)"):
        restrict_classes(np.zeros((3, 2)), np.array([0, 1]), (0,))


# ---------------------------------------------------------------------------- normalisation

def test_feature_normalizer_on_a_hand_worked_example():
    # rows (0, 0), (2, 0), (4, 0): mean (2, 0), centred norms 2, 0, 2 -> RMS sqrt(8 / 3)
    mean, scale = feature_normalizer(np.array([[0.0, 0.0], [2.0, 0.0], [4.0, 0.0]]))
    assert mean.tolist() == [2.0, 0.0]
    assert scale == pytest.approx(np.sqrt(8 / 3), rel=1e-15)


@settings(max_examples=20, deadline=None)
@given(st.integers(2, 6), st.integers(1, 4), st.integers(0, 2**31 - 1))
def test_normalize_features_centres_and_scales_training_rows(N, D, seed):
    rng = np.random.default_rng(seed)
    F_train = rng.uniform(0, 5, size=(N, D, 2))
    F_test = rng.uniform(0, 5, size=(3, D, 2))
    kept = F_train.copy()
    train, test = normalize_features(F_train, F_test)
    assert train.shape == (N, 2 * D) and test.shape == (3, 2 * D)
    assert np.allclose(train.mean(axis=0), 0.0, atol=1e-12)
    assert np.mean(np.sum(train**2, axis=1)) == pytest.approx(1.0, rel=1e-12)
    mean, scale = feature_normalizer(F_train)
    assert np.allclose(test, (F_test.reshape(3, -1) - mean) / scale, rtol=0, atol=1e-14)
    assert np.array_equal(F_train, kept)


def test_normalize_features_leaves_constant_features_unscaled():
    train, = normalize_features(np.ones((3, 2)))
    assert np.array_equal(train, np.zeros((3, 2)))


def test_normalize_features_rejects_other_widths():
    with pytest.raises(ValueError, match="D = 4"):
        normalize_features(np.zeros((2, 4)), np.zeros((2, 3)))


# ---------------------------------------------------------------------------- softmax classifier

def test_one_step_from_zero_matches_the_uniform_probability_formula():
    rng = np.random.default_rng(0)
    X, y, C, lr = rng.standard_normal((5, 3)), np.array([0, 2, 1, 2, 2]), 3, 0.7
    W, b = fit_softmax_classifier(X, y, C, learning_rate=lr, reg=0.3, num_iters=1)
    dscores = (np.full((5, C), 1 / C) - np.eye(C)[y]) / 5  # softmax of all-zero scores is 1/C
    assert rel_error(W, -lr * X.T @ dscores) < TOL
    assert rel_error(b, -lr * dscores.sum(axis=0)) < TOL


def test_steps_follow_the_gradient_of_the_regularised_loss():
    """After the iterations the update direction equals the numerical gradient of the objective."""
    rng = np.random.default_rng(1)
    X, y, reg = rng.standard_normal((6, 4)), rng.integers(0, 3, size=6), 0.2
    W, b = fit_softmax_classifier(X, y, 3, learning_rate=0.5, reg=reg, num_iters=3)
    W_next, _ = fit_softmax_classifier(X, y, 3, learning_rate=0.5, reg=reg, num_iters=4)

    def objective(W_):
        return layers.softmax_loss(X @ W_ + b, y)[0] + 0.5 * reg * np.sum(W_**2)
    numerical = eval_numerical_gradient(objective, W.copy())
    assert rel_error((W - W_next) / 0.5, numerical) < 1e-7


def test_classifier_separates_separable_data():
    rng = np.random.default_rng(2)
    centres = np.array([[3.0, 0.0], [-3.0, 0.0], [0.0, 3.0]])
    y = np.repeat(np.arange(3), 20)
    X = centres[y] + 0.3 * rng.standard_normal((60, 2))
    X, = normalize_features(X)
    W, b = fit_softmax_classifier(X, y, 3)
    assert np.mean(np.argmax(X @ W + b, axis=1) == y) == 1.0


def test_classifier_rejects_labels_out_of_range():
    with pytest.raises(ValueError, match=r"labels in \[0, 2\)"):
        fit_softmax_classifier(np.zeros((2, 3)), np.array([0, 2]), 2)


# ---------------------------------------------------------------------------- class score gradient

def _head_scores(model, A, layer):
    out = A
    for block in model.layers[model.index(layer) + 1:]:
        out = block._forward(out)[0]
    return out


@pytest.mark.parametrize("layer", ["conv2", "pool2", "pool1", "flatten1"])
def test_class_score_gradient_matches_finite_differences(layer):
    model = small_convnet()
    X = np.random.default_rng(3).standard_normal((2, 1, 8, 8))
    A = np.ascontiguousarray(model.features(X, layer))
    classes = np.array([2, 0])
    scores, dA = class_score_gradient(model, A, layer, classes)
    assert np.allclose(scores, model.forward(X))
    one_hot = np.eye(3)[classes]
    numerical = eval_numerical_gradient_array(lambda a: _head_scores(model, a, layer), A.copy(), one_hot)
    assert rel_error(dA, numerical) < TOL


def test_class_score_gradient_is_per_sample_and_leaves_parameters_alone():
    model = small_convnet(seed=4)
    X = np.random.default_rng(4).standard_normal((3, 1, 8, 8))
    A = np.ascontiguousarray(model.features(X, "pool2"))
    before = model.state_dict()
    _, dA_all = class_score_gradient(model, A, "pool2", 1)
    _, dA_one = class_score_gradient(model, A[1:2], "pool2", 1)
    assert rel_error(dA_all[1:2], dA_one) < TOL
    assert all(np.array_equal(v, before[k]) for k, v in model.state_dict().items())


def test_class_score_gradient_passes_through_frozen_layers():
    model = small_convnet(seed=5)
    X = np.random.default_rng(5).standard_normal((2, 1, 8, 8))
    A = np.ascontiguousarray(model.features(X, "pool1"))
    _, dA = class_score_gradient(model, A, "pool1", 0)
    model.freeze()
    _, dA_frozen = class_score_gradient(model, A, "pool1", 0)
    assert np.array_equal(dA, dA_frozen) and np.any(dA != 0)


def test_class_score_gradient_rejects_a_class_out_of_range():
    model = small_convnet()
    A = model.features(np.zeros((1, 1, 8, 8)), "pool2")
    with pytest.raises(ValueError, match=r"class_index must be integers in \[0, 3\)"):
        class_score_gradient(model, A, "pool2", 3)


# ---------------------------------------------------------------------------- Grad-CAM

def test_grad_cam_on_a_hand_worked_example():
    A = np.zeros((1, 2, 2, 2))
    A[0, 0] = [[1.0, 2.0], [3.0, 4.0]]
    A[0, 1] = [[4.0, 0.0], [0.0, 0.0]]
    dA = np.zeros((1, 2, 2, 2))
    dA[0, 0] = [[1.0, 1.0], [1.0, 1.0]]    # mean 1
    dA[0, 1] = [[-4.0, -4.0], [0.0, 0.0]]  # mean -2
    weights, cam = grad_cam(A, dA)
    assert weights.tolist() == [[1.0, -2.0]]
    # 1 * A0 - 2 * A1 = [[1 - 8, 2], [3, 4]] -> ReLU -> [[0, 2], [3, 4]]
    assert cam.tolist() == [[[0.0, 2.0], [3.0, 4.0]]]


def test_grad_cam_weights_average_a_finite_difference_gradient():
    model = small_convnet(seed=6)
    X = np.random.default_rng(6).standard_normal((1, 1, 8, 8))
    A = np.ascontiguousarray(model.features(X, "pool2"))
    numerical = eval_numerical_gradient(lambda a: _head_scores(model, a, "pool2")[0, 2], A.copy())
    _, dA = class_score_gradient(model, A, "pool2", 2)
    weights, cam = grad_cam(A, dA)
    assert rel_error(weights, numerical.mean(axis=(2, 3))) < TOL
    assert np.all(cam >= 0)


def test_grad_cam_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="shape of A"):
        grad_cam(np.zeros((1, 2, 3, 3)), np.zeros((1, 2, 3, 2)))


def test_grad_cam_maps_depend_on_the_class():
    model = small_convnet(seed=7, num_classes=4)
    X = np.random.default_rng(7).uniform(size=(2, 1, 8, 8))
    scores, cam0 = grad_cam_maps(model, X, "relu2", 0)
    _, cam3 = grad_cam_maps(model, X, "relu2", 3)
    assert scores.shape == (2, 4) and cam0.shape == (2, 4, 4)
    assert not np.allclose(cam0, cam3)
