"""Layer objects, a sequential model and two small classifiers built from course_lib.layers.

Each layer object wraps one functional layer: forward(x) runs `*_forward` and keeps the
cache, backward(dout) runs `*_backward` on it, returns dx and fills `grads`, a dict with
the same names and shapes as `params` ('W', 'b').

Freezing. Every layer has a `trainable` flag (True by default; `freeze()` / `unfreeze()`
set it). A frozen layer still passes gradients through: backward(dout) returns dx as
usual, so the layers below it keep learning. Its own parameters are left alone: their
gradients are dropped (`grads` stays empty), `Sequential.loss` leaves them out of the
returned grads and a `Trainer` never updates them. `Sequential.loss` also stops the
backward pass at the first frozen layer below which nothing is trainable, so a frozen
feature extractor costs a forward pass only.

Parameter names in a model are "<layer name>.<param>", e.g. 'conv1.W', 'fc1.b'.
"""
import math
import os

import numpy as np

from course_lib import layers
from course_lib._arguments import (
    require_array,
    require_labels,
    require_ndim,
    require_positive_int,
)

# Inference (predict, features) runs in batches of this many samples to bound memory.
DEFAULT_EVAL_BATCH_SIZE = 500


def _as_rng(rng):
    """A numpy Generator from None, an int seed or a Generator."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, (int, np.integer)):
        return np.random.default_rng(rng)
    raise TypeError(f"rng must be None, an int seed or a numpy Generator, got {type(rng).__name__}")


def _init_weights(shape, fan_in, weight_scale, rng):
    """Gaussian weights with std weight_scale, or He init std = sqrt(2 / fan_in) when None."""
    if weight_scale is None:
        std = math.sqrt(2.0 / fan_in)
    elif isinstance(weight_scale, (int, float)) and weight_scale > 0:
        std = float(weight_scale)
    else:
        raise ValueError(f"weight_scale must be a positive number or None (He init), got {weight_scale!r}")
    return std * rng.standard_normal(shape)


class Layer:
    """Base class. Subclasses implement _forward(x) -> (out, cache) and
    _backward(dout, cache) -> (dx, grads) with grads a dict named like `params`.

    params: dict name -> array, the layer's learnable parameters (empty for activations).
    grads: dict name -> array, filled by backward (empty while frozen).
    trainable: False freezes the parameters (see the module docstring).
    decayed: names of the params that L2 weight decay applies to (weights, not biases).
    prefix: stem of the automatic name a Sequential gives the layer ('fc' -> 'fc1').
    """

    decayed = ()
    prefix = "layer"

    def __init__(self, name=None):
        self.name = name
        self.params = {}
        self.grads = {}
        self.trainable = True
        self._cache = None

    def forward(self, x):
        """Compute the output for x and remember what backward needs."""
        out, self._cache = self._forward(x)
        return out

    def backward(self, dout):
        """Gradient of the loss w.r.t. the input, shape of the last forward's x.

        dout: upstream gradient, shape of the last forward's output. Fills `grads` when
        trainable; a frozen layer returns dx and leaves `grads` empty.
        """
        if self._cache is None:
            raise RuntimeError(f"{self._label()}: call forward before backward")
        dx, grads = self._backward(dout, self._cache)
        self.grads = grads if self.trainable else {}
        return dx

    def freeze(self):
        """Stop training this layer's parameters; gradients still flow through it."""
        self.trainable = False
        self.grads = {}
        return self

    def unfreeze(self):
        """Train this layer's parameters again."""
        self.trainable = True
        return self

    def _forward(self, x):
        raise NotImplementedError(f"{type(self).__name__}._forward")

    def _backward(self, dout, cache):
        raise NotImplementedError(f"{type(self).__name__}._backward")

    def _label(self):
        return f"layer {self.name!r} ({type(self).__name__})" if self.name else type(self).__name__

    def _extra_repr(self):
        return ""

    def __repr__(self):
        shapes = ", ".join(f"{k}{v.shape}" for k, v in self.params.items())
        parts = [p for p in (self._extra_repr(), shapes) if p]
        frozen = ", frozen" if self.params and not self.trainable else ""
        return f"{type(self).__name__}({', '.join(parts)}{frozen})"


