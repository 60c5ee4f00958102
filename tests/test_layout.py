"""The source tree's shape: imports follow the pipeline, and only `src.layout` names result files."""
import ast
import subprocess
from pathlib import Path

import pytest

from src import layout

SRC = Path(__file__).resolve().parent.parent / "src"
BASE = {"columns", "cores", "defaults", "errors", "files", "layout", "logs", "outcomes", "params", "ranking", "results",
        "study_lock", "tuning", "words"}
ENTRY_PACKAGES = {"bench", "calibrate"}  # ``python -m src.X`` as a package: entry modules, as src/X.py is
# stage -> the stages and base modules it may import (besides itself)
ALLOWED = {
    "base": BASE,
    "config": BASE,  # the schema names its registries by module and attribute, imported when checked
    "data": BASE,
    "model": BASE,
    "training": BASE | {"data", "model"},
    "modes": BASE | {"data", "model", "training"},
    "reporting": BASE | {"model"},
}


def _module(path):
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path):
    """The project modules that ``path`` imports (relative imports resolved)."""
    package = _module(path) if path.name == "__init__.py" else _module(path).rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target == "src" or target.startswith("src."):
                names = [f"{target}.{a.name}" for a in node.names]
                found |= {n for n in names if _exists(n)} or {target}
    return found


