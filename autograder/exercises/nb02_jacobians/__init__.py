"""Exercise checks of notebook 02 (Jacobians, losses, a two-layer net and its training).

nb02.numerical_jacobian   student(f, x, h=1e-5) -> J, shape (M, N), J[m, n] = dy_m/dx_n
                          for f mapping x, shape (N,), to y, shape (M,)
nb02.relu_backward        student(dout, cache) -> dx; cache = x from relu_forward
nb02.matmul_backward      student(dy, x, w) -> (dx, dw) for y = x @ w
nb02.affine               student affine_forward(x, w, b) -> (out, cache) and
                          affine_backward(dout, cache) -> (dx, dw, db)
nb02.softmax_loss         student(x, y) -> (loss, dx), mean over the N rows
nb02.svm_loss             student(x, y) -> (loss, dx), mean over the N rows
nb02.two_layer_net_loss   student(X, y, params, reg) -> (loss, grads) for
                          affine - relu - affine - softmax with 0.5 * reg * (|W1|² + |W2|²)
nb02.sgd_momentum         student(w, dw, config=None) -> (next_w, config)
nb02.training_result      trained_params {W1, b1, W2, b2}: accuracy on the notebook's
                          validation split (visible) and on the shipped test set (hidden)

Expected values (cases.py) come from course_lib's reference layers and optimizers, from the
lecture's worked numbers written out there, or from closed-form Jacobians; verdicts.py
compares the student's answers with them.
"""
