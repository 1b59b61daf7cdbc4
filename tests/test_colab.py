"""The Colab set-up cell (tools/colab_cell.py): present and current in every chapter, inert
outside Colab, and on (a simulated) Colab it installs from the configured repository and puts
the chapter's data files where the chapter reads them."""

import subprocess
import sys
import types
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import colab_cell  # noqa: E402

CHAPTERS = colab_cell.chapter_notebooks()


def test_there_are_chapters():
    assert len(CHAPTERS) >= 5


def test_script_check_passes():
    """Every chapter has the up-to-date cell; if not: run `python tools/colab_cell.py`."""
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "colab_cell.py"), "--check"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, f"run `python tools/colab_cell.py`:\n{proc.stdout}{proc.stderr}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_second_cell_is_current_setup_cell(path):
    nb = nbformat.read(path, as_version=4)
    url, branch = colab_cell.repository()
    assert colab_cell.is_up_to_date(nb, url, branch), f"{path.name}: run `python tools/colab_cell.py`"
    cell = nb.cells[1]
    assert f'"{url}"' in cell.source and f'"--branch", "{branch}"' in cell.source
    assert 'if "google.colab" in sys.modules:' in cell.source
    assert "remove-cell" in cell.metadata["tags"]
    # Only one install cell: no leftover of the older FODO-only one.
    assert sum("google.colab" in c.source for c in nb.cells if c.cell_type == "code") == 1


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_data_files_exist_in_repository(path):
    nb = nbformat.read(path, as_version=4)
    for name in colab_cell.data_files(nb):
        assert (ROOT / "data" / name).is_file(), f"{path.name} reads ../data/{name}, not in data/"


def test_fieldmap_fetches_both_maps():
    nb = nbformat.read(ROOT / "notebooks" / "fieldmap.ipynb", as_version=4)
    assert colab_cell.data_files(nb) == ["ps_like_combined_function_magnet.npz",
                                         "ps_like_combined_function_magnet_remanent.npz"]
    assert "ps_like_combined_function_magnet_remanent.npz" in nb.cells[1].source


def _run_cell(source, cwd, monkeypatch, on_colab, clone):
    calls = []

    def fake_run(cmd, check):
        calls.append(list(cmd))
        if cmd[:2] == ["git", "clone"]:  # a clone holding the repository's data files
            (Path(cmd[-1]) / "data").mkdir(parents=True)
            for f in (ROOT / "data").glob("*.npz"):
                (Path(cmd[-1]) / "data" / f.name).write_bytes(f.read_bytes())
        return subprocess.CompletedProcess(cmd, 0)

    monkeypatch.setattr(subprocess, "run", fake_run)
    monkeypatch.chdir(cwd)
    if on_colab:
        monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    exec(compile(source.replace("/content/beamkit-book", str(clone)), "<colab-cell>", "exec"), {})
    return calls


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_cell_is_inert_outside_colab(path, tmp_path, monkeypatch):
    nb = nbformat.read(path, as_version=4)
    (tmp_path / "notebooks").mkdir()
    calls = _run_cell(nb.cells[1].source, tmp_path / "notebooks", monkeypatch, False, tmp_path / "clone")
    assert calls == [] and not (tmp_path / "data").exists() and not (tmp_path / "clone").exists()


def test_cell_on_colab_installs_and_fetches_data(tmp_path, monkeypatch):
    nb = nbformat.read(ROOT / "notebooks" / "fieldmap.ipynb", as_version=4)
    url, branch = colab_cell.repository()
    work = tmp_path / "content"
    work.mkdir()
    clone = tmp_path / "clone"
    calls = _run_cell(nb.cells[1].source, work, monkeypatch, True, clone)
    assert calls[0] == ["git", "clone", "--depth", "1", "--branch", branch, url, str(clone)]
    assert calls[1][1:4] == ["-m", "pip", "install"]
    assert str(clone / "constraints.txt") in calls[1] and f"{clone}[book]" in calls[1]
    # The chapter opens ../data/<name> from its working directory: the files are there.
    for name in colab_cell.data_files(nb):
        assert (work / ".." / "data" / name).resolve().read_bytes() == (ROOT / "data" / name).read_bytes()


def test_refresh_replaces_a_stale_cell_and_keeps_others():
    nb = nbformat.read(ROOT / "notebooks" / "fieldmap.ipynb", as_version=4)
    url, branch = colab_cell.repository()
    stale = nbformat.from_dict(nb)
    stale.cells[1].source = stale.cells[1].source.replace(url, "https://example.org/old")
    moved = nbformat.from_dict(stale)
    moved.cells.insert(4, moved.cells.pop(1))  # a set-up cell in the wrong place
    for broken in (stale, moved):
        assert not colab_cell.is_up_to_date(broken, url, branch)
        fixed = colab_cell.refresh(broken, url, branch)
        assert colab_cell.is_up_to_date(fixed, url, branch)
        assert [c.source for c in fixed.cells] == [c.source for c in nb.cells]
    assert "https://example.org/old" in stale.cells[1].source  # the input is not modified


def test_cell_on_colab_asks_for_a_restart_only_when_a_loaded_version_differs(tmp_path, monkeypatch, capsys):
    from importlib.metadata import version

    nb = nbformat.read(ROOT / "notebooks" / "fodo.ipynb", as_version=4)
    (tmp_path / "work").mkdir()
    for m in ("numpy", "scipy", "pandas", "matplotlib"):  # as installed: no restart needed
        monkeypatch.setitem(sys.modules, m, types.SimpleNamespace(__version__=version(m)))
    _run_cell(nb.cells[1].source, tmp_path / "work", monkeypatch, True, tmp_path / "clone")
    assert "restart" not in capsys.readouterr().out
    monkeypatch.setitem(sys.modules, "scipy", types.SimpleNamespace(__version__="0.0"))  # an older one
    _run_cell(nb.cells[1].source, tmp_path / "work", monkeypatch, True, tmp_path / "clone")
    out = capsys.readouterr().out
    assert "restart the runtime" in out and "scipy" in out and "numpy" not in out
