"""Seeds per split, several seeds per split (cv.inits), and the variance components they measure."""
import json

import numpy as np
import pandas as pd
import pytest

from src import layout
from src.modes.inits import merge_inits
from src.reporting.compute import variance
from src.run import run
from src.training import fit_records
from src.training.net import make_net
from src.training.settings import NetSettings
from src.training.seeds import fit_seed
from tests.conftest import compose_config

STUDY = ["mode=grid", "train.epochs=2", "cv.refit=false", "cv.n_jobs=1", "train.threads=1", "cv.repeats=2",
         "grid.activation=[relu,tanh]"]


@pytest.fixture(scope="module")
def studies(tmp_path_factory):
    """One digits grid at one seed per split and at two, stacked, and the two-seed one fit by fit."""
    root = tmp_path_factory.mktemp("seeds")
    for name, extra in {"one": [], "two": ["cv.inits=2"], "two_plain": ["cv.inits=2", "cv.batched=false"]}.items():
        run(compose_config([*STUDY, *extra]), root / name)
    return root


def test_each_split_has_its_own_seed_shared_by_its_candidates(studies):
    folds = pd.read_csv(studies / "one" / layout.FOLDS)
    per_split = folds.groupby("split")["seed"].nunique()
    assert (per_split == 1).all()  # every candidate of a split: the same seed, paired
    assert folds.drop_duplicates("split")["seed"].nunique() == 6  # and a seed of its own per split
    records = {row["fit"]: json.loads(layout.record_path(studies / "one" / "fits", row["fit"]).read_text())
               for _, row in folds.iterrows()}
    assert all(records[row["fit"]]["seed"] == row["seed"] for _, row in folds.iterrows())


def test_two_seeds_per_split_give_a_row_per_seed_and_variance_components(studies):
    folds = pd.read_csv(studies / "two" / layout.FOLDS)
    assert len(folds) == 2 * 6 * 2 and set(folds["init"]) == {0, 1}
    assert folds.groupby(["label", "split"]).size().eq(1).all()
    assert folds.groupby(["repeat", "fold", "init"])["seed"].nunique().eq(1).all()
    assert folds.drop_duplicates(["repeat", "fold", "init"])["seed"].nunique() == 12
    stats = json.loads((studies / "two" / layout.STATS).read_text())
    parts = stats["variance_components"]
    assert parts["inits"] == 2 and set(parts["pairs"][0]) >= {"split", "seed", "residual"}
    assert parts["sentence"] in stats["verdict"] and "comes mostly from" in parts["sentence"]
    assert stats["n_splits"] == 6  # the t-test's units are the splits, each the mean of its seeds
    one = json.loads((studies / "one" / layout.STATS).read_text())["variance_components"]
    assert one["pairs"] == [] and "not measured" in one["sentence"]


def test_the_seeds_of_a_split_train_as_folds_of_one_stack_as_fit_by_fit(studies):
    stacked = pd.read_csv(studies / "two" / layout.FOLDS).sort_values(["label", "split"])
    plain = pd.read_csv(studies / "two_plain" / layout.FOLDS).sort_values(["label", "split"])
    assert stacked["seed"].tolist() == plain["seed"].tolist() and stacked["fit"].tolist() == plain["fit"].tolist()
    np.testing.assert_allclose(stacked["test_accuracy"], plain["test_accuracy"], atol=0.005)
    records = [json.loads(p.read_text()) for p in (studies / "two" / "fits").glob("*.json")]
    assert len(records) == 24 and all(r.get("batched") == 24 for r in records)  # 2 candidates x 6 splits x 2 seeds


def test_the_seed_of_a_fit_depends_on_the_study_seed_the_split_and_the_init():
    assert fit_seed(7) == 7  # one seed for every fit: how studies were seeded before
    seeds = {fit_seed(seed, data, init) for seed in (0, 1) for data in ("ab12", "cd34") for init in (0, 1)}
    assert len(seeds) == 8 and all(0 <= s < 2 ** 31 for s in seeds)
    assert fit_seed(0, "ab12", 1) == fit_seed(0, "ab12", 1)


def test_a_fit_without_split_seeds_keeps_the_key_it_had():
    old = make_net(64, 10, NetSettings.of(split_seeds=False))
    assert "split_seeds" not in fit_records.fit_params(old) and "init_index" not in fit_records.fit_params(old)
    new = make_net(64, 10)
    assert fit_records.fit_params(new)["split_seeds"] is True
    assert fit_records.fit_key(old, None, None, "ab") != fit_records.fit_key(new, None, None, "ab")


def test_merge_inits_folds_each_candidates_inits_into_splits():
    params = [{"init_index": k, "module__activation": a} for k in (0, 1) for a in ("relu", "tanh")]
    acc = {(0, "relu"): [0.9, 0.8], (0, "tanh"): [0.7, 0.6], (1, "relu"): [0.5, 0.4], (1, "tanh"): [0.3, np.nan]}
    cv = {"params": params, "param_module__activation": np.ma.masked_array([p["module__activation"] for p in params]),
          "param_init_index": np.ma.masked_array([p["init_index"] for p in params]),
          **{key: np.ones(4) for key in ("mean_fit_time", "std_fit_time", "mean_score_time", "std_score_time")}}
    for s in range(2):
        cv[f"split{s}_test_accuracy"] = np.array([acc[p["init_index"], p["module__activation"]][s] for p in params])
    cv["mean_test_accuracy"] = np.zeros(4)
    merged = merge_inits(cv, 2)
    assert merged["params"] == [{"module__activation": "relu"}, {"module__activation": "tanh"}]
    assert "param_init_index" not in merged
    # split j = s * inits + k
    assert [merged[f"split{j}_test_accuracy"][0] for j in range(4)] == [0.9, 0.5, 0.8, 0.4]
    assert merged["mean_test_accuracy"][0] == pytest.approx(0.65) and np.isnan(merged["mean_test_accuracy"][1])
    assert merged["rank_test_accuracy"].tolist() == [1, 2]


def test_variance_components_recover_a_simulated_split_and_seed_spread():
    rng = np.random.default_rng(0)
    found = []
    for _ in range(40):
        rows = [{"split": s, "init": k, "d": a + rng.normal(0, 1.0)}
                for s, a in enumerate(rng.normal(0, 2.0, 12)) for k in range(4)]
        found.append(variance.decompose(pd.DataFrame(rows)))
    split = np.mean([f["split"] for f in found])
    within = np.mean([f["seed"] + f["residual"] for f in found])
    assert 3.0 < split < 5.0 and 0.8 < within < 1.2  # simulated: 4 and 1 squared points
    # all of the spread within splits: another seed halves it, another repeat barely helps
    within_only = variance.remedy({"split": 0.0, "seed": 0.0, "residual": 10.0}, 3, 3, 1, 0.625, 0.8, 3)
    assert within_only["what"] != "repeats" and within_only["narrower"] > 0.1
    # all of it between splits: more seeds cannot help
    assert variance.remedy({"split": 10.0, "seed": 0.0, "residual": 0.0}, 3, 3, 1, 0.625, 0.8, 3)["what"] != "seeds"
