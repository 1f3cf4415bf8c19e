"""Dataset loaders: the shipped Fashion-MNIST subset, the full IDX files, and the 8x8 digits.

Every loader returns images as float64 in [0, 1] with layout (N, C, H, W) and labels as
int64 of shape (N,). The shipped files live in data/ at the repository root, next to
course_lib/; `make data` rebuilds them (see data/README.md).
"""
import gzip
from pathlib import Path

import numpy as np

from course_lib._arguments import require_array, require_ndim, require_positive_int

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
FASHION_MNIST_SUBSET_FILE = "fashion_mnist_subset.npz"
DIGITS_FILE = "digits.npz"
# loader -> the data/ files it reads (a release ships only those its notebook's loaders read)
FILES_READ_BY = {"load_fashion_mnist": (FASHION_MNIST_SUBSET_FILE,), "load_digits": (DIGITS_FILE,)}

# Where the Debian package dataset-fashion-mnist installs the four original IDX files.
FASHION_MNIST_SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_MNIST_CLASS_NAMES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
FASHION_MNIST_IDX_STEMS = {
    "X_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "X_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}

# IDX type code (third byte of the magic number) -> big-endian numpy dtype.
_IDX_DTYPES = {
    0x08: np.dtype(">u1"), 0x09: np.dtype(">i1"), 0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8"),
}
_GZIP_MAGIC = b"\x1f\x8b"


def read_idx(path):
    """Read one IDX file (the MNIST container format), gzipped or plain.

    Layout: two zero bytes, a type code, the number of dimensions ndim, then ndim
    big-endian uint32 sizes, then the values in C order. Gzip is detected from the
    file's first bytes, not its name.
    path: str or Path of the file.
    Returns an array of shape (d_1, ..., d_ndim) in native byte order.
    Raises ValueError naming the file when the header or the payload length is wrong.
    """
    path = Path(path)
    raw = path.read_bytes()
    if raw[:2] == _GZIP_MAGIC:
        raw = gzip.decompress(raw)
    if len(raw) < 4:
        raise ValueError(f"{path}: not an IDX file, only {len(raw)} byte(s) long")
    if raw[0] != 0 or raw[1] != 0:
        raise ValueError(
            f"{path}: not an IDX file, magic number must start with two zero bytes, "
            f"got {raw[:4].hex()}"
        )
    type_code, ndim = raw[2], raw[3]
    if type_code not in _IDX_DTYPES:
        known = ", ".join(f"0x{code:02X}" for code in _IDX_DTYPES)
        raise ValueError(f"{path}: unknown IDX type code 0x{type_code:02X}, expected one of {known}")
    if ndim == 0:
        raise ValueError(f"{path}: IDX header declares 0 dimensions, expected at least 1")
    header_size = 4 + 4 * ndim
    if len(raw) < header_size:
        raise ValueError(f"{path}: IDX header needs {header_size} bytes, file has {len(raw)}")
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = _IDX_DTYPES[type_code]
    expected_bytes = int(np.prod(shape)) * dtype.itemsize
    got_bytes = len(raw) - header_size
    if got_bytes != expected_bytes:
        raise ValueError(
            f"{path}: IDX header declares shape {shape} of {dtype.name} "
            f"({expected_bytes} data bytes), file holds {got_bytes}"
        )
    values = np.frombuffer(raw, dtype=dtype, offset=header_size).reshape(shape)
    return values.astype(dtype.newbyteorder("="))


