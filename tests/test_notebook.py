"""examples/quickstart.ipynb runs top to bottom on a real ipykernel (nbclient) and shows the table and verdict."""
import os
import re

import nbformat
import pytest

from tests.conftest import ROOT

NOTEBOOK = ROOT / "examples" / "quickstart.ipynb"


def _texts(cell):
    """Every text and HTML output of a cell, joined."""
    parts = []
    for output in cell.get("outputs", []):
        parts.append(output.get("text", ""))
        parts += [output.get("data", {}).get(kind, "") for kind in ("text/plain", "text/html")]
    return "\n".join(parts)


def test_the_notebook_extra_brings_jupyterlab_and_make_notebook_opens_the_quickstart():
    import shutil
    import subprocess
    import tomllib

    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert {"jupyterlab", "ipykernel", "ipywidgets"} <= {re.split(r"[<>=! ]", req)[0] for req in extras["notebook"]}
    if shutil.which("make"):
        done = subprocess.run(["make", "-n", "notebook"], cwd=ROOT, capture_output=True, text=True)
        assert done.returncode == 0 and "jupyter lab examples/quickstart.ipynb" in done.stdout, done.stderr


def test_the_notebook_is_committed_without_outputs():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    assert all(not c.get("outputs") and not c.get("execution_count") for c in notebook.cells if c.cell_type == "code")


@pytest.mark.slow
@pytest.mark.long
def test_the_quickstart_notebook_runs_and_shows_the_table_and_verdict(tmp_path, monkeypatch):
    from nbclient import NotebookClient

    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(notebook, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()  # an error cell raises
    shown = "\n".join(_texts(c) for c in notebook.cells if c.cell_type == "code")
    assert "<table" in shown and "vs best" in shown  # the summary table
    assert "highest mean cross-validated accuracy" in shown  # the verdict
    assert 'id="decision"' in shown and shown.index('id="decision"') < shown.index("<table")  # the answer first
    # api.run's cell: a progress bar (a widget, no text) and at most 5 printed lines
    run_cell = next(c for c in notebook.cells if c.cell_type == "code" and "api.run(" in c.source)
    printed = "".join(o.get("text", "") for o in run_cell.outputs if o.output_type == "stream").splitlines()
    assert len(printed) <= 5, printed
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in run_cell.outputs)
    kinds = {kind for c in notebook.cells for o in c.get("outputs", []) for kind in o.get("data", {})}
    assert {"image/png", "application/javascript"} <= kinds  # the curves, HiPlot's display
    assert (tmp_path / "outputs" / "runs" / "from_the_shell" / "metrics.json").exists()
