"""Same command, same numbers: every fit draws its random ops from its own generator."""
import numpy as np
import pandas as pd
import pytest
import torch
from torch.nn import functional as F

from src import layout
from src.model import randomness
from src.run import run
from src.training.net import make_net
from src.training.settings import NetSettings
from tests.conftest import compose_config


def test_alpha_dropout_is_torchs_formula():
    x = torch.randn(400, 30, generator=torch.Generator().manual_seed(0))
    torch.manual_seed(3)
    theirs = F.alpha_dropout(x, 0.3, training=True)
    a = (0.7 * (1 + 0.3 * randomness.ALPHA_PRIME ** 2)) ** -0.5
    dropped_value = -randomness.ALPHA_PRIME * a + randomness.ALPHA_PRIME * a * 0.3
    kept = (~torch.isclose(theirs, torch.full_like(theirs, dropped_value))).float()
    assert 0.6 < kept.mean() < 0.8
    torch.testing.assert_close(randomness.alpha_dropout(x, kept, 0.3), theirs)


def test_the_seeded_layers_compute_torchs_functions_and_draw_only_from_their_generator():
    x = torch.randn(2000, 20, generator=torch.Generator().manual_seed(0))
    dropout, rrelu = randomness.Dropout(0.25), randomness.RReLU(0.1, 0.3)
    for layer in (dropout, rrelu):
        layer.generator = torch.Generator().manual_seed(7)
    global_state = torch.get_rng_state()
    dropped = dropout(x)
    assert abs(float((dropped == 0).float().mean()) - 0.25) < 0.02
    torch.testing.assert_close(dropped[dropped != 0], x[dropped != 0] / 0.75)
    slopes = (rrelu(x) / x)[x < 0]
    assert 0.1 <= float(slopes.min()) and float(slopes.max()) <= 0.3 and slopes.std() > 0.03
    assert torch.equal(rrelu(x)[x >= 0], x[x >= 0])
    assert torch.equal(torch.get_rng_state(), global_state)  # torch's global stream untouched
    rrelu.eval(), dropout.eval()
    torch.testing.assert_close(rrelu(x), F.rrelu(x, 0.1, 0.3, training=False))
    assert torch.equal(dropout(x), x)


def _digits(n=600):
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return (X[:n] / 16).astype(np.float32), y[:n].astype(np.int64)


def test_a_fits_history_depends_on_its_seed_alone_not_on_torchs_global_generator(one_thread):
    X, y = _digits()

    def fit(global_seed):
        torch.manual_seed(global_seed)
        torch.rand(global_seed)  # the caller's stream, somewhere else
        before = torch.get_rng_state()
        settings = NetSettings.of(hidden=(32,), activation="rrelu", dropout=0.3, epochs=3, verbose=0)
        net = make_net(64, 10, settings).fit(X, y)
        assert torch.equal(torch.get_rng_state(), before)  # a fit neither reads nor reseeds the caller's stream
        return net.history[:, "valid_loss"]

    assert fit(1) == fit(2)
    settings = NetSettings.of(hidden=(32,), activation="rrelu", dropout=0.3, epochs=3, seed=1, verbose=0)
    other = make_net(64, 10, settings).fit(X, y)
    assert other.history[:, "valid_loss"] != fit(1)


@pytest.mark.parametrize("batched", ["false", "true"])
def test_two_identical_grids_with_dropout_and_rrelu_in_two_threads_give_the_same_split_scores(batched, tmp_path):
    overrides = ["mode=grid", "train.epochs=4", "cv.refit=false", "cv.n_jobs=2", "train.threads=1",
                 "model.dropout=0.3", "grid.activation=[relu,rrelu]", f"cv.batched={batched}"]
    for name in ("first", "second"):
        run(compose_config(overrides), tmp_path / name)
    first, second = (pd.read_csv(tmp_path / name / layout.FOLDS) for name in ("first", "second"))
    assert len(first) == 6 and (first["status"] == "ok").all()
    for column in ("test_accuracy", "test_log_loss", "valid_loss"):
        assert first[column].tolist() == second[column].tolist(), column  # split by split, exactly