class Affine(Layer):
    """Fully connected layer out = x.reshape(N, D) @ W + b.

    input_dim: D; output_dim: M. params: W, shape (D, M), and b, shape (M,).
    weight_scale: std of the Gaussian init of W, or None for He init sqrt(2 / D).
    rng: None, an int seed or a numpy Generator. Biases start at zero.
    """

    decayed = ("W",)
    prefix = "fc"

    def __init__(self, input_dim, output_dim, weight_scale=None, rng=None, name=None):
        super().__init__(name)
        input_dim = require_positive_int("input_dim", input_dim)
        output_dim = require_positive_int("output_dim", output_dim)
        rng = _as_rng(rng)
        self.params = {
            "W": _init_weights((input_dim, output_dim), input_dim, weight_scale, rng),
            "b": np.zeros(output_dim),
        }

    def _forward(self, x):
        """x: shape (N, d_1, ..., d_k) with d_1 * ... * d_k = D. Returns out, shape (N, M)."""
        require_array("x", x)
        D = self.params["W"].shape[0]
        if x.ndim < 2 or math.prod(x.shape[1:]) != D:
            raise ValueError(
                f"x must have shape (N, d_1, ..., d_k) with d_1 * ... * d_k = D = {D}, "
                f"got shape {x.shape}"
            )
        return layers.affine_forward(x, self.params["W"], self.params["b"])

    def _backward(self, dout, cache):
        dx, dW, db = layers.affine_backward(dout, cache)
        return dx, {"W": dW, "b": db}


class ReLU(Layer):
    """out = max(0, x); x and out of any shape."""

    prefix = "relu"

    def _forward(self, x):
        return layers.relu_forward(require_array("x", x))

    def _backward(self, dout, cache):
        return layers.relu_backward(dout, cache), {}


class Sigmoid(Layer):
    """out = 1 / (1 + exp(-x)); x and out of any shape."""

    prefix = "sigmoid"

    def _forward(self, x):
        return layers.sigmoid_forward(require_array("x", x))

    def _backward(self, dout, cache):
        return layers.sigmoid_backward(dout, cache), {}


class Tanh(Layer):
    """out = tanh(x); x and out of any shape."""

    prefix = "tanh"

    def _forward(self, x):
        return layers.tanh_forward(require_array("x", x))

    def _backward(self, dout, cache):
        return layers.tanh_backward(dout, cache), {}


class LeakyReLU(Layer):
    """out = x where x > 0, negative_slope * x elsewhere; x and out of any shape."""

    prefix = "leaky_relu"

    def __init__(self, negative_slope=0.01, name=None):
        super().__init__(name)
        if isinstance(negative_slope, bool) or not isinstance(negative_slope, (int, float)):
            raise TypeError(f"negative_slope must be a number, got {negative_slope!r}")
        self.negative_slope = float(negative_slope)

    def _forward(self, x):
        return layers.leaky_relu_forward(require_array("x", x), self.negative_slope)

    def _backward(self, dout, cache):
        return layers.leaky_relu_backward(dout, cache), {}

    def _extra_repr(self):
        return f"negative_slope={self.negative_slope}"


