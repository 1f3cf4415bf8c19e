"""Tests for course_lib.datasets and data/build_data.py; only the shipped files are required."""
import gzip
import hashlib
import importlib.util
import io
import re
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib import datasets
from course_lib.datasets import (
    load_digits,
    load_fashion_mnist,
    read_idx,
    resize_images,
    train_val_split,
)

FULL_IDX_DIR = datasets.FASHION_MNIST_SYSTEM_DIR
SHIPPED = (datasets.FASHION_MNIST_SUBSET_FILE, datasets.DIGITS_FILE)


def _load_build_script():
    path = datasets.DATA_DIR / "build_data.py"
    spec = importlib.util.spec_from_file_location("build_data", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build_data = _load_build_script()


@pytest.fixture(scope="module")
def fashion():
    return load_fashion_mnist()


@pytest.fixture(scope="module")
def digits():
    return load_digits()


def _idx_bytes(type_code, shape, payload):
    """An IDX file assembled by hand: 0, 0, type code, ndim, big-endian uint32 sizes, payload."""
    return bytes([0, 0, type_code, len(shape)]) + struct.pack(f">{len(shape)}I", *shape) + payload


# ---------------------------------------------------------------- shipped Fashion-MNIST subset

def test_fashion_subset_shapes_and_dtypes(fashion):
    assert set(fashion) == {"X_train", "y_train", "X_test", "y_test", "class_names"}
    assert fashion["X_train"].shape == (12000, 1, 28, 28)
    assert fashion["X_test"].shape == (2000, 1, 28, 28)
    assert fashion["y_train"].shape == (12000,)
    assert fashion["y_test"].shape == (2000,)
    for key in ("X_train", "X_test"):
        assert fashion[key].dtype == np.float64
    for key in ("y_train", "y_test"):
        assert fashion[key].dtype == np.int64


def test_fashion_subset_values_are_bytes_scaled_to_unit_range(fashion):
    for key in ("X_train", "X_test"):
        X = fashion[key]
        assert X.min() == 0.0 and X.max() == 1.0
        np.testing.assert_array_equal(np.round(X * 255), X * 255)


def test_fashion_subset_is_class_balanced(fashion):
    np.testing.assert_array_equal(np.bincount(fashion["y_train"], minlength=10), [1200] * 10)
    np.testing.assert_array_equal(np.bincount(fashion["y_test"], minlength=10), [200] * 10)
    for key in ("y_train", "y_test"):
        assert fashion[key].min() == 0 and fashion[key].max() == 9


def test_fashion_class_names(fashion):
    assert fashion["class_names"] == (
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
        "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    )


def test_fashion_subset_has_no_duplicate_source_images():
    with np.load(datasets.DATA_DIR / datasets.FASHION_MNIST_SUBSET_FILE) as raw:
        train_indices, test_indices = raw["train_indices"], raw["test_indices"]
    assert np.unique(train_indices).size == 12000 and train_indices.max() < 60000
    assert np.unique(test_indices).size == 2000 and test_indices.max() < 10000
    assert np.all(np.diff(train_indices) > 0) and np.all(np.diff(test_indices) > 0)


# ---------------------------------------------------------------- shipped digits

def test_digits_shapes_dtypes_and_range(digits):
    X, y = digits
    assert X.shape == (1797, 1, 8, 8) and X.dtype == np.float64
    assert y.shape == (1797,) and y.dtype == np.int64
    assert X.min() == 0.0 and X.max() == 1.0
    # Stored values are counts 0..16, so X * 16 must be whole numbers.
    np.testing.assert_array_equal(np.round(X * 16), X * 16)


def test_digits_class_counts_match_the_uci_test_set(digits):
    # Class distribution of the UCI optdigits test set, from the dataset's documentation.
    uci_counts = [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    np.testing.assert_array_equal(np.bincount(digits[1], minlength=10), uci_counts)


def test_loaders_return_fresh_arrays(digits):
    X, _ = digits
    X_again, _ = load_digits()
    X_again[0, 0, 0, 0] = 99.0
    assert X[0, 0, 0, 0] != 99.0


def test_missing_shipped_file_says_run_make_data(monkeypatch, tmp_path):
    monkeypatch.setattr(datasets, "DATA_DIR", tmp_path)
    with pytest.raises(FileNotFoundError, match="make data"):
        load_fashion_mnist()
    with pytest.raises(FileNotFoundError, match="make data"):
        load_digits()


# ---------------------------------------------------------------- checksums and the build script

@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_file_matches_recorded_sha256(name):
    data = (datasets.DATA_DIR / name).read_bytes()
    assert hashlib.sha256(data).hexdigest() == build_data.EXPECTED_SHA256[name]


@pytest.mark.parametrize("name", SHIPPED)
def test_readme_records_the_same_size_and_sha256(name):
    readme = (datasets.DATA_DIR / "README.md").read_text()
    row = re.search(rf"^\| `{re.escape(name)}` \| (\d+) \| `([0-9a-f]{{64}})` \|$", readme, re.M)
    assert row, f"data/README.md has no checksum row for {name}"
    assert int(row.group(1)) == (datasets.DATA_DIR / name).stat().st_size
    assert row.group(2) == build_data.EXPECTED_SHA256[name]


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_file_matches_recorded_content_digest(name):
    with np.load(datasets.DATA_DIR / name, allow_pickle=False) as raw:
        arrays = {key: raw[key] for key in raw.files}
    assert build_data.content_sha256(arrays) == build_data.EXPECTED_CONTENT_SHA256[name]


def test_npz_bytes_is_deterministic_and_loadable():
    arrays = {"b": np.arange(6, dtype=np.uint8).reshape(2, 3), "a": np.array(["x", "yz"])}
    first, second = build_data.npz_bytes(arrays), build_data.npz_bytes(dict(arrays))
    assert first == second
    with np.load(io.BytesIO(first), allow_pickle=False) as loaded:
        assert loaded.files == ["b", "a"]
        np.testing.assert_array_equal(loaded["b"], arrays["b"])
        np.testing.assert_array_equal(loaded["a"], arrays["a"])


def test_digits_rebuild_reproduces_shipped_bytes():
    pytest.importorskip("sklearn")
    data = build_data.npz_bytes(build_data.build_digits())
    assert data == (datasets.DATA_DIR / datasets.DIGITS_FILE).read_bytes()


def test_balanced_subset_indices_is_balanced_sorted_and_seeded():
    labels = np.repeat(np.arange(3), [5, 7, 4])
    picked = build_data.balanced_subset_indices(labels, 3, seed=0)
    np.testing.assert_array_equal(np.bincount(labels[picked]), [3, 3, 3])
    assert np.all(np.diff(picked) > 0)
    np.testing.assert_array_equal(picked, build_data.balanced_subset_indices(labels, 3, seed=0))
    with pytest.raises(ValueError, match="class 2 has 4 samples, need 5"):
        build_data.balanced_subset_indices(labels, 5, seed=0)


def test_verify_accepts_match_and_explains_mismatches(monkeypatch):
    arrays = {"images": np.zeros((2, 2), dtype=np.uint8)}
    data = build_data.npz_bytes(arrays)
    monkeypatch.setitem(build_data.EXPECTED_SHA256, "x.npz", hashlib.sha256(data).hexdigest())
    monkeypatch.setitem(build_data.EXPECTED_CONTENT_SHA256, "x.npz", build_data.content_sha256(arrays))
    assert build_data.verify("x.npz", data, arrays) is None
    # Same arrays, different bytes: blame the encoding, not the data.
    assert "arrays are identical" in build_data.verify("x.npz", data + b"\0", arrays)
    other = {"images": np.ones((2, 2), dtype=np.uint8)}
    assert "arrays differ" in build_data.verify("x.npz", build_data.npz_bytes(other), other)


def test_build_script_missing_idx_exits_2_and_says_where_to_get_them(tmp_path, capsys):
    status = build_data.main(["--fashion-mnist-dir", str(tmp_path), "--output-dir", str(tmp_path)])
    assert status == 2
    message = capsys.readouterr().err
    assert "train-images-idx3-ubyte" in message
    assert "dataset-fashion-mnist" in message and "/usr/share/datasets/fashion-mnist" in message
    assert not list(tmp_path.iterdir())


def test_build_script_refuses_to_write_a_mismatching_file(monkeypatch, tmp_path, capsys):
    # A stand-in builder that produces the wrong arrays must be caught by the checksum.
    monkeypatch.setattr(build_data, "build_fashion_mnist_subset",
                        lambda idx_dir: {"X_train": np.zeros((1, 28, 28), dtype=np.uint8)})
    monkeypatch.setattr(build_data, "build_digits",
                        lambda: {"images": np.zeros((1, 8, 8), dtype=np.uint8)})
    status = build_data.main(["--output-dir", str(tmp_path)])
    assert status == 1
    assert capsys.readouterr().err.count("SHA-256 mismatch") == 2
    assert not list(tmp_path.iterdir())


# ---------------------------------------------------------------- IDX reader

@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
def test_read_idx_uint8_images(tmp_path, compress):
    expected = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    raw = _idx_bytes(0x08, (2, 3, 4), expected.tobytes())
    path = tmp_path / "images.idx"
    path.write_bytes(gzip.compress(raw) if compress else raw)
    got = read_idx(path)
    assert got.shape == (2, 3, 4) and got.dtype == np.uint8
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
def test_read_idx_big_endian_int32(tmp_path, compress):
    # 258 = 0x00000102 and -1 = 0xFFFFFFFF, written big-endian by hand.
    raw = _idx_bytes(0x0C, (2,), bytes([0, 0, 1, 2, 255, 255, 255, 255]))
    path = tmp_path / "values.idx"
    path.write_bytes(gzip.compress(raw) if compress else raw)
    got = read_idx(path)
    np.testing.assert_array_equal(got, [258, -1])
    assert got.dtype == np.int32 and got.dtype.isnative


@pytest.mark.parametrize(
    "raw, message",
    [
        (bytes([1, 0, 8, 1, 0, 0, 0, 1, 7]), "two zero bytes"),
        (bytes([0, 0, 7, 1, 0, 0, 0, 1, 7]), "unknown IDX type code 0x07"),
        (bytes([0, 0, 8, 0]), "0 dimensions"),
        (bytes([0, 0, 8, 3, 0, 0, 0, 1]), "header needs 16 bytes"),
        (_idx_bytes(0x08, (2, 3), bytes(5)), r"shape \(2, 3\).*6 data bytes.*holds 5"),
        (_idx_bytes(0x08, (2, 3), bytes(7)), "holds 7"),
        (bytes([0, 0]), "only 2 byte"),
    ],
    ids=["magic", "type", "ndim0", "short-header", "truncated", "trailing", "tiny"],
)
def test_read_idx_rejects_corrupted_files(tmp_path, raw, message):
    path = tmp_path / "bad.idx"
    path.write_bytes(raw)
    with pytest.raises(ValueError, match=message) as info:
        read_idx(path)
    assert str(path) in str(info.value)


def _write_fake_fashion(folder, num_train, num_test, gzipped):
    rng = np.random.default_rng(0)
    arrays = {
        "X_train": rng.integers(0, 256, (num_train, 28, 28), dtype=np.uint8),
        "y_train": np.arange(num_train, dtype=np.uint8) % 10,
        "X_test": rng.integers(0, 256, (num_test, 28, 28), dtype=np.uint8),
        "y_test": np.arange(num_test, dtype=np.uint8) % 10,
    }
    for key, stem in datasets.FASHION_MNIST_IDX_STEMS.items():
        raw = _idx_bytes(0x08, arrays[key].shape, arrays[key].tobytes())
        if gzipped:
            (folder / f"{stem}.gz").write_bytes(gzip.compress(raw))
        else:
            (folder / stem).write_bytes(raw)
    return arrays


@pytest.mark.parametrize("gzipped", [False, True], ids=["plain", "gzip"])
def test_load_fashion_mnist_from_idx_folder(tmp_path, gzipped):
    arrays = _write_fake_fashion(tmp_path, num_train=12, num_test=5, gzipped=gzipped)
    data = load_fashion_mnist(idx_dir=tmp_path)
    assert data["X_train"].shape == (12, 1, 28, 28) and data["X_test"].shape == (5, 1, 28, 28)
    np.testing.assert_array_equal(data["X_train"][:, 0] * 255, arrays["X_train"])
    np.testing.assert_array_equal(data["y_test"], arrays["y_test"])
    assert data["y_train"].dtype == np.int64 and len(data["class_names"]) == 10


def test_load_fashion_mnist_idx_folder_missing_file(tmp_path):
    _write_fake_fashion(tmp_path, num_train=3, num_test=2, gzipped=True)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(FileNotFoundError, match=r"missing t10k-labels-idx1-ubyte\[\.gz\]"):
        load_fashion_mnist(idx_dir=tmp_path)


def test_load_fashion_mnist_idx_labels_must_match_images(tmp_path):
    _write_fake_fashion(tmp_path, num_train=3, num_test=2, gzipped=False)
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(_idx_bytes(0x08, (4,), bytes(4)))
    with pytest.raises(ValueError, match=r"train labels must be uint8 of shape \(3,\)"):
        load_fashion_mnist(idx_dir=tmp_path)


@pytest.mark.skipif(not FULL_IDX_DIR.is_dir(),
                    reason=f"optional: full Fashion-MNIST not installed in {FULL_IDX_DIR}")
def test_full_fashion_mnist_and_subset_provenance():
    full = load_fashion_mnist(idx_dir=FULL_IDX_DIR)
    assert full["X_train"].shape == (60000, 1, 28, 28) and full["y_train"].shape == (60000,)
    assert full["X_test"].shape == (10000, 1, 28, 28) and full["y_test"].shape == (10000,)
    np.testing.assert_array_equal(np.bincount(full["y_train"]), [6000] * 10)
    with np.load(datasets.DATA_DIR / datasets.FASHION_MNIST_SUBSET_FILE) as raw:
        for split in ("train", "test"):
            picked = raw[f"{split}_indices"]
            np.testing.assert_array_equal(full[f"X_{split}"][picked, 0] * 255, raw[f"X_{split}"])
            np.testing.assert_array_equal(full[f"y_{split}"][picked], raw[f"y_{split}"])


# ---------------------------------------------------------------- train/validation split

def test_train_val_split_partitions_and_is_deterministic():
    X = np.arange(20, dtype=np.float64).reshape(10, 2)
    y = np.arange(10)
    X_before, y_before = X.copy(), y.copy()
    X_train, y_train, X_val, y_val = train_val_split(X, y, num_val=3, seed=4)
    assert X_train.shape == (7, 2) and X_val.shape == (3, 2)
    assert sorted(np.concatenate([y_train, y_val]).tolist()) == list(range(10))
    # Rows stay paired with their labels.
    np.testing.assert_array_equal(X_train[:, 0], 2 * y_train)
    np.testing.assert_array_equal(X_val[:, 0], 2 * y_val)
    again = train_val_split(X, y, num_val=3, seed=4)
    np.testing.assert_array_equal(again[3], y_val)
    other_seeds = [train_val_split(X, y, num_val=3, seed=s)[3] for s in range(5, 10)]
    assert any(not np.array_equal(v, y_val) for v in other_seeds)
    np.testing.assert_array_equal(X, X_before)
    np.testing.assert_array_equal(y, y_before)


@pytest.mark.parametrize(
    "num_val, y_len, error, message",
    [(0, 5, ValueError, "num_val must be >= 1"), (5, 5, ValueError, "smaller than N = 5"),
     (2.0, 5, TypeError, "num_val must be an integer"), (2, 4, ValueError, r"y must have shape \(5,\)")],
)
def test_train_val_split_rejects_bad_arguments(num_val, y_len, error, message):
    with pytest.raises(error, match=message):
        train_val_split(np.zeros((5, 3)), np.zeros(y_len, dtype=np.int64), num_val)


# ---------------------------------------------------------------- resize

def test_resize_bilinear_2x2_to_4x4_worked_by_hand():
    X = np.array([[[[0.0, 1.0], [2.0, 3.0]]]])
    # Output pixel i samples input coordinate (i + 0.5) / 2 - 0.5 = -0.25, 0.25, 0.75, 1.25,
    # clamped to 0, 0.25, 0.75, 1. The image is the plane 2 * row + col, so bilinear
    # interpolation reproduces it exactly at those coordinates.
    expected = np.array([
        [0.0, 0.25, 0.75, 1.0],
        [0.5, 0.75, 1.25, 1.5],
        [1.5, 1.75, 2.25, 2.5],
        [2.0, 2.25, 2.75, 3.0],
    ])
    out = resize_images(X, 4, 4)
    assert out.shape == (1, 1, 4, 4) and out.dtype == np.float64
    np.testing.assert_allclose(out[0, 0], expected, rtol=0, atol=1e-15)


def test_resize_bilinear_downsample_averages_pairs():
    X = np.array([[[[0.0, 1.0, 2.0, 3.0]]]])
    # Coordinates (i + 0.5) * 2 - 0.5 = 0.5 and 2.5: halfway between pixel pairs.
    np.testing.assert_allclose(resize_images(X, 1, 2), [[[[0.5, 2.5]]]], rtol=0, atol=1e-15)


def test_resize_nearest_2x2_to_4x4_repeats_pixels():
    X = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    expected = np.array([
        [1.0, 1.0, 2.0, 2.0],
        [1.0, 1.0, 2.0, 2.0],
        [3.0, 3.0, 4.0, 4.0],
        [3.0, 3.0, 4.0, 4.0],
    ])
    np.testing.assert_array_equal(resize_images(X, 4, 4, method="nearest")[0, 0], expected)


def test_resize_digits_to_network_input(digits):
    X = digits[0][:20]
    X_before = X.copy()
    out = resize_images(X, 28, 28)
    assert out.shape == (20, 1, 28, 28)
    assert out.min() >= 0.0 and out.max() <= 1.0
    np.testing.assert_array_equal(X, X_before)


@settings(max_examples=25, deadline=None)
@given(
    N=st.integers(1, 3), C=st.integers(1, 3), H=st.integers(1, 6), W=st.integers(1, 6),
    H_out=st.integers(1, 9), W_out=st.integers(1, 9),
    method=st.sampled_from(["bilinear", "nearest"]), seed=st.integers(0, 2**16),
)
def test_resize_keeps_constants_identity_and_range(N, C, H, W, H_out, W_out, method, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N, C, H, W))
    np.testing.assert_allclose(resize_images(X, H, W, method=method), X, rtol=0, atol=1e-12)
    out = resize_images(X, H_out, W_out, method=method)
    assert out.shape == (N, C, H_out, W_out)
    # Every output is a convex combination of inputs from its own image and channel.
    lo = X.min(axis=(2, 3), keepdims=True)
    hi = X.max(axis=(2, 3), keepdims=True)
    assert np.all(out >= lo - 1e-12) and np.all(out <= hi + 1e-12)
    constant = np.full((N, C, H, W), 0.7)
    np.testing.assert_allclose(resize_images(constant, H_out, W_out, method=method), 0.7,
                               rtol=0, atol=1e-14)


def test_resize_rejects_bad_arguments():
    with pytest.raises(ValueError, match=r"X must have shape \(N, C, H, W\)"):
        resize_images(np.zeros((2, 8, 8)), 28, 28)
    with pytest.raises(ValueError, match="method must be"):
        resize_images(np.zeros((1, 1, 2, 2)), 4, 4, method="cubic")
    with pytest.raises(ValueError, match="height must be >= 1"):
        resize_images(np.zeros((1, 1, 2, 2)), 0, 4)
