"""The system tools some tests need, and what a test does when one is missing.

A test that needs one carries ``@pytest.mark.needs("chromium")`` (or calls `require` from a
fixture). Where the tool is missing it is skipped with one line naming the tool and the command
that installs it; under ``pytest --require-tools`` (``make test-all``) it fails instead.
"""
import os
import shutil
import subprocess

import pytest

APT = "sudo apt-get install"

# name: (the programs it needs, the command that installs them on Debian)
TOOLS = {
    "chromium": (("chromium", "chromedriver"), f"{APT} chromium chromium-driver"),
    "slurm": (("munged", "mungekey", "slurmctld", "slurmd", "sbatch", "squeue", "scancel", "scontrol", "sinfo"),
              f"{APT} slurmctld slurmd slurm-client munge"),
    "latex": (("pdflatex", "bibtex", "kpsewhich"),
              f"{APT} --no-install-recommends texlive-latex-base texlive-latex-recommended texlive-fonts-recommended"),
    "root": ((), "run the tests as root"),
}
LATEX_STYLES = ("booktabs.sty", "natbib.sty")


def missing(name):
    """Why the tool ``name`` (a key of `TOOLS`) cannot be used here, as one line; None when it can."""
    programs, install = TOOLS[name]
    if name == "root":
        return None if os.geteuid() == 0 else f"needs root, to mount a small tmpfs: {install}"
    absent = [p for p in programs if shutil.which(p) is None]
    if not absent and name == "latex":
        absent = [s for s in LATEX_STYLES
                  if subprocess.run(["kpsewhich", s], capture_output=True, text=True).stdout.strip() == ""]
    if absent:
        return f"{name} is missing ({', '.join(absent)} not found): `{install}` installs it"
    if name == "slurm" and os.geteuid() != 0:
        return f"needs root, to run the one-node Slurm cluster's daemons: {TOOLS['root'][1]}"
    return None


def require(name, config):
    """Skip the running test when the tool ``name`` is missing (fail it under ``--require-tools``)."""
    why = missing(name)
    if why is None:
        return
    if config.getoption("require_tools"):
        pytest.fail(f"{why} (--require-tools)", pytrace=False)
    pytest.skip(why)
