# One-command setup, run and test. Everything lands in .venv/, data/ and outputs/.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
DATA   ?= data
PYTEST_ARGS ?=
BENCH_ARGS ?=

.PHONY: setup data browser slurm latex run test test-fast test-portable bench gallery clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet torch==2.14.1 torchvision==0.29.1
	$(PY) -m pip install --quiet -e '.[test,tracking]'
	@touch $(STAMP)

data: $(STAMP)
	$(PY) -m src.prepare data.root=$(DATA)

# Debian's Chromium and ChromeDriver for the browser tests (installed only when missing).
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; }

# Debian's Slurm and munge for the Slurm cluster tests (installed only when missing; they run
# a one-node cluster as root through scripts/slurm-cluster.sh).
slurm:
	@command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v sbatch >/dev/null && \
	  command -v munged >/dev/null || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurmctld slurmd slurm-client munge; }

# Debian's TeX Live for the export's compile test (pdflatex, bibtex, booktabs, natbib; installed only when missing).
latex:
	@command -v pdflatex >/dev/null && command -v bibtex >/dev/null && kpsewhich booktabs.sty >/dev/null || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	    texlive-latex-base texlive-latex-recommended texlive-fonts-recommended; }

run: data
	$(PY) -m src.run experiment=notebook

test: data browser slurm latex
	$(PY) -m pytest $(PYTEST_ARGS)

test-fast: $(STAMP)
	$(PY) -m pytest -m "not slow and not browser and not cluster" $(PYTEST_ARGS)

# The fast tests again under the CPU kernels of other machines: torch's portable ``default``
# kernels and its AVX2 ones (an AMD EPYC's; an AVX-512 Xeon runs its own by default).
CAPABILITIES ?= default avx2
test-portable: data
	@for cap in $(CAPABILITIES); do \
	  echo "== ATEN_CPU_CAPABILITY=$$cap"; \
	  ATEN_CPU_CAPABILITY=$$cap $(PY) -m pytest -m "not slow and not browser and not cluster" $(PYTEST_ARGS) || exit 1; \
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
