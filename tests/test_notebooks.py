"""The notebooks in ``notebooks/`` run top to bottom, and the copies committed with outputs are clean.

Each notebook asserts that the engine agrees with a derivation done by hand, so executing it is the
test: a failed assertion (or any other error) in any cell fails it, and nbclient's message names the
cell. The notebooks run in a fresh kernel started from this interpreter, on a temporary copy, so the
committed files are never rewritten; the kernel imports this repository's ``autograd`` and ``nn``, as
pytest itself does.

Run as a script, this file refreshes the committed outputs instead (after changing a notebook)::

    python tests/test_notebooks.py                              # every notebook
    python tests/test_notebooks.py notebooks/01_tour.ipynb      # some
"""

from __future__ import annotations

import ast
import contextlib
import importlib.metadata
import json
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Iterator

import nbformat
import pytest
from nbclient import NotebookClient

from autograd._files import atomic_write

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
EXPECTED = {
    "01_tour.ipynb",
    "02_backprop_two_sigmoid_layers.ipynb",
    "03_iris_cross_entropy_b3.ipynb",
    "04_training_iris.ipynb",
    "05_second_derivatives.ipynb",
    "06_moons_and_digits.ipynb",
    "07_backprop_by_hand.ipynb",
    "08_three_routes.ipynb",
    "09_graduating_to_pytorch.ipynb",
}
# Notebooks that need an extra besides ``notebooks`` (they say so in their first cell); ``dev`` installs it.
NEEDS_EXTRA = {"09_graduating_to_pytorch.ipynb": "torch"}
KERNEL_NAME = "chainrule-notebooks"
CELL_TIMEOUT = 300  # seconds; only a guard against a hung kernel (each notebook takes seconds)
MAX_COMMITTED_BYTES = 1_000_000


@contextlib.contextmanager
def notebook_kernel(directory: Path) -> Iterator[str]:
    """Make a kernel spec that runs ipykernel in *this* interpreter and importing this repository; yield its name.

    The usual "python3" spec may resolve to a user-level spec that points at another Python; a spec of
    our own in ``directory``, found first through JUPYTER_PATH, cannot. The environment is restored on exit.
    """
    spec_dir = directory / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True, exist_ok=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JUPYTER_PATH", os.pathsep.join(p for p in (str(directory), os.environ.get("JUPYTER_PATH")) if p))
        mp.setenv("PYTHONPATH", os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p))
        yield KERNEL_NAME


def execute(nb: nbformat.NotebookNode, kernel_name: str, cwd: Path, *, clean: bool = False) -> None:
    """Run every cell of ``nb`` in a fresh kernel started in ``cwd``; raise CellExecutionError if one fails.

    ``clean`` makes the outputs fit to commit: a progress bar's updates are merged into its final line,
    and no execution timestamps are written into the cells' metadata.
    """
    client = NotebookClient(
        nb,
        timeout=CELL_TIMEOUT,
        kernel_name=kernel_name,
        resources={"metadata": {"path": str(cwd)}},
        coalesce_streams=clean,
        record_timing=not clean,
    )
    client.execute()


@pytest.fixture(scope="module")
def kernel_name(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with notebook_kernel(tmp_path_factory.mktemp("jupyter")) as name:
        yield name


def test_the_notebooks_are_all_there() -> None:
    assert {path.name for path in NOTEBOOKS} == EXPECTED


def _imported_modules(nb: nbformat.NotebookNode) -> set[str]:
    """The top-level modules a notebook's code cells import (IPython's % and ! lines left out)."""
    found = set()
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        code = "\n".join(line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!")))
        for node in ast.walk(ast.parse(code)):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.add(node.module.split(".")[0])
    return found


def test_the_notebooks_extra_installs_what_the_notebooks_import() -> None:
    """``pip install ".[notebooks]"`` (the README's instructions) gives every package a notebook imports,
    a kernel to run them and Jupyter to open them."""
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]

    def names(requirements: list[str]) -> set[str]:
        return {re.split(r"[<>=!~\[; ]", req, maxsplit=1)[0].lower() for req in requirements}

    extras = project["optional-dependencies"]
    available = names(project["dependencies"]) | names(extras["notebooks"])
    assert {"ipykernel", "notebook", "ipywidgets"} <= available  # ipywidgets: fit shows a widget bar, not red stderr lines
    assert "chainrule[notebooks]" in extras["dev"]  # so the tests run the notebooks that way
    providers = importlib.metadata.packages_distributions()
    for path in NOTEBOOKS:
        extra = NEEDS_EXTRA.get(path.name)
        if extra is not None:
            assert f"chainrule[{extra}]" in extras["dev"], f"the dev extra must install {extra}, which {path.name} needs"
            first = nbformat.read(path, as_version=4).cells[0].source
            assert f'pip install "chainrule[{extra}]"' in first, f"{path.name} must say in its first cell what to install"
        available_here = available | (names(extras[extra]) if extra else set())
        third_party = _imported_modules(nbformat.read(path, as_version=4)) - set(sys.stdlib_module_names) - {"autograd", "nn"}
        for module in sorted(third_party):
            distributions = {name.lower() for name in providers.get(module, [module])}
            assert distributions & available_here, f"{path.name} imports {module}, which the notebooks extra does not install"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_to_the_end(path: Path, tmp_path: Path, kernel_name: str) -> None:
    copy = tmp_path / path.name
    shutil.copyfile(path, copy)
    nb = nbformat.read(copy, as_version=4)
    execute(nb, kernel_name, tmp_path)  # raises CellExecutionError, naming the cell and the error
    code_cells = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert [cell.execution_count for cell in code_cells] == list(range(1, len(code_cells) + 1))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_outputs_come_from_one_clean_run(path: Path) -> None:
    """The committed copy shows its outputs, from one top-to-bottom run without errors, and stays small."""
    size = path.stat().st_size
    assert size < MAX_COMMITTED_BYTES, f"{path.name} is {size:,} bytes; draw or plot less"
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    code_cells = [cell for cell in nb.cells if cell.cell_type == "code"]
    counts = [cell.execution_count for cell in code_cells]
    assert counts == list(range(1, len(code_cells) + 1)), (
        f"{path.name}: execution counts {counts}; refresh it with: python tests/test_notebooks.py {path.relative_to(ROOT)}"
    )
    errors = [out for cell in code_cells for out in cell.outputs if out.output_type == "error"]
    assert not errors, f"{path.name} was committed with an error: {errors[0].ename}: {errors[0].evalue}"
    assert sum(bool(cell.outputs) for cell in code_cells) >= len(code_cells) // 2, f"{path.name} has lost its outputs"


def main(argv: list[str]) -> int:
    """Execute the given notebooks (default: all) in place, with outputs fit to commit."""
    paths = [Path(arg).resolve() for arg in argv] or NOTEBOOKS
    with tempfile.TemporaryDirectory() as scratch, notebook_kernel(Path(scratch)) as name:
        for path in paths:
            nb = nbformat.read(path, as_version=4)
            execute(nb, name, path.parent, clean=True)
            # readers open it with their usual Python kernel, not the temporary spec it ran in
            nb.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
            text = nbformat.writes(nb)  # written atomically: a failed write keeps the committed notebook
            atomic_write(path, text if text.endswith("\n") else text + "\n")
            print(f"{path.relative_to(ROOT)}: {path.stat().st_size / 1024:.0f} KB")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
