"""Batched folds give the same fold models as the plain path; records are reused."""
import numpy as np
import pandas as pd
import pytest

from src.batched import stackable
from src.net import make_net
from src.run import run

GRID = ["mode=grid", "cv.n_jobs=1", "train.epochs=4", "cv.refit=false", "train.threads=1"]


def test_batched_folds_agree_fold_for_fold_with_the_plain_path(make_cfg, tmp_path):
    folds = {}
    for batched in ("false", "true"):
        run(make_cfg(GRID + [f"cv.batched={batched}", "grid.activation=[relu,tanh,elu]"]), tmp_path / batched)
        folds[batched] = pd.read_csv(tmp_path / batched / "folds.csv").sort_values(["label", "split"])
    plain, stacked = folds["false"], folds["true"]
    assert len(plain) == len(stacked) == 9
    np.testing.assert_allclose(stacked["test_accuracy"], plain["test_accuracy"], atol=0.005)
    np.testing.assert_allclose(stacked["test_log_loss"], plain["test_log_loss"], rtol=1e-3)
    import json
    records = [json.loads(p.read_text()) for p in (tmp_path / "true" / "fits").glob("*.json")]
    assert len(records) == 9 and all(r.get("batched") == 3 for r in records)
    assert all(len(r["history"]) == 4 for r in records)


def test_batched_with_dropout_is_within_noise(make_cfg, tmp_path):
    means = {}
    for batched in ("false", "true"):
        run(make_cfg(GRID + ["train.epochs=8", f"cv.batched={batched}", "grid.activation=[relu]", "model.dropout=0.1"]),
            tmp_path / batched)
        means[batched] = pd.read_csv(tmp_path / batched / "summary.csv")["accuracy_mean"].iloc[0]
    assert abs(means["true"] - means["false"]) < 0.03


@pytest.mark.parametrize("activation, expected", [("relu", True), ("prelu", False), ("swish(learnable=True)", False)])
def test_learnable_activations_take_the_plain_path(activation, expected):
    assert stackable(make_net(64, 10, activation=activation)) is expected
    assert stackable(make_net(64, 10, activation=activation, early_stopping=3)) is False


def test_batched_folds_record_the_same_diagnostics_as_the_plain_path(make_cfg, tmp_path):
    import json

    histories = {}
    for batched in ("false", "true"):
        run(make_cfg(GRID + [f"cv.batched={batched}", "grid.activation=[tanh]"]), tmp_path / batched)
        records = sorted((json.loads(p.read_text()) for p in (tmp_path / batched / "fits").glob("*.json")),
                         key=lambda r: r["data"])
        histories[batched] = [pd.DataFrame(r["history"]) for r in records]
    assert len(histories["true"]) == len(histories["false"]) == 3
    for plain, stacked in zip(histories["false"], histories["true"]):
        for column in ("layer1_dead", "layer1_saturated", "layer2_mean", "layer2_std", "layer1_grad_norm",
                       "output_grad_norm"):
            assert column in stacked, column
            np.testing.assert_allclose(stacked[column], plain[column], rtol=0.05, atol=0.02, err_msg=column)


def test_folds_with_different_batch_counts_take_the_plain_path():
    from src.batched import same_batch_count

    net = make_net(4, 2, batch_size=10, valid_fraction=0.0)
    y = np.arange(40) % 2
    assert same_batch_count(net, y, [np.arange(20), np.arange(20, 40)])
    assert not same_batch_count(net, y, [np.arange(20), np.arange(19, 40)])  # 20 rows: 2 batches; 21 rows: 3


@pytest.mark.slow
def test_compiled_fits_record_diagnostics_and_reload_their_weights(tmp_path):
    """train.compile: the diagnostics see the layers, and a fit record reloads into the compiled module."""
    import torch

    X = np.random.default_rng(0).normal(size=(300, 16)).astype(np.float32)
    y = np.arange(300) % 3
    fitted = {}
    for activation in ("relu", "tanh"):
        net = make_net(16, 3, hidden=[8], activation=activation, epochs=2, verbose=0, compile=True, threads=1)
        net.set_params(record_dir=str(tmp_path))
        net.fit(X, y)
        history = pd.DataFrame(net.history.to_list())
        assert {"layer1_dead", "layer1_mean", "output_grad_norm"} <= set(history.columns)
        fitted[activation] = net
    again = make_net(16, 3, hidden=[8], activation="tanh", epochs=2, verbose=0, compile=True, threads=1)
    again.set_params(record_dir=str(tmp_path)).fit(X, y)  # found in the records: loaded, not trained
    with torch.no_grad():
        np.testing.assert_allclose(again.predict_proba(X), fitted["tanh"].predict_proba(X), rtol=1e-5)
