# One-command setup, run and test. Everything lands in .venv/, data/ and outputs/.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
DATA   ?= data
PYTEST_ARGS ?=
BENCH_ARGS ?=

# make test: everything a contributor needs (unit, end-to-end on small data, browser and LaTeX when
# their tools are there), 13 minutes from a fresh clone on 2 cores, setup included. make test-all adds
# the real clusters and the long studies and needs every tool. make test-fast: no slow, browser or
# cluster test.
TEST_MARKERS ?= not cluster and not long
FAST_MARKERS := not slow and not browser and not cluster

.PHONY: setup data browser slurm latex test-tools run test test-all test-fast test-portable bench gallery clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet torch==2.14.1 torchvision==0.29.1
	$(PY) -m pip install --quiet -e '.[test,tracking]'
	@touch $(STAMP)

data: $(STAMP)
	$(PY) -m src.prepare data.root=$(DATA)

# Debian's packages for the tests that need a system tool; each target installs them when missing
# (root with apt-get) and fails where it cannot. make test-all runs all three.
CAN_APT = { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; }
APT_INSTALL = apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq
HAVE_BROWSER = command -v chromium >/dev/null && command -v chromedriver >/dev/null
HAVE_SLURM = command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v sbatch >/dev/null && \
  command -v munged >/dev/null
HAVE_LATEX = command -v pdflatex >/dev/null && command -v bibtex >/dev/null && kpsewhich booktabs.sty natbib.sty >/dev/null
NOT_ROOT = { echo "$@: missing; installing it needs root and apt-get (sudo make $@)"; exit 1; }

# Chromium and ChromeDriver for the browser tests.
browser:
	@$(HAVE_BROWSER) || { $(CAN_APT) || $(NOT_ROOT); $(APT_INSTALL) chromium chromium-driver; }

# Slurm and munge for the Slurm cluster tests (a one-node cluster run as root by scripts/slurm-cluster.sh).
slurm:
	@$(HAVE_SLURM) || { $(CAN_APT) || $(NOT_ROOT); $(APT_INSTALL) slurmctld slurmd slurm-client munge; }

# TeX Live for the export's compile test (pdflatex, bibtex, booktabs, natbib).
latex:
	@$(HAVE_LATEX) || { $(CAN_APT) || $(NOT_ROOT); \
	  $(APT_INSTALL) --no-install-recommends texlive-latex-base texlive-latex-recommended texlive-fonts-recommended; }

# make test's tools: Chromium and TeX Live, installed when missing where it can (root with apt-get);
# elsewhere it goes on and their tests skip, each naming the command that installs its tool.
test-tools:
	@if $(CAN_APT); then $(MAKE) --no-print-directory browser latex || echo "test-tools: not installed, their tests skip"; \
	elif ! { $(HAVE_BROWSER) && $(HAVE_LATEX); }; then \
	  echo "test-tools: Chromium or TeX Live is missing (installing needs root and apt-get): their tests skip"; fi

run: data
	$(PY) -m src.run experiment=notebook

test: data test-tools
	$(PY) -m pytest -m "$(TEST_MARKERS)" $(PYTEST_ARGS)

# Every test, the real clusters and long studies included; a missing tool fails it instead of skipping.
test-all: data browser slurm latex
	$(PY) -m pytest --require-tools $(PYTEST_ARGS)

test-fast: $(STAMP)
	$(PY) -m pytest -m "$(FAST_MARKERS)" $(PYTEST_ARGS)

# The fast tests again under the CPU kernels of other machines: torch's portable ``default``
# kernels and its AVX2 ones (an AMD EPYC's; an AVX-512 Xeon runs its own by default).
CAPABILITIES ?= default avx2
test-portable: data
	@for cap in $(CAPABILITIES); do \
	  echo "== ATEN_CPU_CAPABILITY=$$cap"; \
	  ATEN_CPU_CAPABILITY=$$cap $(PY) -m pytest -m "$(FAST_MARKERS)" $(PYTEST_ARGS) || exit 1; \
	done

bench: data
	$(PY) -m src.bench $(BENCH_ARGS)

gallery: $(STAMP)
	$(PY) -m src.plots --out outputs/gallery

# JupyterLab on examples/quickstart.ipynb, with the notebook extra (JupyterLab, ipykernel, ipywidgets for the
# progress bars) installed once: pip install -e '.[notebook]'.
NOTEBOOK_STAMP := $(VENV)/.notebook
$(NOTEBOOK_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e '.[notebook]'
	@touch $(NOTEBOOK_STAMP)

.PHONY: notebook
notebook: $(NOTEBOOK_STAMP)
	$(VENV)/bin/jupyter lab examples/quickstart.ipynb

clean:
	rm -rf outputs/runs outputs/sweeps outputs/bench .pytest_cache