def _exists(module):
    path = SRC.parent.joinpath(*module.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def _stage(module):
    """The stage of a module: its sub-package, "base" for the shared modules, None for entry points."""
    parts = module.split(".")
    if len(parts) > 1 and parts[1] in ENTRY_PACKAGES:
        return None
    if len(parts) > 2 or (len(parts) == 2 and (SRC / parts[1]).is_dir()):
        return parts[1]
    return "base" if len(parts) == 2 and parts[1] in BASE else None


GRAPH = {_module(p): _imports(p) for p in SRC.rglob("*.py")}


def test_there_are_no_import_cycles():
    def reach(start):
        seen, todo = set(), list(GRAPH[start])
        while todo:
            node = todo.pop()
            if node not in seen:
                seen.add(node)
                todo += GRAPH.get(node, ())
        return seen

    assert [m for m in GRAPH if m in reach(m)] == []


@pytest.mark.parametrize("module", sorted(m for m in GRAPH if _stage(m) in ALLOWED))
def test_imports_point_down_the_pipeline(module):
    stage = _stage(module)
    for target in GRAPH[module]:
        other = _stage(target)
        name = target.split(".")[1]
        allowed = other == stage or other in ALLOWED[stage] or name in ALLOWED[stage]
        assert allowed, f"{module} ({stage}) imports {target} ({other})"


@pytest.mark.parametrize("module", sorted(m for m in GRAPH if _stage(m) is None and m != "src"))
def test_no_stage_imports_an_entry_module(module):
    """Entry modules (``python -m src.X``, the Hydra callback, the checks before a run) sit on top:
    they may import any stage, and no stage or base module imports them."""
    importers = [m for m, targets in GRAPH.items() if module in targets and _stage(m) is not None]
    assert importers == [], f"{module} is an entry module, imported by {importers}"


def test_only_the_layout_module_spells_result_file_names():
    names = {v for k, v in vars(layout).items() if k.isupper() and isinstance(v, str) and "." in v}
    for path in SRC.rglob("*.py"):
        if path.name == "layout.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in names:
                pytest.fail(f"{path.relative_to(SRC.parent)}:{node.lineno} spells {node.value!r}; use src.layout")


def test_the_tree_holds_no_links_and_every_experiment_is_an_option():
    root = SRC.parent
    tracked = subprocess.run(["git", "ls-files", "-s"], cwd=root, capture_output=True, text=True).stdout
    assert [line for line in tracked.splitlines() if line.startswith("120000")] == []  # git's mode of a link
    from hydra.core.config_store import ConfigStore

    import src.config  # noqa: F401  (stores the experiments)

    stored = {name.removesuffix(".yaml") for name in ConfigStore.instance().list("experiment")}
    assert stored == {p.stem for p in (root / "experiments").glob("*.yaml")} and "notebook" in stored


def test_counted_nouns_agree_with_their_number():
    from src.words import counted

    assert [counted(n, "run") for n in (0, 1, 2)] == ["0 runs", "1 run", "2 runs"]
    assert counted(1, "study", "studies") == "1 study" and counted(3, "study", "studies") == "3 studies"


# reporting's layers, lowest first: a module may import its own layer and those below it
LAYERS = ("read", "compute", "present", "write")


def _layer(module):
    parts = module.split(".")
    return parts[2] if len(parts) > 2 and parts[1] == "reporting" and parts[2] in LAYERS else None


@pytest.mark.parametrize("module", sorted(m for m in GRAPH if m.startswith("src.reporting.")))
def test_reporting_is_in_layers_that_import_down_only(module):
    layer = _layer(module)
    assert layer is not None, f"{module} lies outside reporting's layers {LAYERS}"
    for target in GRAPH[module]:
        other = _layer(target)
        if other is not None:
            assert LAYERS.index(other) <= LAYERS.index(layer), f"{module} ({layer}) imports {target} ({other})"


def test_only_the_write_layer_writes():
    """Nothing in reporting's read, compute and present layers imports `src.files` (every result file is
    written through it) or saves a figure or a table itself."""
    for module, targets in GRAPH.items():
        if _layer(module) in ("read", "compute", "present"):
            assert "src.files" not in targets and not any(t.startswith("src.files.") for t in targets), module
            path = SRC.parent / Path(*module.split("."))
            text = (path / "__init__.py" if path.is_dir() else path.with_suffix(".py")).read_text()
            for call in (".savefig(", ".to_csv(", ".write_text(", ".write_bytes(", "open("):
                assert call not in text or call == ".savefig(" and "BytesIO" in text, f"{module} calls {call}"


READERS = {("pd", "read_csv"), ("pandas", "read_csv"), ("json", "load"), ("torch", "load"), ("OmegaConf", "load"),
           ("yaml", "safe_load"), ("yaml", "load")}
# where a file is read for what it is, not as a result: data sets, config composition
READS_OWN_FILES = ("src.data.", "src.config.")


def test_only_the_study_loader_and_layout_read_result_files():
    allowed = {"src.layout"}
    for path in SRC.rglob("*.py"):
        module = _module(path)
        if module in allowed or module.startswith(("src.reporting.read.", *READS_OWN_FILES)):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                owner = node.func.value.id if isinstance(node.func.value, ast.Name) else None
                read = (owner, node.func.attr) in READERS or (
                    (owner, node.func.attr) == ("json", "loads") and node.args
                    and isinstance(node.args[0], ast.Call) and getattr(node.args[0].func, "attr", "") == "read_text")
                assert not read, f"{module}:{node.lineno} reads a file with {owner}.{node.func.attr}; use the study"


# what touches the disk: reporting's compute and present layers call none of these (the study reads for them)
DISK_CALLS = {"open", "read_text", "read_bytes", "glob", "rglob", "exists", "stat", "is_dir", "is_file", "iterdir",
              "listdir", "scandir", "walk"}
# a module's own drawing code, hashed into its figures' cache key, is the one file read
READS_OWN_SOURCE = {("src.reporting.present.plots", "read_bytes")}


@pytest.mark.parametrize("layer", ["compute", "present"])
def test_compute_and_present_touch_no_files(layer):
    for path in sorted((SRC / "reporting" / layer).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
                if name in DISK_CALLS and (_module(path), name) not in READS_OWN_SOURCE:
                    pytest.fail(f"{path.relative_to(SRC.parent)}:{node.lineno} calls {name}; read it through the study")


MOST_LINES, MOST_PARAMETERS = 80, 10  # a function longer or with more parameters takes a settings object or splits
CODE = [SRC, SRC.parent / "hydra_plugins", SRC.parent / "scripts", SRC.parent / "tests"]


def _parameters(function):
    """A function's parameters, ``self`` and ``cls`` aside, ``*args`` and ``**kwargs`` counted."""
    args = function.args
    named = [*args.posonlyargs, *args.args, *args.kwonlyargs]
    if named and named[0].arg in ("self", "cls"):
        named = named[1:]
    return len(named) + bool(args.vararg) + bool(args.kwarg)


def test_no_function_is_over_80_lines_or_takes_over_10_parameters():
    found = []
    for path in sorted(p for folder in CODE for p in folder.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > MOST_LINES or _parameters(node) > MOST_PARAMETERS:
                    found.append(f"{path.relative_to(SRC.parent)}:{node.lineno} {node.name}: {lines} lines, "
                                 f"{_parameters(node)} parameters")
    assert not found, "\n".join(found)
