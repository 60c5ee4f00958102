"""``+tracking=mlflow``: runs and grids logged to a local MLflow store, read back through MLflow's client."""
import pytest

from src.run import run
from tests.conftest import compose_config

mlflow = pytest.importorskip("mlflow", reason="the tracking extra is not installed (pip install -e '.[tracking]')")
from mlflow.tracking import MlflowClient  # noqa: E402

from src.reporting.write.tracking import store_uri  # noqa: E402


def runs_of(store):
    client = MlflowClient(tracking_uri=store_uri(store))
    experiment = client.get_experiment_by_name("activation-bench")
    return client, client.search_runs([experiment.experiment_id], max_results=1000)


def artifact_names(client, run_id):
    return {a.path for a in client.list_artifacts(run_id)}


@pytest.mark.slow
def test_a_grid_is_a_parent_run_with_a_nested_run_per_fit(tmp_path):
    cfg = compose_config(["+tracking=mlflow", "mode=grid", "grid=notebook", "cv.n_jobs=1", "data.subset=400",
                          "cv.refit=false"])
    run(cfg, tmp_path)
    client, runs = runs_of(tmp_path)
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    assert len(parents) == 1
    parent = parents[0]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert len(children) == 3 * 3 and len(runs) == 10  # 3 candidates x 3 folds, nothing else
    assert parent.data.params["model.hidden"] == "[128, 64]" and parent.data.params["mode"] == "grid"
    assert parent.data.metrics["best_accuracy_mean"] > 0
    assert {"summary.csv", "summary.md", "hiplot.html", "report.html", "stats.json"} <= artifact_names(
        client, parent.info.run_id)
    assert sorted({c.data.params["activation"] for c in children}) == ["leaky_relu", "relu", "tanh"]
    assert sorted(c.data.params["split"] for c in children if c.data.params["activation"] == "relu") == ["0", "1", "2"]
    child = children[0]
    steps = [m.step for m in client.get_metric_history(child.info.run_id, "valid_acc")]
    assert sorted(steps) == [1, 2]  # one value per epoch
    assert len(client.get_metric_history(child.info.run_id, "layer1_dead")) == 2
    assert 0 <= child.data.metrics["test_accuracy"] <= 1


def test_a_single_run_is_one_run_with_its_history_and_files(tmp_path, caplog):
    caplog.set_level("INFO")
    store = tmp_path / "store"
    cfg = compose_config(["+tracking=mlflow", f"tracking.dir={store}", "tracking.experiment=activation-bench",
                          "data.subset=400"])
    run(cfg, tmp_path / "run")
    client, runs = runs_of(store)
    assert len(runs) == 1
    only = runs[0]
    assert only.data.params["activation"] == "relu" and only.data.tags["kind"] == "single"
    losses = client.get_metric_history(only.info.run_id, "train_loss")
    assert sorted(m.step for m in losses) == [1, 2] and all(m.value > 0 for m in losses)
    assert only.data.metrics["test_accuracy"] > 0
    assert {"metrics.json", "history.csv", "history.html", "report.html"} <= artifact_names(client, only.info.run_id)
    assert f"mlflow: 1 run logged to {store} (experiment activation-bench)" in caplog.messages
    # run again in the same dir (a resumed grid, a rerun): its runs replace the earlier ones, never add to them
    other = tmp_path / "other"
    run(compose_config(["+tracking=mlflow", f"tracking.dir={store}", "data.subset=400", "activation=tanh"]), other)
    run(cfg, tmp_path / "run")
    client, runs = runs_of(store)
    assert sorted(r.data.params["activation"] for r in runs) == ["relu", "tanh"]
    assert only.info.run_id not in {r.info.run_id for r in runs}
    assert f"mlflow: 1 earlier run of {tmp_path / 'run'} deleted from the store: logged again below" in caplog.messages


def test_an_unknown_tracker_is_refused_by_the_schema(make_cfg):
    from src.config.schema import check
    from src.errors import UserError

    cfg = make_cfg(["+tracking=mlflow"])
    cfg.tracking.name = "wandb"
    with pytest.raises(UserError, match="tracking.name.*mlflow"):
        check(cfg)
