"""The claims experiments: their settings, and a one-epoch run on digits ending in a verdict line."""
import html
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from src import validate as config
from src.reporting.compute import grid_tables as tables
from src.reporting.compute import claims
from src.reporting.read.study import load

ROOT = Path(__file__).resolve().parent.parent
CLAIMS = {
    "claims_ranking": ["selu", "elu", "leaky_relu", "relu", "tanh", "sigmoid"],
    "elu_paper": ["elu", "leaky_relu", "relu"],
    "gelu_paper": ["gelu", "elu", "relu"],
    "snn_tutorial": ["selu", "relu"],
}


@pytest.mark.parametrize("name", sorted(CLAIMS))
def test_claim_experiment_composes_with_a_claim_matching_its_grid(make_cfg, name):
    cfg = make_cfg([f"experiment={name}"], shrink=False)
    net, data_kwargs, mode_kwargs = config.validate(cfg)
    search = mode_kwargs["search"]
    assert cfg.mode == "grid" and list(cfg.claim) == CLAIMS[name]
    assert data_kwargs["name"] == "mnist" and data_kwargs["subset"] is None  # reduced: full MNIST,
    assert net.training.epochs <= 10  # fewer epochs
    assert search.repeats >= 2
    grid_names = {label.split("(")[0] for label in search.grid.config["activation"]}
    assert set(CLAIMS[name]) == grid_names
    readme = (ROOT / "experiments" / "README.md").read_text()
    assert f"`{name}`" in readme and f"experiment={name}" in readme


def test_paper_settings(make_cfg):
    elu = config.validate(make_cfg(["experiment=elu_paper"], shrink=False))[0]
    assert elu.network.hidden == [128] * 8 and elu.training.batch_size == 64 and elu.optimization.lr == 0.01
    assert elu.optimization.optimizer_kwargs["momentum"] == 0 and elu.network.init == "kaiming_normal"
    gelu = config.validate(make_cfg(["experiment=gelu_paper"], shrink=False))[0]
    assert gelu.network.hidden == [128] * 8 and gelu.training.batch_size == 128
    assert gelu.optimization.optimizer.__name__ == "Adam"
    snn, snn_data, _ = config.validate(make_cfg(["experiment=snn_tutorial"], shrink=False))
    assert snn.network.hidden == [512, 256] and snn.network.dropout == 0.05 and snn.optimization.lr == 0.001
    assert snn.optimization.optimizer_kwargs["momentum"] == 0 and snn.training.batch_size == 128
    assert snn.network.init == "auto"
    assert snn_data["standardize"] in ("global", "per_pixel")
    ranking = config.validate(make_cfg(["experiment=claims_ranking"], shrink=False))[0]
    assert len(ranking.network.hidden) >= 6 and ranking.network.init == "auto"


@pytest.mark.slow
@pytest.mark.long
@pytest.mark.parametrize("name", sorted(CLAIMS))
def test_claim_experiment_runs_and_prints_its_verdict(cli, tmp_path, name):
    done = cli([f"experiment={name}", "data=digits", "data.subset=null", "train.epochs=1", "cv.n_jobs=1",
                "cv.folds=2", "cv.repeats=1", "cv.refit=false", "train.verbose=0", "train.threads=1",
                f"hydra.run.dir={tmp_path}"])
    assert done.returncode == 0, done.stderr[-2000:]
    claim = "claim " + " > ".join(n.upper() for n in CLAIMS[name])
    line = next(line for line in done.stdout.splitlines() if line.startswith(claim))
    outcome = line[len(claim) + 2:].split(" (", 1)[0]
    assert outcome in claims.OUTCOMES
    assert line in (tmp_path / "summary.md").read_text()
    found = json.loads((tmp_path / "stats.json").read_text())["claim"]
    assert found["text"] == line  # the printed verdict is the recorded one
    n = len(CLAIMS[name])
    assert found["order"] == CLAIMS[name] and len(found["pairs"]) == n * (n - 1) // 2
    assert all(pair["status"] != "missing" for pair in found["pairs"])
    assert html.escape(found["text"]) in (tmp_path / "report.html").read_text()


def _folds(means, splits=6, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame([{"label": label, "split": s, "n_train": 900, "n_test": 100,
                          "test_accuracy": mean + rng.normal(0, 0.002)}
                         for label, mean in means.items() for s in range(splits)])


def test_claim_verdict_from_grid_statistics():
    folds = _folds({"selu": 0.95, "relu": 0.90, "sigmoid": 0.60})
    summary = pd.DataFrame({"label": ["selu", "relu", "sigmoid"], "accuracy_mean": [0.95, 0.90, 0.60]})
    table, result = tables.grid_statistics(folds, summary, claim=["relu", "selu", "sigmoid"])
    assert result["claim"]["text"].startswith("claim RELU > SELU > SIGMOID: contradicted")
    assert [p["status"] for p in result["claim"]["pairs"]] == ["reversed", "holds", "holds"]
    assert result["verdict"][0].startswith("selu has the highest mean cross-validated accuracy")


def test_grid_statistics_name_a_candidate_at_chance_from_the_number_of_classes():
    folds = _folds({"selu": 0.95, "sigmoid": 0.10})
    summary = pd.DataFrame({"label": ["selu", "sigmoid"], "accuracy_mean": [0.95, 0.10]})
    table, result = tables.grid_statistics(folds, summary, n_classes=10)
    assert result["chance"] == 0.1 and result["at_chance"] == ["sigmoid"]
    assert any(line.startswith("sigmoid is not shown to do better than guessing") for line in result["verdict"])
    assert tables.grid_statistics(folds, summary, n_classes=2)[1]["at_chance"] == ["sigmoid"]  # below 0.5 too
    assert tables.grid_statistics(folds, summary)[1]["at_chance"] == []


def test_a_failed_candidate_is_left_out_of_the_statistics():
    folds = _folds({"selu": 0.95, "relu": 0.90})
    folds.loc[(folds.label == "relu") & (folds.split == 0), "test_accuracy"] = np.nan
    summary = pd.DataFrame({"label": ["selu", "relu"], "accuracy_mean": [0.95, np.nan]})
    table = tables.grid_statistics(folds, summary)[0].set_index("label")
    assert table.loc["relu", "n_splits"] == 0 and not table.loc["relu", "separated_from_best"]
    assert "no score" in table.loc["relu", "note"]


def test_claim_is_read_from_search_json_or_the_hydra_config(tmp_path):
    def claim(search=None):
        if search is not None:
            (tmp_path / "search.json").write_text(json.dumps({"swept": [], "splits": [], **search}))
        return load(tmp_path).claim

    assert claim({"claim": ["selu", "relu"]}) == ["selu", "relu"]
    assert claim({}) is None
    (tmp_path / ".hydra").mkdir()
    (tmp_path / ".hydra" / "config.yaml").write_text("claim: selu > elu >relu\n")
    assert claim({}) == ["selu", "elu", "relu"]
    assert claim({"claim": ["gelu", "relu"]}) == ["gelu", "relu"]
