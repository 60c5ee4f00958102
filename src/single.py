"""A single run: fit one network, score it on the test set, write its history, metrics and report."""
import time

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import log_loss

from .diagnostics import last_values
from .files import write_csv, write_json
from .hiplot_page import write_hiplot
from .net import make_net
from .report_page import write_single_report

HISTORY_COLUMNS = ["epoch", "train_loss", "valid_loss", "valid_acc", "dur", "lr"]


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


def run_single(dataset, net_kwargs, out_dir):
    """Train one network on ``dataset`` and write its results into ``out_dir``.

    Parameters
    ----------
    dataset : src.data.Dataset
    net_kwargs : dict
        Keyword arguments of `src.net.make_net` (without the data's shape).
    out_dir : Path
        Receives ``history.csv`` (with the per-epoch diagnostics of `src.diagnostics`),
        ``history.html``, ``metrics.json`` (with the last epoch's diagnostics),
        ``learning_curves.png``, the activation plots and ``report.html``.

    Returns
    -------
    float
        The validation accuracy of the last epoch (the objective of a hyperparameter sweep).
    """
    net = make_net(dataset.n_features, dataset.n_classes, **net_kwargs)
    start = time.perf_counter()
    net.fit(dataset.X_train, dataset.y_train)
    fit_seconds = time.perf_counter() - start
    history = history_frame(net)
    metrics = {
        "activation": net_kwargs["activation"],
        **test_scores(net, dataset.X_test, dataset.y_test),
        "valid_accuracy": float(history["valid_acc"].iloc[-1]) if "valid_acc" in history else None,
        "fit_seconds": round(fit_seconds, 3),
        "n_params": int(sum(p.numel() for p in net.module_.parameters())),
        "epochs": int(len(history)),
        "seed": net_kwargs["seed"],
        "dataset": dataset.name,
        "n_train": int(len(dataset.y_train)),
        "device": str(net.device),
        "init": net.module_.init_scheme,
        "threads": torch.get_num_threads(),
        "status": "ok",
        **last_values(history.to_dict("records")),
    }
    write_csv(out_dir / "history.csv", history)
    write_hiplot(history.to_dict("records"), out_dir / "history.html", order=HISTORY_COLUMNS,
                 color_by="valid_acc", title=f"history: {metrics['activation']}")
    write_json(out_dir / "metrics.json", metrics)
    report = write_single_report(out_dir)["report"]
    print(f"{metrics['activation']}: test accuracy {metrics['test_accuracy']:.4f}, "
          f"test loss {metrics['test_loss']:.4f}, {metrics['fit_seconds']:.1f}s; results in {out_dir}; "
          f"report: {report}")
    return metrics["valid_accuracy"]