class Conv(Layer):
    """2-D convolution (cross-correlation) with F filters of size HH x WW = filter_size.

    in_channels: C; num_filters: F. params: W, shape (F, C, HH, WW), and b, shape (F,).
    stride, dilation: as in conv_param. pad: zero padding; None keeps H and W unchanged at
    stride 1 ("same": dilation * (filter_size - 1) // 2, exact for odd filter sizes).
    weight_scale: std of W's Gaussian init, or None for He init sqrt(2 / (C * HH * WW)).
    impl: 'fast' (im2col + GEMM) or 'naive' (loops; slow, for checking).
    """

    decayed = ("W",)
    prefix = "conv"
    # Names, not functions: `_forward`/`_backward` look the function up on course_lib.layers at
    # every call. The check's runner forbids an exercise's reference functions by replacing them
    # on the loaded course_lib modules (autograder/check/runner.py, ForbiddenFunctions); a
    # function captured here at import time would slip past that, so a student's model could
    # run the very reference it is asked to write. tests/course_lib/test_nn.py guards this.
    _impls = {
        "fast": ("conv_forward_fast", "conv_backward_fast"),
        "naive": ("conv_forward_naive", "conv_backward_naive"),
    }

    def __init__(self, in_channels, num_filters, filter_size, stride=1, pad=None, dilation=1,
                 weight_scale=None, rng=None, impl="fast", name=None):
        super().__init__(name)
        C = require_positive_int("in_channels", in_channels)
        F = require_positive_int("num_filters", num_filters)
        K = require_positive_int("filter_size", filter_size)
        stride = require_positive_int("stride", stride)
        dilation = require_positive_int("dilation", dilation)
        pad = dilation * (K - 1) // 2 if pad is None else require_positive_int("pad", pad, minimum=0)
        self.conv_param = {"stride": stride, "pad": pad}
        if dilation != 1:
            self.conv_param["dilation"] = dilation
        self._forward_name, self._backward_name = _pick_impl("impl", impl, self._impls)
        self.impl = impl
        rng = _as_rng(rng)
        self.params = {
            "W": _init_weights((F, C, K, K), C * K * K, weight_scale, rng),
            "b": np.zeros(F),
        }

    def _forward(self, x):
        """x: shape (N, C, H, W). Returns out, shape (N, F, H_out, W_out)."""
        require_ndim("x", x, ("N", "C", "H", "W"))
        C = self.params["W"].shape[1]
        if x.shape[1] != C:
            raise ValueError(f"x must have shape (N, {C}, H, W) (C = {C} channels), got shape {x.shape}")
        forward = getattr(layers, self._forward_name)
        return forward(x, self.params["W"], self.params["b"], dict(self.conv_param))

    def _backward(self, dout, cache):
        dx, dW, db = getattr(layers, self._backward_name)(dout, cache)
        return dx, {"W": dW, "b": db}

    def _extra_repr(self):
        params = ", ".join(f"{k}={v}" for k, v in self.conv_param.items())
        return f"{params}, impl={self.impl!r}"


class _Pool(Layer):
    """Pooling over pool_size x pool_size windows per activation map; no parameters.

    pool_size: window height and width; stride: step (defaults to pool_size).
    impl: 'fast' or 'naive'. Input x, shape (N, C, H, W); output (N, C, H_out, W_out) with
    H_out = (H - pool_size) // stride + 1.
    """

    prefix = "pool"
    _impls = {}  # per subclass: names looked up on course_lib.layers at call time, as in Conv

    def __init__(self, pool_size=2, stride=None, impl="fast", name=None):
        super().__init__(name)
        pool_size = require_positive_int("pool_size", pool_size)
        stride = pool_size if stride is None else require_positive_int("stride", stride)
        self.pool_param = {"pool_height": pool_size, "pool_width": pool_size, "stride": stride}
        self._forward_name, self._backward_name = _pick_impl("impl", impl, self._impls)
        self.impl = impl

    def _forward(self, x):
        require_ndim("x", x, ("N", "C", "H", "W"))
        return getattr(layers, self._forward_name)(x, dict(self.pool_param))

    def _backward(self, dout, cache):
        return getattr(layers, self._backward_name)(dout, cache), {}

    def _extra_repr(self):
        p = self.pool_param
        return f"pool_size={p['pool_height']}, stride={p['stride']}, impl={self.impl!r}"


class MaxPool(_Pool):
    """Max pooling: each output is the largest input in its window (see _Pool for arguments)."""

    _impls = {
        "fast": ("max_pool_forward_fast", "max_pool_backward_fast"),
        "naive": ("max_pool_forward_naive", "max_pool_backward_naive"),
    }


class AvgPool(_Pool):
    """Average pooling: each output is the mean of its window (see _Pool for arguments)."""

    _impls = {
        "fast": ("avg_pool_forward_fast", "avg_pool_backward_fast"),
        "naive": ("avg_pool_forward_naive", "avg_pool_backward_naive"),
    }


class Flatten(Layer):
    """Reshape x, shape (N, d_1, ..., d_k), to (N, D) with D = d_1 * ... * d_k."""

    prefix = "flatten"

    def _forward(self, x):
        require_array("x", x)
        if x.ndim < 1:
            raise ValueError(f"x must have shape (N, d_1, ..., d_k), got a scalar of shape {x.shape}")
        return x.reshape(x.shape[0], -1), x.shape

    def _backward(self, dout, cache):
        return dout.reshape(cache), {}


