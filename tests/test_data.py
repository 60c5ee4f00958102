"""Datasets in memory: preprocessing uses training statistics only; subsets are stratified."""
import numpy as np
import pytest

from src.data import datasets as data
from src.errors import UserError
from tests.conftest import DATA_ROOT, MNIST_READY


def test_digits_global_standardization_uses_train_statistics():
    ds = data.load("digits", standardize="global")
    assert ds.X_train.dtype == np.float32 and ds.y_train.dtype == np.int64
    assert ds.n_features == 64 and ds.n_classes == 10
    assert abs(ds.X_train.mean()) < 1e-5 and abs(ds.X_train.std() - 1) < 1e-4
    raw = data.load("digits", standardize="none")  # the test set is scaled with the training set's numbers
    np.testing.assert_allclose(ds.X_test, (raw.X_test - raw.X_train.mean()) / raw.X_train.std(), atol=1e-4)
    assert len(ds.y_train) + len(ds.y_test) == 1797


def test_per_pixel_standardization():
    ds = data.load("digits", standardize="per_pixel")
    varying = ds.X_train.std(axis=0) > 0
    np.testing.assert_allclose(ds.X_train.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(ds.X_train.std(axis=0)[varying], 1, atol=1e-4)


def test_scaling_without_standardization_is_unit_interval():
    ds = data.load("digits", standardize="none")
    assert ds.X_train.min() == 0 and ds.X_train.max() == 1


def test_subset_is_stratified_and_seeded():
    a = data.load("digits", subset=200, seed=1)
    b = data.load("digits", subset=200, seed=1)
    c = data.load("digits", subset=200, seed=2)
    assert len(a.y_train) == 200
    np.testing.assert_array_equal(a.y_train, b.y_train)
    assert not np.array_equal(a.X_train, c.X_train)
    counts = np.bincount(a.y_train)
    assert counts.max() - counts.min() <= 2


@pytest.mark.parametrize("subset", [5, 10 ** 6])
def test_bad_subsets_are_refused(subset):
    with pytest.raises(UserError, match="data.subset"):
        data.load("digits", subset=subset)


def test_unknown_dataset_lists_choices():
    with pytest.raises(UserError, match="digits, fashion_mnist, mnist"):
        data.load("cifar")


@pytest.mark.skipif(not MNIST_READY, reason="MNIST not prepared (run `make data`)")
def test_mnist_loads_whole_into_memory():
    ds = data.load("mnist", root=str(DATA_ROOT), subset=1000)
    assert ds.X_train.shape == (1000, 784) and ds.X_test.shape == (10000, 784)
    assert ds.X_train.flags["C_CONTIGUOUS"]
