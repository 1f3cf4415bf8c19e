"""Train a two-layer net and a small ConvNet on the shipped Fashion-MNIST subset.

Run `python -m course_lib.demo` (the first half of `make demo`). It prints the test
accuracy of both models and writes learning curves, the ConvNet's first-layer filters and
its confusion matrix as PNG files under outputs/ (git-ignored).
"""
import argparse
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from course_lib import nn, plotting
from course_lib.datasets import load_fashion_mnist, train_val_split
from course_lib.trainer import Trainer

NUM_VAL = 1000
SEED = 0


def _train(model, data, epochs, optim_config, progress):
    """Train with SGD + momentum, learning rate x0.85 per epoch; returns (trainer, seconds)."""
    start = time.perf_counter()
    trainer = Trainer(model, data, update_rule="sgd_momentum", optim_config=optim_config,
                      lr_decay=0.85, batch_size=100, num_epochs=epochs, seed=SEED, progress=progress)
    trainer.train()
    return trainer, time.perf_counter() - start


def _save(fig, path):
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=6, help="epochs for each model (default 6)")
    parser.add_argument("--output-dir", type=Path, default=Path("outputs"))
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    args = parser.parse_args(argv)

    dataset = load_fashion_mnist()
    X_train, y_train, X_val, y_val = train_val_split(
        dataset["X_train"], dataset["y_train"], NUM_VAL, seed=SEED)
    data = {"X_train": X_train, "y_train": y_train, "X_val": X_val, "y_val": y_val}
    X_test, y_test = dataset["X_test"], dataset["y_test"]
    print(f"Fashion-MNIST subset: {len(X_train)} train, {len(X_val)} validation, "
          f"{len(X_test)} test images of shape {X_train.shape[1:]}")

    runs = [
        ("two_layer_net", nn.TwoLayerNet(28 * 28, 100, 10, weight_scale=None, seed=SEED),
         {"learning_rate": 0.05}),
        ("conv_net", nn.ConvNet((1, 28, 28), (8, 16), 3, 10, seed=SEED), {"learning_rate": 0.1}),
    ]
    args.output_dir.mkdir(parents=True, exist_ok=True)
    written, results = [], []
    for name, model, optim_config in runs:
        print(f"\n{name}: {model.num_parameters():,} parameters")
        trainer, seconds = _train(model, data, args.epochs, optim_config, not args.no_progress)
        test_acc = float(np.mean(model.predict(X_test) == y_test))
        results.append((name, trainer.best_val_acc, test_acc, seconds))
        print(f"{name}: best validation accuracy {trainer.best_val_acc:.3f}, "
              f"test accuracy {test_acc:.3f} ({seconds:.0f} s)")
        written.append(_save(plotting.plot_history(trainer.history, title=name),
                             args.output_dir / f"{name}_curves.png"))

    conv_net = runs[-1][1]
    written.append(_save(plotting.plot_filters(conv_net["conv1"].params["W"], title="conv1 filters"),
                         args.output_dir / "conv_net_conv1_filters.png"))
    cm_ax = plotting.plot_confusion_matrix(y_test, conv_net.predict(X_test), dataset["class_names"])
    written.append(_save(cm_ax.figure, args.output_dir / "conv_net_confusion_matrix.png"))

    print("\nmodel            val acc  test acc  train time")
    for name, val_acc, test_acc, seconds in results:
        print(f"{name:<16} {val_acc:7.3f}  {test_acc:8.3f}  {seconds:8.0f} s")
    print(f"\nFigures written to {args.output_dir.resolve()}:")
    for path in written:
        print(f"  {path.name}")


if __name__ == "__main__":
    main()