def _pick_impl(argname, impl, impls):
    if impl not in impls:
        raise ValueError(f"{argname} must be one of {sorted(impls)}, got {impl!r}")
    return impls[impl]


_LOSSES = {"softmax": "softmax_loss", "svm": "svm_loss"}


class Sequential:
    """Layers applied in order, ending in class scores, with a softmax or SVM loss.

    layers: Layer objects; those without a name get one from their kind and position
    ('conv1', 'relu1', 'pool1', 'fc1', ...). loss: 'softmax' or 'svm'.
    reg: L2 weight decay strength; the loss adds 0.5 * reg * sum(W ** 2) over every
    layer's weights (biases are not decayed).
    """

    def __init__(self, *layer_list, loss="softmax", reg=0.0):
        if not layer_list:
            raise ValueError("Sequential needs at least one layer")
        for i, layer in enumerate(layer_list):
            if not isinstance(layer, Layer):
                raise TypeError(
                    f"layer {i} must be a course_lib.nn.Layer, got {type(layer).__name__}"
                    " (pass layers as separate arguments: Sequential(a, b, c))"
                )
        if loss not in _LOSSES:
            raise ValueError(f"loss must be one of {sorted(_LOSSES)}, got {loss!r}")
        if not isinstance(reg, (int, float)) or reg < 0:
            raise ValueError(f"reg must be a number >= 0, got {reg!r}")
        self.layers = list(layer_list)
        self.loss_name = loss
        self.reg = float(reg)
        self._name_layers()

    def _name_layers(self):
        counts = {}
        for layer in self.layers:
            if layer.name is None:
                counts[layer.prefix] = counts.get(layer.prefix, 0) + 1
                layer.name = f"{layer.prefix}{counts[layer.prefix]}"
        names = [layer.name for layer in self.layers]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"layer names must be unique, got {duplicates} more than once in {names}")

    # --- access -------------------------------------------------------------------------

    def __len__(self):
        return len(self.layers)

    def __iter__(self):
        return iter(self.layers)

    def __getitem__(self, key):
        """The layer at an index (negative allowed) or with a name."""
        return self.layers[self.index(key)]

    def index(self, key):
        """Position of the layer given by index or name, as a non-negative int."""
        names = [layer.name for layer in self.layers]
        if isinstance(key, str):
            if key not in names:
                raise ValueError(f"no layer named {key!r}; layers are {names}")
            return names.index(key)
        if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
            if not -len(names) <= key < len(names):
                raise ValueError(f"layer index {key} out of range for {len(names)} layers {names}")
            return int(key) % len(names)
        raise TypeError(f"layer key must be a name or an int index, got {type(key).__name__}")

    def named_parameters(self, trainable_only=False):
        """Dict '<layer>.<param>' -> the live parameter array (not a copy), in layer order."""
        return {
            f"{layer.name}.{k}": v
            for layer in self.layers
            if layer.trainable or not trainable_only
            for k, v in layer.params.items()
        }

    def set_parameter(self, name, value):
        """Replace the parameter '<layer>.<param>' with a float64 copy of value (same shape)."""
        layer, key = self._split_param_name(name)
        require_array(name, value)
        old = layer.params[key]
        if value.shape != old.shape:
            raise ValueError(f"{name} must have shape {old.shape}, got shape {value.shape}")
        layer.params[key] = np.array(value, dtype=np.float64)

    def _split_param_name(self, name):
        layer_name, _, key = str(name).rpartition(".")
        known = list(self.named_parameters())
        if not layer_name or layer_name not in [l.name for l in self.layers]:
            raise ValueError(f"unknown parameter {name!r}; parameters are {known}")
        layer = self[layer_name]
        if key not in layer.params:
            raise ValueError(f"unknown parameter {name!r}; parameters are {known}")
        return layer, key

    def freeze(self, upto=None):
        """Freeze the layers from the first up to and including `upto` (name or index; None = all)."""
        stop = len(self.layers) - 1 if upto is None else self.index(upto)
        for layer in self.layers[: stop + 1]:
            layer.freeze()
        return self

    def unfreeze(self):
        """Make every layer trainable again."""
        for layer in self.layers:
            layer.unfreeze()
        return self

    def num_parameters(self, trainable_only=False):
        """Total number of scalars in the parameters."""
        return sum(v.size for v in self.named_parameters(trainable_only).values())

    # --- computation --------------------------------------------------------------------

    def _run(self, x, stop, remember):
        """Apply layers 0..stop-1 to x; remember=True keeps caches for backward."""
        for layer in self.layers[:stop]:
            try:
                x = layer.forward(x) if remember else layer._forward(x)[0]
            except (ValueError, TypeError) as err:
                raise type(err)(f"{layer._label()}: {err}") from err
        return x

    def forward(self, X):
        """Class scores, shape (N, num_classes), for X, shape (N, ...) as the first layer takes.

        Keeps every layer's cache so backward can follow.
        """
        require_array("X", X)
        return self._run(X, len(self.layers), remember=True)

    def backward(self, dscores, input_grad=True):
        """Backpropagate dscores, shape (N, num_classes), through every layer.

        Fills each trainable layer's grads. Returns dX, shape of the last forward's X.
        input_grad=False stops as soon as no trainable layer is left below and returns None.
        """
        trainable = [layer.trainable and bool(layer.params) for layer in self.layers]
        dout = dscores
        for i in reversed(range(len(self.layers))):
            if not input_grad and not any(trainable[: i + 1]):
                return None
            dout = self.layers[i].backward(dout)
        return dout

    def loss(self, X, y):
        """Data loss plus L2 weight decay, and gradients of the trainable parameters.

        X: inputs, shape (N, ...); y: integer labels, shape (N,), in [0, num_classes).
        Returns (loss, grads): loss a float; grads a dict '<layer>.<param>' -> array of the
        parameter's shape, for trainable layers only.
        """
        scores = self.forward(X)
        N, num_classes = scores.shape
        require_labels("y", y, N, num_classes)
        data_loss, dscores = getattr(layers, _LOSSES[self.loss_name])(scores, y)
        self.backward(dscores, input_grad=False)
        reg_loss = 0.0
        grads = {}
        for layer in self.layers:
            for key in layer.decayed:
                reg_loss += 0.5 * self.reg * np.sum(layer.params[key] ** 2)
            if not layer.trainable:
                continue
            for key, grad in layer.grads.items():
                if key in layer.decayed:
                    grad = grad + self.reg * layer.params[key]
                grads[f"{layer.name}.{key}"] = grad
        return float(data_loss + reg_loss), grads

    def features(self, X, upto=-1, batch_size=DEFAULT_EVAL_BATCH_SIZE):
        """Output of the layer `upto` (name or index, inclusive) for X, shape (N, ...).

        Runs in batches of batch_size samples and keeps no caches (inference only).
        Returns an array of shape (N, *the layer's output shape), e.g. (N, F, H_out, W_out)
        after a conv or pool layer, (N, num_classes) for the last layer.
        """
        require_array("X", X)
        if X.ndim < 1 or X.shape[0] == 0:
            raise ValueError(f"X must have shape (N, ...) with N >= 1, got shape {X.shape}")
        batch_size = require_positive_int("batch_size", batch_size)
        stop = self.index(upto) + 1
        parts = [self._run(X[i:i + batch_size], stop, remember=False)
                 for i in range(0, X.shape[0], batch_size)]
        return np.concatenate(parts, axis=0)

    def predict(self, X, batch_size=DEFAULT_EVAL_BATCH_SIZE):
        """Predicted class labels, shape (N,), for X, shape (N, ...)."""
        return np.argmax(self.features(X, -1, batch_size), axis=1)

    # --- saving and loading -------------------------------------------------------------

    def state_dict(self):
        """Copies of all parameters, dict '<layer>.<param>' -> array."""
        return {name: value.copy() for name, value in self.named_parameters().items()}

    def save(self, path):
        """Write state_dict() to an .npz file at path (numpy adds '.npz' if missing)."""
        np.savez(path, **self.state_dict())

    def load_state_dict(self, state, strict=True):
        """Load parameters from a dict '<layer>.<param>' -> array or a path to an .npz file.

        strict=True: the keys must be exactly this model's parameter names. strict=False:
        load the names both share (e.g. a pretrained feature extractor under a new
        classifier). Shapes must always match. Returns (missing, unexpected) key lists.
        """
        if isinstance(state, (str, os.PathLike)):
            with np.load(state) as npz:
                state = {k: npz[k] for k in npz.files}
        if not isinstance(state, dict):
            raise TypeError(f"state must be a dict or a path to an .npz file, got {type(state).__name__}")
        own = self.named_parameters()
        missing = [k for k in own if k not in state]
        unexpected = [k for k in state if k not in own]
        if strict and (missing or unexpected):
            raise ValueError(f"state does not match the model: missing {missing}, unexpected {unexpected}")
        for name in own:
            if name in state:
                self.set_parameter(name, np.asarray(state[name]))
        return missing, unexpected

    def __repr__(self):
        lines = [f"  ({layer.name}): {layer!r}" for layer in self.layers]
        head = f"{type(self).__name__}(loss={self.loss_name!r}, reg={self.reg}"
        return head + ",\n" + "\n".join(lines) + "\n)"


