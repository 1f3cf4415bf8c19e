"""Pretrain the source ConvNet of notebook 04 on the full Fashion-MNIST source classes.

    python data/pretrain.py [--fashion-mnist-dir DIR] [--epochs E] [--output-dir DIR]

Trains course_lib.transfer.source_convnet() (conv 8 - pool - conv 16 - pool - fc, seed 0)
on every one of the 60,000 original training images whose class is in
course_lib.transfer.SOURCE_CLASSES (30,000 images, relabelled 0..4), with Adam and a fixed
seed. Then measures the accuracy on the shipped test subset (data/fashion_mnist_subset.npz)
restricted to the same classes, and writes

    convnet_fashion_source.npz   the weights, keys '<layer>.<param>' (conv1.W, ...)
    convnet_fashion_source.json  classes, seed, epochs, accuracy, command, SHA-256

The weights are written with fixed zip metadata (build_data.npz_bytes) and BLAS runs on
one thread, so a rerun on the same machine gives the same bytes. Another BLAS build may
round differently and so end with slightly different weights: the script prints the new
SHA-256 and accuracy, and data/README.md records the shipped ones.
"""
import os

from course_lib.threads import SINGLE_THREAD_ENV

# One BLAS thread: deterministic sums, so a rerun gives the same bytes (before numpy loads).
for _name, _value in SINGLE_THREAD_ENV.items():
    os.environ.setdefault(_name, _value)

import argparse  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from build_data import npz_bytes  # noqa: E402  (same folder: data/)

from course_lib.datasets import FASHION_MNIST_SYSTEM_DIR, load_fashion_mnist  # noqa: E402
from course_lib.trainer import Trainer  # noqa: E402
from course_lib.transfer import (  # noqa: E402
    PRETRAINED_INFO_FILE,
    PRETRAINED_WEIGHTS_FILE,
    SOURCE_ARCHITECTURE,
    SOURCE_CLASSES,
    TARGET_CLASSES,
    restrict_classes,
    source_convnet,
)

DATA_DIR = Path(__file__).resolve().parent
SEED = 0
EPOCHS = 3
OPTIM_CONFIG = {"learning_rate": 2e-3}
LR_DECAY = 0.7
BATCH_SIZE = 100
# Accuracy checks after each epoch (a progress signal only: nothing is selected by them).
MONITOR_SAMPLES = 2000


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fashion-mnist-dir", type=Path, default=FASHION_MNIST_SYSTEM_DIR,
                        help="folder with the four original Fashion-MNIST IDX files "
                             f"(default: {FASHION_MNIST_SYSTEM_DIR})")
    parser.add_argument("--epochs", type=int, default=EPOCHS, help=f"epochs (default: {EPOCHS})")
    parser.add_argument("--output-dir", type=Path, default=DATA_DIR,
                        help=f"where to write the two files (default: {DATA_DIR})")
    return parser.parse_args(argv)


def train(idx_dir, epochs):
    """The trained model and its Trainer, on the full training set's source classes."""
    full = load_fashion_mnist(idx_dir=idx_dir)
    X_train, y_train = restrict_classes(full["X_train"], full["y_train"], SOURCE_CLASSES)
    model = source_convnet(seed=SEED)
    # The training set doubles as the monitored "validation" set: there is no model
    # selection (restore_best=False), the script keeps the weights after the last epoch.
    data = {"X_train": X_train, "y_train": y_train, "X_val": X_train, "y_val": y_train}
    trainer = Trainer(model, data, update_rule="adam", optim_config=OPTIM_CONFIG,
                      lr_decay=LR_DECAY, batch_size=BATCH_SIZE, num_epochs=epochs, seed=SEED,
                      num_train_samples=MONITOR_SAMPLES, num_val_samples=MONITOR_SAMPLES,
                      restore_best=False)
    trainer.train()
    return model, X_train.shape[0]


def shipped_test_accuracy(model):
    """(num_correct, num_test) on the shipped test subset restricted to SOURCE_CLASSES."""
    subset = load_fashion_mnist()
    X_test, y_test = restrict_classes(subset["X_test"], subset["y_test"], SOURCE_CLASSES)
    return int(np.sum(model.predict(X_test) == y_test)), int(X_test.shape[0])


def main(argv=None):
    args = parse_args(argv)
    start = time.time()
    try:
        model, num_train = train(args.fashion_mnist_dir, args.epochs)
    except FileNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    num_correct, num_test = shipped_test_accuracy(model)
    weights = npz_bytes(model.state_dict())
    sha256 = hashlib.sha256(weights).hexdigest()
    info = {
        "weights_file": PRETRAINED_WEIGHTS_FILE,
        "weights_sha256": sha256,
        "architecture": {key: list(value) if isinstance(value, tuple) else value
                         for key, value in SOURCE_ARCHITECTURE.items()},
        "source_classes": list(SOURCE_CLASSES),
        "target_classes": list(TARGET_CLASSES),
        "num_train": num_train,
        "seed": SEED,
        "epochs": args.epochs,
        "batch_size": BATCH_SIZE,
        "update_rule": "adam",
        "optim_config": OPTIM_CONFIG,
        "lr_decay": LR_DECAY,
        "test_set": "data/fashion_mnist_subset.npz X_test restricted to source_classes",
        "test_correct": num_correct,
        "test_total": num_test,
        "test_accuracy": num_correct / num_test,
        "command": "python data/pretrain.py" + ("" if args.epochs == EPOCHS else f" --epochs {args.epochs}"),
        "numpy_version": np.__version__,
    }
    args.output_dir.mkdir(parents=True, exist_ok=True)
    (args.output_dir / PRETRAINED_WEIGHTS_FILE).write_bytes(weights)
    (args.output_dir / PRETRAINED_INFO_FILE).write_text(json.dumps(info, indent=2) + "\n")
    print(f"trained on {num_train} images for {args.epochs} epochs in {time.time() - start:.0f} s")
    print(f"test accuracy on the shipped subset's source classes: {num_correct}/{num_test} "
          f"= {num_correct / num_test:.4f}")
    print(f"{args.output_dir / PRETRAINED_WEIGHTS_FILE}: {len(weights)} bytes, SHA-256 {sha256}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
