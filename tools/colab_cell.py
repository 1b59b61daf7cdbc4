"""Insert or refresh the Colab set-up cell of every chapter notebook.

The cell is the second cell of each chapter listed under the "Chapters" part of ``_toc.yml``.
It does nothing unless the notebook runs on Google Colab; there it clones the book's repository
(the URL and branch come from ONE setting, ``repository.url`` / ``repository.branch`` in
``_config.yml``), installs beamkit from that clone with the pinned versions of
``constraints.txt``, and copies the data files the chapter reads (every ``../data/<file>`` found in
its code cells) to ``../data`` relative to the working directory, where the chapter looks for them.
The cell is tagged ``remove-cell``: the website does not show it.

Usage::

    python tools/colab_cell.py           # rewrite the notebooks whose cell is missing or stale
    python tools/colab_cell.py --check   # only report; exit status 1 if any is out of date

``tests/test_colab.py`` runs the check, so a chapter added later, or a change of the URL,
fails the tests until this script has been run.
"""

import argparse
import re
import sys
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
CELL_ID = "colab-setup"
MARKER = "# Colab set-up: written by tools/colab_cell.py from _config.yml; do not edit by hand."
DATA_RE = re.compile(r"\.\./data/([A-Za-z0-9_.\-]+)")


def repository(root=ROOT):
    """Return ``(url, branch)`` of the book's repository from ``_config.yml``."""
    config = yaml.safe_load((root / "_config.yml").read_text())
    repo = config.get("repository") or {}
    url, branch = repo.get("url"), repo.get("branch", "main")
    if not url or not re.match(r"^https://\S+$", url):
        raise SystemExit(f"_config.yml: repository.url must be an https URL, got {url!r}")
    return url.rstrip("/"), branch


def chapter_notebooks(root=ROOT):
    """Notebook paths of the "Chapters" part of ``_toc.yml``, in book order."""
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    paths = []
    for part in toc.get("parts", []):
        if part.get("caption") != "Chapters":
            continue
        for chapter in part.get("chapters", []):
            path = root / (chapter["file"] + ".ipynb")
            if path.exists():
                paths.append(path)
    return paths


def _is_setup_cell(cell):
    return cell.get("id") == CELL_ID or "".join(cell.get("source", "")).startswith(MARKER)


def data_files(nb):
    """Sorted names of the files under ``../data/`` that the notebook's code cells mention."""
    names = set()
    for cell in nb.cells:
        if cell.cell_type == "code" and not _is_setup_cell(cell):
            names.update(DATA_RE.findall(cell.source))
    return sorted(names)


def setup_source(url, branch, files):
    """Source of the Colab cell for a chapter reading ``files`` from ``../data``."""
    lines = [
        MARKER,
        "import sys",
        "",
        'if "google.colab" in sys.modules:  # only on Colab: install beamkit, fetch the data',
        "    import shutil",
        "    import subprocess",
        "    from pathlib import Path",
        "",
        f'    BOOK_REPOSITORY = "{url}"',
        '    clone = Path("/content/beamkit-book")',
        "    if not clone.exists():",
        f'        subprocess.run(["git", "clone", "--depth", "1", "--branch", "{branch}",',
        "                        BOOK_REPOSITORY, str(clone)], check=True)",
        "    subprocess.run([sys.executable, \"-m\", \"pip\", \"install\", \"--quiet\",",
        '                    "-c", str(clone / "constraints.txt"), f"{clone}[book]"], check=True)',
    ]
    lines += [
        "    # A package imported before this cell keeps its old version until the runtime restarts.",
        "    from importlib.metadata import version",
        '    stale = [m for m in ("numpy", "scipy", "pandas", "matplotlib")',
        '             if m in sys.modules and getattr(sys.modules[m], "__version__", None) != version(m)]',
        "    if stale:",
        '        print(f"Now restart the runtime (Runtime > Restart session) and run again: {stale} "',
        '              "were imported before the pinned versions were installed.")',
    ]
    if files:
        lines += [
            '    Path("../data").mkdir(parents=True, exist_ok=True)',
            "    for name in [",
            *[f'        "{name}",' for name in files],
            "    ]:",
            '        shutil.copy(clone / "data" / name, Path("../data") / name)',
        ]
    return "\n".join(lines)


def expected_cell(nb, url, branch):
    cell = nbformat.v4.new_code_cell(setup_source(url, branch, data_files(nb)))
    cell["id"] = CELL_ID
    cell["metadata"] = {"tags": ["remove-cell"]}
    return cell


def is_up_to_date(nb, url, branch):
    """True when the second cell is the current set-up cell and no other copy exists."""
    want = expected_cell(nb, url, branch)
    if len(nb.cells) < 2:
        return False
    second = nb.cells[1]
    others = [c for c in nb.cells[2:] + nb.cells[:1] if _is_setup_cell(c)]
    return (second.cell_type == "code" and second.get("id") == CELL_ID and second.source == want.source
            and second.metadata == want.metadata and not second.outputs
            and second.execution_count is None and not others)


def refresh(nb, url, branch):
    """Return a copy of ``nb`` with exactly one, current, set-up cell in second place."""
    out = nbformat.from_dict(nb)
    cell = expected_cell(out, url, branch)
    out.cells = [c for c in out.cells if not _is_setup_cell(c)]
    out.cells.insert(1, cell)
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report stale notebooks")
    args = parser.parse_args(argv)
    url, branch = repository()
    stale = []
    for path in chapter_notebooks():
        nb = nbformat.read(path, as_version=4)
        if is_up_to_date(nb, url, branch):
            continue
        stale.append(path.relative_to(ROOT))
        if not args.check:
            new = refresh(nb, url, branch)
            nbformat.validate(new)
            path.write_text(nbformat.writes(new) + "\n")
    verb = "out of date" if args.check else "updated"
    for path in stale:
        print(f"{verb}: {path}")
    return 1 if (args.check and stale) else 0


if __name__ == "__main__":
    sys.exit(main())