def find_fashion_mnist_idx(idx_dir):
    """Paths of the four original Fashion-MNIST IDX files in `idx_dir` (each plain or .gz).

    Returns a dict with keys X_train, y_train, X_test, y_test -> Path.
    Raises FileNotFoundError listing what is missing and where to get it.
    """
    idx_dir = Path(idx_dir)
    found, missing = {}, []
    for key, stem in FASHION_MNIST_IDX_STEMS.items():
        candidates = [idx_dir / stem, idx_dir / f"{stem}.gz"]
        present = [p for p in candidates if p.is_file()]
        if present:
            found[key] = present[0]
        else:
            missing.append(f"{stem}[.gz]")
    if missing:
        raise FileNotFoundError(
            f"Fashion-MNIST IDX files not found in {idx_dir}: missing {', '.join(missing)}. "
            f"The Debian package dataset-fashion-mnist installs them in "
            f"{FASHION_MNIST_SYSTEM_DIR}/; otherwise download the four files from "
            f"https://github.com/zalandoresearch/fashion-mnist and pass their folder."
        )
    return found


def read_fashion_mnist_idx(idx_dir):
    """The full Fashion-MNIST as stored: uint8 images and labels, checked for consistency.

    idx_dir: folder holding the four original IDX files, gzipped or not.
    Returns a dict: X_train (60000, 28, 28) uint8, y_train (60000,) uint8,
    X_test (10000, 28, 28) uint8, y_test (10000,) uint8.
    """
    arrays = {key: read_idx(path) for key, path in find_fashion_mnist_idx(idx_dir).items()}
    for split in ("train", "test"):
        images, labels = arrays[f"X_{split}"], arrays[f"y_{split}"]
        if images.ndim != 3 or images.dtype != np.uint8:
            raise ValueError(
                f"{split} images must be uint8 of shape (N, H, W), "
                f"got {images.dtype} of shape {images.shape}"
            )
        if labels.shape != (images.shape[0],) or labels.dtype != np.uint8:
            raise ValueError(
                f"{split} labels must be uint8 of shape ({images.shape[0]},), "
                f"got {labels.dtype} of shape {labels.shape}"
            )
        if labels.max() >= len(FASHION_MNIST_CLASS_NAMES):
            raise ValueError(f"{split} labels must lie in [0, 10), got maximum {labels.max()}")
    return arrays


def _shipped_file(name):
    """Path of a shipped data file, or FileNotFoundError telling how to rebuild it."""
    path = DATA_DIR / name
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing. Run `make data` at the repository root to rebuild the "
            f"shipped datasets (see data/README.md)."
        )
    return path


def _read_npz(name):
    """All arrays of a shipped .npz file, loaded without pickle."""
    with np.load(_shipped_file(name), allow_pickle=False) as archive:
        return {key: archive[key] for key in archive.files}


def _as_course_images(images, max_value):
    """uint8 images (N, H, W) with values in [0, max_value] -> float64 (N, 1, H, W) in [0, 1]."""
    return (images.astype(np.float64) / max_value)[:, np.newaxis, :, :]


def load_fashion_mnist(idx_dir=None):
    """Fashion-MNIST in the course's layout.

    idx_dir: None (default) reads the shipped class-balanced subset, 12,000 train and
        2,000 test images; a folder holding the four original IDX files (gzipped or not,
        e.g. FASHION_MNIST_SYSTEM_DIR) reads the full 60,000 / 10,000.
    Returns a dict:
        X_train: (N_train, 1, 28, 28) float64 in [0, 1];  y_train: (N_train,) int64 in [0, 10)
        X_test:  (N_test, 1, 28, 28) float64 in [0, 1];   y_test:  (N_test,) int64 in [0, 10)
        class_names: tuple of 10 str, class_names[k] names label k.
    """
    if idx_dir is None:
        raw = _read_npz(FASHION_MNIST_SUBSET_FILE)
        class_names = tuple(str(name) for name in raw["class_names"])
    else:
        raw = read_fashion_mnist_idx(idx_dir)
        class_names = FASHION_MNIST_CLASS_NAMES
    return {
        "X_train": _as_course_images(raw["X_train"], 255.0),
        "y_train": raw["y_train"].astype(np.int64),
        "X_test": _as_course_images(raw["X_test"], 255.0),
        "y_test": raw["y_test"].astype(np.int64),
        "class_names": class_names,
    }


