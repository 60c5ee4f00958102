"""A single run: fit one network and score it on the test set."""
import time

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import log_loss

from ..columns import HISTORY_COLUMNS, last_values
from ..results import SingleResult
from ..training.cost import step_cost
from ..training.net import make_net


def history_frame(net):
    """Return a skorch history as a DataFrame with one row per epoch (known columns first)."""
    rows = [{k: v for k, v in epoch.items() if k != "batches" and not k.endswith(("_best", "_batch_count"))}
            for epoch in net.history]
    frame = pd.DataFrame(rows)
    first = [c for c in HISTORY_COLUMNS if c in frame.columns]
    return frame[first + [c for c in frame.columns if c not in first]]


def test_scores(net, X_test, y_test):
    """Return test accuracy and log loss of a fitted net."""
    proba = net.predict_proba(X_test)
    return {
        "test_accuracy": float(np.mean(proba.argmax(axis=1) == y_test)),
        "test_loss": float(log_loss(y_test, proba, labels=np.arange(proba.shape[1]))),
    }


def run_single(dataset, settings):
    """Train one network on ``dataset`` and score it on the test set.

    Parameters
    ----------
    dataset : src.data.datasets.Dataset
    settings : src.training.settings.NetSettings
        The network and its training.

    Returns
    -------
    src.results.SingleResult
        The history (with the per-epoch diagnostics of `src.training.diagnostics`) and the
        metrics; `src.reporting.writers.write_single` turns it into files.
    """
    activation = settings.network.activation
    cost = step_cost([activation], dataset.n_features, dataset.n_classes, settings.network,
                     settings.training.batch_size, settings.compute.device)
    net = make_net(dataset.n_features, dataset.n_classes, settings)
    start = time.perf_counter()
    net.fit(dataset.X_train, dataset.y_train)
    fit_seconds = time.perf_counter() - start
    history = history_frame(net)
    metrics = {
        "activation": activation,
        **test_scores(net, dataset.X_test, dataset.y_test),
        "valid_accuracy": float(history["valid_acc"].iloc[-1]) if "valid_acc" in history else None,
        "fit_seconds": round(fit_seconds, 3),
        "n_params": int(sum(p.numel() for p in net.module_.parameters())),
        "epochs": int(len(history)),
        "seed": settings.training.seed,
        "dataset": dataset.name,
        "n_train": int(len(dataset.y_train)),
        "device": str(net.device),
        "init": net.module_.init_scheme,
        "threads": torch.get_num_threads(),
        "status": "ok",
        "step_cost": round(cost["relative"][activation], 4),  # training step time / relu's
        **last_values(history.to_dict("records")),
    }
    return SingleResult(history=history, metrics=metrics)
