"""Rebuild the shipped datasets in data/ from their original sources and verify them.

    python data/build_data.py [--fashion-mnist-dir DIR] [--output-dir DIR]

fashion_mnist_subset.npz  class-balanced seeded subset of the original Fashion-MNIST IDX
                          files: 1,200 per class from the 60k train set, 200 per class from
                          the 10k test set.
digits.npz                scikit-learn's bundled copy of the 8x8 UCI handwritten digits.

Both files are written byte for byte the same on every run (fixed zip timestamps and
order, a NumPy random stream frozen by NumPy's compatibility policy), so their SHA-256
is recorded below and in data/README.md. A file is written only when its checksum
matches; on a mismatch nothing is written and the exit status is 1. Missing sources
give exit status 2.
"""
import argparse
import hashlib
import io
import sys
import zipfile
from pathlib import Path

import numpy as np

from course_lib.datasets import (
    DIGITS_FILE,
    FASHION_MNIST_CLASS_NAMES,
    FASHION_MNIST_SUBSET_FILE,
    FASHION_MNIST_SYSTEM_DIR,
    read_fashion_mnist_idx,
)

DATA_DIR = Path(__file__).resolve().parent
SEED = 0
TRAIN_PER_CLASS = 1200
TEST_PER_CLASS = 200

EXPECTED_SHA256 = {
    FASHION_MNIST_SUBSET_FILE: "4bd76b49cdfdf48968966f707283bd7599725436296f119bc276e09d2498ca01",
    DIGITS_FILE: "aa64e930663d6e9271e1566601d65e70236553f73ec6cb041a4ab37167cf1d04",
}
# Digest of the arrays themselves (names, dtypes, shapes, bytes). When only the file
# digest differs, the arrays are right and the compressor (zlib build) encoded them
# differently; the message says so.
EXPECTED_CONTENT_SHA256 = {
    FASHION_MNIST_SUBSET_FILE: "1ab53f9d62c9a04b6ff128d5407e9066fcc99bcbe6f6a199fc1fdd25f4c433c2",
    DIGITS_FILE: "2a0e82dd69330db6d06d2c89632bbd053f591db93218f51587ca04577ffb686a",
}

# Any fixed date works; 1980-01-01 is the earliest a zip entry can hold.
_ZIP_DATE_TIME = (1980, 1, 1, 0, 0, 0)


def balanced_subset_indices(labels, per_class, seed):
    """Sorted indices picking `per_class` samples of every class, at random but seeded.

    labels: (N,) integer labels.
    Returns (num_classes * per_class,) int64 indices into labels, ascending, so the
    subset keeps the source's order.
    """
    # RandomState, not default_rng: its stream is frozen across NumPy versions.
    rng = np.random.RandomState(seed)
    chosen = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        if members.size < per_class:
            raise ValueError(f"class {label} has {members.size} samples, need {per_class}")
        chosen.append(rng.permutation(members)[:per_class])
    return np.sort(np.concatenate(chosen)).astype(np.int64)


def build_fashion_mnist_subset(idx_dir):
    """Arrays of fashion_mnist_subset.npz, read from the four original IDX files in idx_dir.

    Returns a dict: X_train (12000, 28, 28) uint8, y_train (12000,) uint8,
    X_test (2000, 28, 28) uint8, y_test (2000,) uint8, class_names (10,) str,
    train_indices (12000,) and test_indices (2000,) int64 positions in the full sets.
    """
    full = read_fashion_mnist_idx(idx_dir)
    train_indices = balanced_subset_indices(full["y_train"], TRAIN_PER_CLASS, SEED)
    test_indices = balanced_subset_indices(full["y_test"], TEST_PER_CLASS, SEED)
    return {
        "X_train": full["X_train"][train_indices],
        "y_train": full["y_train"][train_indices],
        "X_test": full["X_test"][test_indices],
        "y_test": full["y_test"][test_indices],
        "class_names": np.array(FASHION_MNIST_CLASS_NAMES),
        "train_indices": train_indices,
        "test_indices": test_indices,
    }


def build_digits():
    """Arrays of digits.npz: images (1797, 8, 8) uint8 in 0..16, labels (1797,) uint8."""
    from sklearn.datasets import load_digits  # only the rebuild needs scikit-learn

    bunch = load_digits()
    images = bunch.images
    if images.min() < 0 or images.max() > 16 or not np.array_equal(images, np.round(images)):
        raise ValueError("scikit-learn's digits must be whole numbers in 0..16")
    return {"images": images.astype(np.uint8), "labels": bunch.target.astype(np.uint8)}


def npz_bytes(arrays):
    """The bytes of a compressed .npz holding `arrays`, identical on every run.

    Same container as np.savez_compressed (a zip of .npy members, readable by np.load),
    but with fixed timestamps, permissions and member order.
    """
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, array in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_DATE_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            member = io.BytesIO()
            np.lib.format.write_array(member, np.ascontiguousarray(array), allow_pickle=False)
            archive.writestr(info, member.getvalue(), compresslevel=9)
    return buffer.getvalue()


def content_sha256(arrays):
    """SHA-256 over each array's name, dtype, shape and bytes, in name order."""
    digest = hashlib.sha256()
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}|{array.dtype.str}|{array.shape}|".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def verify(name, data, arrays):
    """None if the bytes match the recorded SHA-256, else a message explaining the mismatch."""
    got = hashlib.sha256(data).hexdigest()
    if got == EXPECTED_SHA256[name]:
        return None
    got_content = content_sha256(arrays)
    if got_content == EXPECTED_CONTENT_SHA256[name]:
        cause = ("the arrays are identical, only the zip encoding differs "
                 "(a different zlib build?)")
    else:
        cause = f"the arrays differ (content SHA-256 {got_content})"
    return (f"{name}: SHA-256 mismatch, expected {EXPECTED_SHA256[name]}, got {got}; "
            f"{cause}. Nothing was written.")


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--fashion-mnist-dir", type=Path, default=FASHION_MNIST_SYSTEM_DIR,
        help="folder holding the four original Fashion-MNIST IDX files, gzipped or not "
             f"(default: {FASHION_MNIST_SYSTEM_DIR}, from the Debian package dataset-fashion-mnist)",
    )
    parser.add_argument(
        "--output-dir", type=Path, default=DATA_DIR,
        help=f"where to write the files (default: {DATA_DIR})",
    )
    return parser.parse_args(argv)


def main(argv=None):
    """Build, verify and write every shipped file. Returns the exit status."""
    args = parse_args(argv)
    builders = {
        FASHION_MNIST_SUBSET_FILE: lambda: build_fashion_mnist_subset(args.fashion_mnist_dir),
        DIGITS_FILE: build_digits,
    }
    status = 0
    for name, build in builders.items():
        try:
            arrays = build()
        except FileNotFoundError as error:
            print(f"error: cannot build {name}: {error}", file=sys.stderr)
            return 2
        data = npz_bytes(arrays)
        problem = verify(name, data, arrays)
        if problem:
            print(f"error: {problem}", file=sys.stderr)
            status = 1
            continue
        path = args.output_dir / name
        path.write_bytes(data)
        print(f"{path}: {len(data)} bytes, SHA-256 {EXPECTED_SHA256[name]} (verified)")
    return status


if __name__ == "__main__":
    sys.exit(main())
