"""Datasets as in-memory arrays: MNIST, Fashion-MNIST and scikit-learn's 8x8 digits.

Everything is loaded once into numpy arrays (float32 features, int64 labels). They stay numpy
so that joblib can memory-map them into worker processes instead of copying them per fit;
the network turns them into tensors without copying. (Scaling and standardizing run as
torch operations on the same memory.)
"""
import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from sklearn.model_selection import train_test_split

from ..errors import UserError, choices_error
from .mnist import ensure_raw, read_idx


@dataclass
class Dataset:
    """Train and test arrays of one dataset, preprocessed.

    Attributes
    ----------
    name : str
    X_train, X_test : ndarray of float32, shape (n, n_features)
        One flat row per image.
    y_train, y_test : ndarray of int64
    image_shape : tuple of int
        ``(channels, height, width)`` of an image, whose flat row (C order) has ``n_features`` values.
    """

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    image_shape: tuple = None

    @property
    def n_features(self):
        return self.X_train.shape[1]

    @property
    def n_classes(self):
        return int(max(self.y_train.max(), self.y_test.max())) + 1


def _idx_dataset(folder):
    def load(root, download):
        raw = ensure_raw(folder, root, download=download)
        images = {split: read_idx(raw / f"{split}-images-idx3-ubyte") for split in ("train", "t10k")}
        labels = {split: read_idx(raw / f"{split}-labels-idx1-ubyte") for split in ("train", "t10k")}
        return (images["train"].reshape(len(images["train"]), -1), labels["train"],
                images["t10k"].reshape(len(images["t10k"]), -1), labels["t10k"], 255.0)
    return load


def _digits(root, download):
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)
    return X_train, y_train, X_test, y_test, 16.0


@dataclass(frozen=True)
class Source:
    """Where a data set comes from, and the shape of its images.

    Attributes
    ----------
    load : callable
        ``load(root, download)`` -> ``(X_train, y_train, X_test, y_test, scale)``, one flat row per image.
    image_shape : tuple of int
        ``(channels, height, width)``: how a convolutional network reads a row.
    """

    load: Callable
    image_shape: tuple


LOADERS = {
    "mnist": Source(_idx_dataset("MNIST"), (1, 28, 28)),
    "fashion_mnist": Source(_idx_dataset("FashionMNIST"), (1, 28, 28)),
    "digits": Source(_digits, (1, 8, 8)),
}


def image_shape(name):
    """The ``(channels, height, width)`` of the images of the data set ``name``."""
    if name not in LOADERS:
        raise choices_error("dataset", name, LOADERS)
    return LOADERS[name].image_shape


# Standardizers work in place on float32 tensors (torch's kernels use every core; numpy's
# would take several times as long on MNIST's 47 million pixels).
def _standardize_global(X_train, X_test):
    mean, std = X_train.mean(), X_train.std(correction=0)
    return X_train.sub_(mean).div_(std), X_test.sub_(mean).div_(std)


def _standardize_per_pixel(X_train, X_test):
    mean, std = X_train.mean(dim=0), X_train.std(dim=0, correction=0)
    std[std == 0] = 1.0
    return X_train.sub_(mean).div_(std), X_test.sub_(mean).div_(std)


STANDARDIZERS = {
    "global": _standardize_global,
    "per_pixel": _standardize_per_pixel,
    "none": lambda X_train, X_test: (X_train, X_test),
}


def stratified_subset(X, y, n, seed):
    """Return a stratified random subset of ``n`` rows of ``(X, y)``."""
    n_classes = len(np.unique(y))
    if not n_classes <= n <= len(y):
        raise UserError(f"data.subset={n} must be between the number of classes ({n_classes}) "
                        f"and the training set size ({len(y)})")
    if n == len(y):
        return X, y
    X_sub, _, y_sub, _ = train_test_split(X, y, train_size=n, stratify=y, random_state=seed)
    return X_sub, y_sub


def load(name, root="data", subset=None, standardize="global", seed=0, download=True):
    """Load a dataset into memory, scaled to [0, 1] and standardized with training statistics.

    Parameters
    ----------
    name : {"mnist", "fashion_mnist", "digits"}
    root : str
        Data root; MNIST lives in ``<root>/MNIST/raw`` (torchvision's layout).
    subset : int, optional
        Keep a stratified random subset of this many training images.
    standardize : {"global", "per_pixel", "none"}
        ``global`` uses one mean and std over all training pixels (as the origin notebook did);
        ``per_pixel`` one per feature. The statistics never see the test set.
    seed : int
        Seed of the subset draw.
    download : bool
        Try torchvision's download before the offline fallback.

    Returns
    -------
    Dataset
    """
    if name not in LOADERS:
        raise choices_error("dataset", name, LOADERS)
    if standardize not in STANDARDIZERS:
        raise choices_error("data.standardize", standardize, STANDARDIZERS)
    X_train, y_train, X_test, y_test, scale = LOADERS[name].load(root, download)
    if subset is not None:
        X_train, y_train = stratified_subset(X_train, y_train, int(subset), seed)
    X_train, X_test = STANDARDIZERS[standardize](_scaled(X_train, scale), _scaled(X_test, scale))
    return Dataset(name, X_train.numpy(), np.asarray(y_train, dtype=np.int64),
                   X_test.numpy(), np.asarray(y_test, dtype=np.int64), LOADERS[name].image_shape)


def _scaled(X, scale):
    """``X / scale`` as a new contiguous float32 tensor (``X`` itself is left alone)."""
    X = np.ascontiguousarray(X)
    with warnings.catch_warnings():  # a read-only array is only read here
        warnings.simplefilter("ignore", UserWarning)
        return torch.from_numpy(X).to(torch.float32, copy=True).div_(float(scale))
