"""Rows views: scikit-learn's splits of the training matrix, never copied out of it."""
import sys

import numpy as np
import pytest
import torch
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.utils import _safe_indexing

from src.data.rows import Rows
from src.training.fit_records import data_fingerprint
from src.training.loader import TensorLoader
from src.training.net import make_net
from src.training.settings import NetSettings


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(240, 12)).astype(np.float32), np.arange(240) % 3


def test_rows_index_like_the_array_they_view(data):
    X, _ = data
    rows = _safe_indexing(Rows(X), np.array([5, 3, 200, 3]))  # as GridSearchCV splits its input
    assert isinstance(rows, Rows) and rows.shape == (4, 12) and rows.dtype == np.float32
    np.testing.assert_array_equal(np.asarray(rows), X[[5, 3, 200, 3]])
    np.testing.assert_array_equal(np.asarray(rows[1:3]), X[[3, 200]])
    np.testing.assert_array_equal(np.asarray(rows[np.array([True, False, False, True])]), X[[5, 3]])
    np.testing.assert_array_equal(rows[2], X[200])
    np.testing.assert_array_equal(rows[:, 4], X[[5, 3, 200, 3], 4])
    assert sys.getsizeof(Rows(X)) > X.nbytes  # large enough for Dask to scatter it once, not copy it per task
    with pytest.raises(TypeError, match="integers"):
        Rows(X, np.array([0.5]))


def test_a_fingerprint_of_a_view_is_that_of_its_rows(data):
    X, y = data
    idx = np.arange(7, 240, 2)
    assert data_fingerprint(Rows(X)[idx], y[idx]) == data_fingerprint(X[idx], y[idx])
    assert data_fingerprint(Rows(X)[idx], y[idx], np.arange(3, 50)) == data_fingerprint(X[idx][3:50], y[idx][3:50])
    assert data_fingerprint(Rows(X)[idx[1:]], y[idx[1:]]) != data_fingerprint(X[idx], y[idx])


def test_batches_are_gathered_from_the_shared_matrix(data):
    X, y = data
    net = make_net(12, 3, NetSettings.of(hidden=[8], epochs=1, verbose=0))
    loader = TensorLoader(net.get_dataset(Rows(X)[np.arange(100, 200)], y[100:200]), batch_size=32)
    assert loader.X.data_ptr() == X.ctypes.data  # the matrix itself, not a copy of the rows
    batches = list(loader)
    assert [len(xb) for xb, _ in batches] == [32, 32, 32, 4]
    np.testing.assert_array_equal(torch.cat([xb for xb, _ in batches]).numpy(), X[100:200])
    np.testing.assert_array_equal(torch.cat([yb for _, yb in batches]).numpy(), y[100:200])


def test_a_search_over_a_view_matches_one_over_the_array(data):
    X, y = data
    results = []
    for inputs in (X, Rows(X)):
        net = make_net(12, 3, NetSettings.of(hidden=[8], epochs=2, verbose=0, threads=1))
        search = GridSearchCV(net, {"module__activation": ["relu", "tanh"]}, cv=StratifiedKFold(3), refit=False,
                              scoring=["accuracy", "neg_log_loss"])
        results.append(search.fit(inputs, y).cv_results_)
    # the same kernels on the same values, but the batches sit in different buffers (a slice of
    # the array, a gathered copy), and a BLAS may round differently by alignment: 1e-6 relative
    # is a few float32 roundings of the log loss
    for key in ("mean_test_accuracy", "mean_test_neg_log_loss", "split1_test_neg_log_loss"):
        np.testing.assert_allclose(results[0][key], results[1][key], rtol=1e-6, err_msg=key)