def load_digits():
    """The 8x8 UCI handwritten digits (scikit-learn's bundled copy), shipped in data/.

    Returns X, y:
        X: (1797, 1, 8, 8) float64 in [0, 1] (the stored counts 0..16 divided by 16)
        y: (1797,) int64, the digit 0..9 each image shows.
    """
    raw = _read_npz(DIGITS_FILE)
    return _as_course_images(raw["images"], 16.0), raw["labels"].astype(np.int64)


def train_val_split(X, y, num_val, seed=0):
    """Deterministic random split of (X, y) into a training and a validation part.

    X: (N, ...) samples;  y: (N,) labels;  num_val: validation size, 1 <= num_val < N.
    seed: the same seed always gives the same split. Inputs are not modified.
    Returns X_train (N - num_val, ...), y_train (N - num_val,), X_val (num_val, ...), y_val (num_val,).
    """
    require_array("X", X)
    require_array("y", y)
    num_samples = X.shape[0] if X.ndim else 0
    if y.shape != (num_samples,):
        raise ValueError(f"y must have shape ({num_samples},) to match X, got shape {y.shape}")
    require_positive_int("num_val", num_val)
    if num_val >= num_samples:
        raise ValueError(f"num_val must be smaller than N = {num_samples}, got {num_val}")
    order = np.random.default_rng(seed).permutation(num_samples)
    val, train = order[:num_val], order[num_val:]
    return X[train], y[train], X[val], y[val]


def _interpolation_matrix(size_in, size_out, method):
    """Matrix A of shape (size_out, size_in) such that A @ signal resamples a 1-D signal.

    Pixel centres are aligned (the "half-pixel" convention): output pixel i samples the
    input at coordinate (i + 0.5) * size_in / size_out - 0.5, so the image keeps its
    extent instead of shifting towards the top-left corner.
    bilinear: linear blend of the two nearest input pixels, coordinates clamped to the edge.
    nearest: the input pixel whose cell contains that output centre.
    """
    scale = size_in / size_out
    centres = (np.arange(size_out) + 0.5) * scale
    matrix = np.zeros((size_out, size_in))
    rows = np.arange(size_out)
    if method == "nearest":
        matrix[rows, np.minimum(np.floor(centres).astype(np.int64), size_in - 1)] = 1.0
        return matrix
    coords = np.clip(centres - 0.5, 0.0, size_in - 1)
    left = np.floor(coords).astype(np.int64)
    right = np.minimum(left + 1, size_in - 1)
    frac = coords - left
    # np.add.at because left == right at the clamped border, where both weights add to 1.
    np.add.at(matrix, (rows, left), 1.0 - frac)
    np.add.at(matrix, (rows, right), frac)
    return matrix


def resize_images(X, height, width, method="bilinear"):
    """Resample every image of a batch to (height, width), e.g. the 8x8 digits to 28x28.

    X: (N, C, H, W) images;  height, width: output size H_out, W_out.
    method: "bilinear" (smooth; values stay within the input's range) or "nearest"
        (blocky copies of input pixels). Both use aligned pixel centres: output pixel i
        samples input coordinate (i + 0.5) * H / H_out - 0.5 (clamped at the border).
    Returns (N, C, H_out, W_out) float64; X is not modified.
    """
    require_ndim("X", X, ("N", "C", "H", "W"))
    require_positive_int("height", height)
    require_positive_int("width", width)
    if method not in ("bilinear", "nearest"):
        raise ValueError(f"method must be 'bilinear' or 'nearest', got {method!r}")
    rows = _interpolation_matrix(X.shape[2], height, method)
    cols = _interpolation_matrix(X.shape[3], width, method)
    # Separable resampling: rows (H_out, H) on the left, cols (W_out, W) on the right.
    return np.einsum("ph,nchw,qw->ncpq", rows, X.astype(np.float64), cols, optimize=True)
