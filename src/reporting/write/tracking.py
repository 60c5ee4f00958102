"""``+tracking=mlflow``: a finished run or grid, logged to a local MLflow store.

MLflow's own SQLite backend (``mlflow.db``) and artifact folder (``mlartifacts/``) sit in
the run dir, or at a sweep's root so that every job of the sweep lands in one store; no
server is needed (``mlflow ui --backend-store-uri sqlite:///PATH/mlflow.db`` shows them). A
single run is one MLflow run: the config as parameters, the history's columns as per-epoch
metrics (step = epoch), the test scores, and its files as artifacts. A grid is a parent run
(the config, the best mean accuracy, the summary, HiPlot pages, report and statistics as
artifacts) with one nested run per fit of a candidate on a split: its parameters, split,
scores and per-epoch history, read from the grid's fit records. Everything is read from the
files the run wrote; nothing is trained. MLflow is an optional extra (``pip install -e
'.[tracking]'``).
"""
import logging
import math
import time
from pathlib import Path

from ... import layout
from ...errors import UserError
from ...words import counted
from ..read.study import load

log = logging.getLogger(__name__)

PARAM_LIMIT = 500  # MLflow's longest parameter value is longer; labels and lists stay well below this
BATCH = 100        # parameters per log_batch call (MLflow's limit)


def _mlflow():
    try:
        import mlflow  # noqa: F401
        from mlflow.entities import Metric, Param, RunTag
        from mlflow.tracking import MlflowClient
    except ImportError:
        raise UserError("tracking=mlflow needs MLflow: pip install -e '.[tracking]'") from None
    return MlflowClient, Metric, Param, RunTag


def store_uri(store_dir):
    """The tracking URI of the SQLite store in ``store_dir``."""
    return f"sqlite:///{(Path(store_dir) / layout.MLFLOW_DB).resolve()}"


def _numbers(mapping):
    """The finite numeric values of a mapping, as floats."""
    out = {}
    for key, value in mapping.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        if math.isfinite(value):
            out[str(key)] = float(value)
    return out


class _Logger:
    """Logs runs into one experiment of one store through MLflow's client API."""

    def __init__(self, store_dir, experiment):
        client_cls, self.Metric, self.Param, self.RunTag = _mlflow()
        store_dir = Path(store_dir)
        store_dir.mkdir(parents=True, exist_ok=True)
        self.client = client_cls(tracking_uri=store_uri(store_dir))
        found = self.client.get_experiment_by_name(experiment)
        self.experiment_id = found.experiment_id if found else self.client.create_experiment(
            experiment, artifact_location=(store_dir / layout.MLFLOW_ARTIFACTS).resolve().as_uri())

    def replace(self, folder):
        """Delete the runs logged before from ``folder`` (a run or grid logged again: resumed, rerun),
        so that the store holds one set of runs per result dir; return how many."""
        folder = str(folder)
        query = f"tags.dir = '{folder}'" if "'" not in folder else ""
        earlier, token = [], None
        while True:
            page = self.client.search_runs([self.experiment_id], filter_string=query, max_results=1000,
                                           page_token=token)
            earlier += [run.info.run_id for run in page if run.data.tags.get("dir") == folder]
            token = page.token
            if not token:
                break
        for run_id in earlier:
            self.client.delete_run(run_id)
        return len(earlier)

    def start(self, name, tags=None, parent=None):
        tags = dict(tags or {})
        if parent is not None:
            tags["mlflow.parentRunId"] = parent  # how MLflow marks a nested run
        return self.client.create_run(self.experiment_id, run_name=name, tags=tags).info.run_id

    def params(self, run_id, params):
        items = [self.Param(str(k), str(v)[:PARAM_LIMIT]) for k, v in params.items()]
        for i in range(0, len(items), BATCH):
            self.client.log_batch(run_id, params=items[i:i + BATCH])

    def metrics(self, run_id, values, step=0):
        now = int(time.time() * 1000)
        items = [self.Metric(k, v, now, step) for k, v in _numbers(values).items()]
        for i in range(0, len(items), 1000):
            self.client.log_batch(run_id, metrics=items[i:i + 1000])

    def history(self, run_id, rows):
        """Per-epoch metrics: every numeric column of each epoch's row, at step = epoch."""
        for i, row in enumerate(rows):
            step = int(row.get("epoch", i + 1))
            self.metrics(run_id, {k: v for k, v in row.items() if k != "epoch"}, step=step)

    def artifacts(self, run_id, folder, names):
        for name in names:
            if (Path(folder) / name).exists():
                self.client.log_artifact(run_id, str(Path(folder) / name))

    def finish(self, run_id, status="FINISHED"):
        self.client.set_terminated(run_id, status)


