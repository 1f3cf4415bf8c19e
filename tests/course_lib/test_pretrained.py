"""The shipped pretrained ConvNet (data/convnet_fashion_source.npz): it loads, matches its
recorded checksum, and reaches the recorded accuracy on the shipped test subset."""
import hashlib
import re

import numpy as np
import pytest

from course_lib.datasets import DATA_DIR, load_fashion_mnist
from course_lib.nn import ConvNet
from course_lib.transfer import (
    PRETRAINED_WEIGHTS_FILE,
    SOURCE_ARCHITECTURE,
    SOURCE_CLASSES,
    TARGET_CLASSES,
    load_pretrained_convnet,
    pretrained_info,
    restrict_classes,
)

WEIGHTS = DATA_DIR / PRETRAINED_WEIGHTS_FILE
MAX_BYTES = 5 * 1024 * 1024


@pytest.fixture(scope="module")
def info():
    return pretrained_info()


def test_weights_file_is_small_and_matches_the_recorded_sha256(info):
    data = WEIGHTS.read_bytes()
    assert len(data) <= MAX_BYTES
    assert hashlib.sha256(data).hexdigest() == info["weights_sha256"]


def test_readme_records_the_same_checksum_accuracy_and_command(info):
    readme = (DATA_DIR / "README.md").read_text()
    section = readme[readme.index("## convnet_fashion_source.npz"):]
    assert info["weights_sha256"] in section
    assert f"{info['test_correct']} / {info['test_total']}" in section
    assert f"`{info['command']}`" in section
    assert re.search(rf"seed\W+{info['seed']}\b", section)
    assert re.search(rf"{info['epochs']} epochs", section)


def test_weights_load_strictly_into_a_plain_convnet(info):
    model = ConvNet(num_classes=len(info["source_classes"]), **SOURCE_ARCHITECTURE)
    with np.load(WEIGHTS, allow_pickle=False) as npz:
        state = {key: npz[key] for key in npz.files}
    missing, unexpected = model.load_state_dict(state, strict=True)
    assert (missing, unexpected) == ([], [])
    assert all(value.dtype == np.float64 and np.all(np.isfinite(value)) for value in state.values())


def test_recorded_classes_are_the_library_split(info):
    assert tuple(info["source_classes"]) == SOURCE_CLASSES
    assert tuple(info["target_classes"]) == TARGET_CLASSES
    assert sorted(SOURCE_CLASSES + TARGET_CLASSES) == list(range(10))


def test_reaches_the_recorded_accuracy_on_the_shipped_test_subset(info):
    data = load_fashion_mnist()
    X, y = restrict_classes(data["X_test"], data["y_test"], SOURCE_CLASSES)
    assert len(y) == info["test_total"] == 1000
    correct = int(np.sum(load_pretrained_convnet().predict(X) == y))
    # The count is deterministic; a flip would need a score tie within round-off.
    assert correct == info["test_correct"]
    assert correct / len(y) >= 0.9


def test_a_fresh_network_does_not_reach_that_accuracy(info):
    """The accuracy check can fail: untrained weights of the same shape are near chance."""
    data = load_fashion_mnist()
    X, y = restrict_classes(data["X_test"], data["y_test"], SOURCE_CLASSES)
    fresh = ConvNet(num_classes=5, seed=123, **SOURCE_ARCHITECTURE)
    assert int(np.sum(fresh.predict(X) == y)) < info["test_correct"] - 300