class TwoLayerNet(Sequential):
    """fc1 -> relu1 -> fc2 with a softmax loss: input_dim -> hidden_dim -> num_classes.

    Input X, shape (N, d_1, ..., d_k) with d_1 * ... * d_k = input_dim (images are
    flattened by fc1). weight_scale: std of the weight init (None: He init).
    reg: L2 weight decay. seed: seeds the initialisation.
    """

    def __init__(self, input_dim=28 * 28, hidden_dim=100, num_classes=10, weight_scale=1e-3,
                 reg=0.0, seed=0):
        rng = np.random.default_rng(seed)
        super().__init__(
            Affine(input_dim, hidden_dim, weight_scale, rng),
            ReLU(),
            Affine(hidden_dim, num_classes, weight_scale, rng),
            reg=reg,
        )


class ConvNet(Sequential):
    """[conv - relu - 2x2 max pool] x len(num_filters) -> flatten -> fc, softmax loss.

    input_shape: (C, H, W) of one image. num_filters: filters per conv layer, e.g. (8, 16).
    filter_size: odd HH = WW; convs use stride 1 and "same" padding so only pooling
    halves H and W, which must therefore be multiples of 2 ** len(num_filters). num_classes: outputs of the final affine layer.
    weight_scale: std of every weight init, or None for He init. reg: L2 weight decay.
    seed: seeds the initialisation. conv_impl, pool_impl: 'fast' or 'naive'.
    """

    def __init__(self, input_shape=(1, 28, 28), num_filters=(8, 16), filter_size=3, num_classes=10,
                 weight_scale=None, reg=0.0, seed=0, conv_impl="fast", pool_impl="fast"):
        if len(tuple(input_shape)) != 3:
            raise ValueError(f"input_shape must be (C, H, W), got {input_shape!r}")
        C, H, W = (require_positive_int("input_shape", s) for s in input_shape)
        if not num_filters:
            raise ValueError("num_filters must list at least one conv layer, e.g. (8, 16)")
        # Each 2x2 stride-2 pooling must tile its input exactly.
        divisor = 2 ** len(num_filters)
        if H % divisor or W % divisor:
            raise ValueError(
                f"input_shape {tuple(input_shape)}: H and W must be multiples of {divisor} so that "
                f"{len(num_filters)} 2x2 poolings halve them exactly, got H = {H}, W = {W}"
            )
        filter_size = require_positive_int("filter_size", filter_size)
        if filter_size % 2 == 0:
            raise ValueError(f"filter_size must be odd so 'same' padding keeps H and W, got {filter_size}")
        rng = np.random.default_rng(seed)
        stack = []
        channels = C
        for F in num_filters:
            stack += [
                Conv(channels, F, filter_size, weight_scale=weight_scale, rng=rng, impl=conv_impl),
                ReLU(),
                MaxPool(2, impl=pool_impl),
            ]
            channels = F
            H, W = H // 2, W // 2
        stack += [Flatten(), Affine(channels * H * W, num_classes, weight_scale, rng)]
        super().__init__(*stack, reg=reg)