def _single(logger, study, params, tags):
    out_dir, metrics = study.path, study.metrics or {}
    run_id = logger.start(f"{metrics.get('activation', 'run')} ({out_dir.name})", tags)
    logger.params(run_id, params)
    history = study.need("history")
    logger.history(run_id, history.to_dict("records"))
    logger.metrics(run_id, metrics, step=len(history))
    logger.artifacts(run_id, out_dir, [layout.METRICS, layout.HISTORY, layout.HISTORY_PAGE, layout.REPORT])
    logger.finish(run_id)
    return [run_id]


def _grid(logger, study, params, tags):
    out_dir, search = study.path, study.need("search")
    summary, folds = study.need("summary"), study.need("folds")
    parent = logger.start(f"grid ({out_dir.name})", tags)
    logger.params(parent, params)
    best = summary.iloc[0]
    logger.metrics(parent, {"best_accuracy_mean": best.get("accuracy_mean"),
                            "refit_test_accuracy": (search.refit or {}).get("test_accuracy"),
                            "search_seconds": search.search_seconds})
    run_ids = [parent]
    swept = [c for c in folds.columns if c in set(summary.columns) - {"label", "status", "error"}
             and c not in ("rank",) and not c.endswith(("_mean", "_std"))]
    for row in folds.to_dict("records"):
        child = logger.start(f"{row['label']} split {row['split']}", {**tags, "candidate": str(row["label"])},
                             parent=parent)
        record = study.record(row.get("fit"))
        logger.params(child, {**{k: row[k] for k in swept if k in row}, "label": row["label"],
                              "split": row["split"], "repeat": row["repeat"], "fold": row["fold"]})
        history = (record or {}).get("history", [])
        logger.history(child, history)
        logger.metrics(child, {k: row[k] for k in ("test_accuracy", "test_balanced_accuracy", "test_log_loss",
                                                   "fit_time")}, step=len(history))
        logger.finish(child, "FINISHED" if row.get("status") == "ok" else "FAILED")
        run_ids.append(child)
    logger.artifacts(parent, out_dir, [layout.SUMMARY, layout.SUMMARY_MD, layout.HIPLOT, layout.HIPLOT_FOLDS,
                                       layout.REPORT, layout.STATS, layout.CURVES])
    logger.finish(parent)
    return run_ids


LOGGERS = {"single": _single, "grid": _grid}


def log_mlflow(out_dir, store_dir, experiment, params, tags=None):
    """Log the run or grid in ``out_dir`` to the MLflow store in ``store_dir``.

    Parameters
    ----------
    out_dir : Path
        A finished run or grid dir. Runs logged from it before are deleted first (MLflow keeps
        them as deleted runs until ``mlflow gc``).
    store_dir : Path
        Where ``mlflow.db`` and ``mlartifacts/`` are (created when missing).
    experiment : str
        The MLflow experiment's name (created when missing).
    params : dict
        The config, flattened to dotted keys.
    tags : dict, optional

    Returns
    -------
    list of str
        The MLflow run ids, the top-level run first.
    """
    out_dir = Path(out_dir)
    kind = layout.kind_of(out_dir)
    logger = _Logger(store_dir, experiment)
    replaced = logger.replace(out_dir.resolve())
    if replaced:
        log.info(f"mlflow: {counted(replaced, 'earlier run')} of {out_dir} deleted from the store: logged again below")
    return LOGGERS[kind](logger, load(out_dir, kind), params, {"dir": str(out_dir.resolve()), "kind": kind,
                                                                **(tags or {})})


TRACKERS = {"mlflow": log_mlflow}


def track(out_dir, name, experiment, store_dir, config):
    """Log a finished run or grid to the tracker ``name`` (``+tracking=mlflow``).

    The store goes to ``store_dir``; when None, the run dir, or the sweep's root for a job of
    a sweep, so that every job of a sweep lands in one store. ``config`` (the run's config as
    plain data) becomes the run's parameters, flattened to dotted keys.
    """
    out_dir = Path(out_dir)
    store = Path(store_dir) if store_dir else (out_dir.parent if layout.kind_of(out_dir.parent) == "sweep" else out_dir)
    params = {k: v for k, v in _flat(config).items() if not k.startswith(("hydra.", "tracking."))}
    ids = TRACKERS[name](out_dir, store, experiment, params)
    log.info(f"{name}: {counted(len(ids), 'run')} logged to {store} (experiment {experiment})")
    return ids


def _flat(node, prefix=""):
    """A nested config as ``{"model.hidden": [128, 64], ...}``."""
    if isinstance(node, dict):
        return {k: v for key, value in node.items() for k, v in _flat(value, f"{prefix}{key}.").items()}
    return {prefix[:-1]: node}
