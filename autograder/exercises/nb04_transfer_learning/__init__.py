"""Exercise checks of notebook 04 (transfer learning and Grad-CAM).

nb04.extract_features      student(model, X, upto) -> output of layer `upto` (inclusive), (N, ...)
nb04.freeze_upto           student(model, upto): layers up to `upto` frozen, the others trainable
nb04.softmax_classifier    student(X, y, num_classes, learning_rate, reg, num_iters) -> (W, b):
                           gradient descent checked step by step, then accuracy of the defaults
                           on a hidden split of the pretrained network's features
nb04.fine_tune_step        student(model, X, y, learning_rate) -> loss: one SGD step of the
                           trainable layers, no backward below the lowest trainable layer
nb04.class_score_gradient  student(model, A, layer, class_index) -> dA, by finite differences
nb04.grad_cam              student(A, dA) -> (weights, cam), against a finite-difference dA

The models handed to the student are copies whose shortcut methods (features, freeze,
loss, ...) refuse to run, so that each exercise is written with a loop over model.layers.
Models travel in the case data as descriptions ({"kind": "pretrained"} for the shipped
source network, or a small ConvNet's constructor arguments and parameters, plus the names
of its frozen layers) and are rebuilt with course_lib.nn by the verdict. Expected values
(outputs, updated parameters, gradients, maps) are computed in cases.py with course_lib's
reference or centered finite differences; the verdicts only compare. Each verdict names the
usual mistakes before the generic comparison, from what they give (also in the case data:
another layer's output, a classifier trained with half the weight decay, the gradient of
the softmax loss instead of the class score, the ReLU before the sum) or from how the
student's output relates to the right one (a step of the wrong sign or size, a rescaled map).
"""
