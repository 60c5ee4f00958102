"""Activation plots: real PNGs, one gallery panel per activation, autograd derivatives, the CLI."""
import struct

import numpy as np
import pytest

from src import plots as cli
from src.model import activations
from src.reporting.present import plots
from src.reporting.write import figures

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


pytestmark = pytest.mark.usefixtures("one_thread")


def png_size(path):
    """Return ``(width, height)`` of a PNG after checking its signature and header chunk."""
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_plot_activation_writes_a_png(tmp_path):
    path = figures.plot_activation("leaky_relu(negative_slope=0.2)", tmp_path / "sub" / "leaky.png")
    assert path == tmp_path / "sub" / "leaky.png"
    width, height = png_size(path)
    assert 500 <= width <= 2000 and 300 <= height <= 1500
    assert path.stat().st_size > 10_000
    assert [p.name for p in path.parent.iterdir()] == ["leaky.png"]  # no temporary file left


def test_gallery_has_one_labelled_panel_per_registered_activation(tmp_path):
    titles = figures.plot_gallery(tmp_path / "gallery.png")
    names = activations.available()
    assert len(titles) == len(names) >= 28
    labels = [activations.label(spec) for spec in plots.gallery_specs()]
    assert [activations.parse(spec)[0] for spec in plots.gallery_specs()] == names
    assert len(set(labels)) == len(labels)  # plain swish is SiLU: its panel shows a beta
    assert all(title.startswith(label) for title, label in zip(titles, labels))
    width, height = png_size(tmp_path / "gallery.png")
    assert width >= 1500 and height >= 800


def test_gallery_of_chosen_specs(tmp_path):
    titles = figures.plot_gallery(tmp_path / "small.png", ["relu", "elu(alpha=0.5)", "crelu"])
    assert titles == ["relu", "elu(alpha=0.5)", "crelu"]
    width, height = png_size(tmp_path / "small.png")
    assert width < height * 4


def test_curves_are_the_function_and_its_autograd_derivative():
    x, values, derivatives = plots.curves("tanh")
    assert x[0] == -10 and x[-1] == 10 and len(x) == 501
    np.testing.assert_allclose(values[:, 0], np.tanh(x), atol=1e-12)
    np.testing.assert_allclose(derivatives[:, 0], 1 - np.tanh(x) ** 2, atol=1e-12)
    x, values, derivatives = plots.curves("crelu")
    assert values.shape == derivatives.shape == (501, 2)
    np.testing.assert_allclose(values, np.stack([np.maximum(x, 0), np.maximum(-x, 0)], axis=1))
    negative = x < -1e-9
    np.testing.assert_allclose(derivatives[negative], [[0.0, -1.0]] * negative.sum())


def test_rrelu_is_drawn_in_eval_mode():
    x, values, derivatives = plots.curves("rrelu(lower=0.1, upper=0.3)")
    negative = x < 0
    np.testing.assert_allclose(values[negative, 0], 0.2 * x[negative])
    np.testing.assert_allclose(derivatives[negative, 0], 0.2)


def test_save_activation_plots_names_files_by_label(tmp_path):
    paths = figures.save_activation_plots(["selu", "leaky_relu(negative_slope=0.2)", "softrelu", "softplus",
                                         "hardtanh(min_val=-2, max_val=2)"], tmp_path)
    assert [p.name for p in paths] == [
        "activation_selu.png", "activation_leaky_relu_negative_slope=0.2.png", "activation_softplus.png",
        "activation_hardtanh_max_val=2.0_min_val=-2.0.png"]
    for path in paths:
        assert path.parent == tmp_path
        png_size(path)


def test_activation_plots_are_drawn_once_and_copied_after(tmp_path, monkeypatch):
    monkeypatch.setenv(figures.CACHE_ENV, str(tmp_path / "cache"))
    drawn, figure = [], plots.activation_figure
    monkeypatch.setattr(plots, "activation_figure", lambda spec: drawn.append(spec) or figure(spec))
    first = figures.save_activation_plots(["tanh", "leaky_relu(negative_slope=0.2)"], tmp_path / "a")
    assert drawn == ["tanh", "leaky_relu(negative_slope=0.2)"]
    second = figures.save_activation_plots(["tanh", "leaky_relu(negative_slope=0.2)", "selu"], tmp_path / "b")
    assert drawn[2:] == ["selu"]  # the two drawn before are copied from the cache
    for a, b in zip(first, second):
        assert a.name == b.name and a.read_bytes() == b.read_bytes()
    direct = figures.plot_activation("tanh", tmp_path / "direct.png")
    assert png_size(second[0]) == png_size(direct)
    # the key follows what is drawn: another definition of the same name gets another plot
    key = plots.plot_key("tanh")
    curves = plots.curves
    monkeypatch.setattr(plots, "curves", lambda spec: tuple(2 * a for a in curves(spec)))
    assert plots.plot_key("tanh") != key


@pytest.mark.parametrize("location", ["", "/proc/no_cache_here"])
def test_activation_plots_without_a_cache(tmp_path, monkeypatch, location):
    monkeypatch.setenv(figures.CACHE_ENV, location)
    for _ in range(2):
        (path,) = figures.save_activation_plots(["tanh"], tmp_path)
        png_size(path)


def test_command_line_lists_and_draws(tmp_path, capsys):
    assert cli.main(["--list"]) == 0
    listed = capsys.readouterr().out
    for name in activations.available():
        assert f"\n{name} " in f"\n{listed}"
    assert "softrelu" in listed and "negative_slope=0.01" in listed
    assert cli.main(["--out", str(tmp_path), "selu", "gelu(approximate=tanh)"]) == 0
    written = capsys.readouterr().out.split()
    assert written == [str(tmp_path / "gallery.png"), str(tmp_path / "activation_selu.png"),
                       str(tmp_path / "activation_gelu_approximate=tanh.png")]
    for path in written:
        png_size(tmp_path / path.rsplit("/", 1)[-1])


def test_command_line_refuses_an_unknown_name(tmp_path, capsys):
    assert cli.main(["--out", str(tmp_path / "out"), "nope"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and "nope" in err[0] and "selu" in err[0]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("spec", ["exponential", "threshold", "prelu(per_unit=True)", "swish(learnable=True)"])
def test_awkward_activations_plot(tmp_path, spec):
    png_size(figures.plot_activation(spec, tmp_path / "a.png"))


def test_module_entry_point(cli):
    done = cli(["--list"], module="src.plots", timeout=120)
    assert done.returncode == 0, done.stderr
    assert "selu" in done.stdout and "softrelu" in done.stdout
