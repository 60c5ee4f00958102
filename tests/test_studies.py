"""The studies that feed ``src.compare``: each multirun ends with the comparison at its sweep root."""
import html
import json

import pandas as pd
import pytest

from tests.conftest import MNIST_READY

pytestmark = [pytest.mark.slow, pytest.mark.long]

TINY = ["train.epochs=1", "train.verbose=0", "device=cpu", "cv.n_jobs=1", "grid.activation=[relu,tanh,selu]"]


def _study(cli, sweep, experiment, *overrides):
    """Run ``experiment`` as a tiny multirun into ``sweep``; its ``compare.json``."""
    done = cli(["-m", f"experiment={experiment}", *overrides, *TINY, f"hydra.sweep.dir={sweep}"])
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads((sweep / "compare.json").read_text())


def test_depth_study_compares_the_depths_and_draws_them(cli, tmp_path):
    sweep = tmp_path / "depth"
    stats = _study(cli, sweep, "depth_study", "data=digits", "data.subset=null", "model.hidden=[32,32],[32,32,32,32]")
    assert stats["studies"] == ["model.hidden=[32,32]", "model.hidden=[32]*4"]  # headings keep their width
    table = pd.read_csv(sweep / "compare.csv")
    assert sorted(table["activation"]) == ["relu", "selu", "tanh"] and table["step_cost"].notna().all()
    assert (table.set_index("activation").loc["relu", "step_cost"]) == pytest.approx(1.0)
    assert any("Too few studies" in line for line in stats["verdict"])
    # both depths trained on the same rows and splits: the verdict says they are not independent
    assert any(line.startswith("Studies model.hidden=[32,32], model.hidden=[32]*4 were trained on the same "
                               "rows and splits") for line in stats["verdict"])
    assert (sweep / "depth.png").stat().st_size > 10_000 and (sweep / "cd_diagram.png").exists()
    page = (sweep / "compare.html").read_text()
    assert 'id="depth"' in page and 'id="diagram"' in page
    report = (sweep / "report.html").read_text()  # the sweep's report shows the comparison's verdict, and links it
    assert 'id="across"' in report and '<a href="compare.html">' in report
    assert all(html.escape(line) in report for line in stats["verdict"])


@pytest.mark.skipif(not MNIST_READY, reason="MNIST is not prepared (make data)")
def test_datasets_study_compares_the_data_sets(cli, tmp_path):
    sweep = tmp_path / "datasets"
    stats = _study(cli, sweep, "datasets_study", "data=digits,mnist", "data.subset=300")
    assert stats["studies"] == ["data=digits", "data=mnist"]
    assert set(stats["ranks"]["data=mnist"]) == {"relu", "tanh", "selu"}
    assert (sweep / "compare.html").exists() and not (sweep / "depth.png").exists()
    assert not any("same rows and splits" in line for line in stats["verdict"])  # two data sets: independent


def test_architecture_study_asks_whether_the_ranking_transfers_between_the_networks(cli, tmp_path):
    sweep = tmp_path / "architecture"
    stats = _study(cli, sweep, "architecture_study", "data=digits", "data.subset=null")
    assert stats["studies"] == ["model=mlp", "model=cnn", "model=cnn_batchnorm"]
    pairs = stats["transfer"]
    assert [(p["first"], p["second"]) for p in pairs] == [("model=mlp", "model=cnn"),
                                                           ("model=mlp", "model=cnn_batchnorm"),
                                                           ("model=cnn", "model=cnn_batchnorm")]
    assert all(p["paired"] and p["n"] == 3 for p in pairs)  # one sweep: the same splits, resampled together
    assert stats["verdict"][-3:] == [p["sentence"] for p in pairs]
    assert 'id="transfer"' in (sweep / "compare.html").read_text()
    assert "with batch norm before each activation" in (sweep / "2" / "summary.md").read_text()
