"""Notebook hygiene. (Execution itself happens in the strict book build of `make test`.)"""

import json
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def _toc_files(node):
    if isinstance(node, dict):
        if "file" in node:
            yield node["file"]
        for value in node.values():
            yield from _toc_files(value)
    elif isinstance(node, list):
        for item in node:
            yield from _toc_files(item)


def test_there_are_notebooks():
    assert NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs, f"{path.name}: a code cell has stored outputs"
            assert cell.execution_count is None, f"{path.name}: a code cell has an execution count"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_in_table_of_contents(path):
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    assert f"notebooks/{path.stem}" in set(_toc_files(toc))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_figures_have_captions_and_no_global_warning_filters(path):
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        src = "".join(cell["source"])
        if cell["cell_type"] != "code":
            continue
        assert "filterwarnings(\"ignore\")" not in src and "simplefilter(\"ignore\")" not in src
        if "plt.show()" in src:
            fig = cell["metadata"].get("mystnb", {}).get("figure", {})
            assert fig.get("caption") and fig.get("name"), f"{path.name}: a figure without caption/name"
        if "random" in src:
            assert "default_rng(" in src or "seed" in src, f"{path.name}: unseeded random numbers"
