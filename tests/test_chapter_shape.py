"""Every chapter notebook (the "Chapters" part of _toc.yml) has the book's common shape.

The shape (CONTRIBUTING.md and the "How to run this book" page): a `# Title` first; `## Overview`
with at least three learning goals as a list; `## Prerequisites` as a list with the run time; the
imports in the first code cell after it; every figure (a cell ending in `plt.show()`) with a
caption, a `fig-...` name, alt text, and a `{numref}` in the text; `## Exercises` with at least two
labelled exercises, each with a dropdown solution; `## Summary` as a list; `## What next` with a
link; and at least one citation. Chapters added later are checked automatically.
"""

import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import colab_cell  # noqa: E402

CHAPTERS = colab_cell.chapter_notebooks()
REQUIRED = ["Overview", "Prerequisites", "Exercises", "Summary", "What next"]
LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+\S", re.M)
IMPORT = re.compile(r"^(?:import \w|from [\w.]+ import )", re.M)
FENCE = re.compile(r"^(`{3,}|:{3,})\{([\w-]+)\}[ \t]*(\S*)[ \t]*\n((?::[\w-]+:.*\n)*)", re.M)


def _src(cell):
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _sections(cells):
    """Map a level-2 heading to (index of its markdown cell, text under it up to the next one)."""
    sections, current = {}, None
    for i, cell in enumerate(cells):
        if cell["cell_type"] != "markdown":
            continue
        for line in _src(cell).splitlines(keepends=True):
            m = re.match(r"^## +(.+?)\s*$", line)
            if m:
                current = m.group(1)
                sections[current] = [i, ""]
            elif current is not None:
                sections[current][1] += line
    return {k: tuple(v) for k, v in sections.items()}


def shape_problems(nb, stem):
    """Return a list of human-readable problems with the shape of notebook ``nb`` (a dict)."""
    cells = nb["cells"]
    problems = []
    if not cells or cells[0]["cell_type"] != "markdown":
        return ["the first cell must be markdown with '# Title'"]
    lines = [ln for ln in _src(cells[0]).splitlines() if ln.strip() and not re.match(r"^\(.+\)=$", ln)]
    if not lines or not re.match(r"^# \S", lines[0]):
        problems.append("the first cell must start with a '# Title' heading")
    if len(lines) < 2:
        problems.append("the first cell needs a short introduction under the title")

    sections = _sections(cells)
    missing = [h for h in REQUIRED if h not in sections]
    problems += [f"no '## {h}' heading" for h in missing]
    if missing:
        return problems
    order = [sections[h][0] for h in REQUIRED]
    if order != sorted(order):
        problems.append(f"headings out of order: {REQUIRED} must appear in this order")

    if len(LIST_ITEM.findall(sections["Overview"][1])) < 3:
        problems.append("Overview: needs a list of at least three learning goals")
    prereq = sections["Prerequisites"][1]
    if not LIST_ITEM.search(prereq):
        problems.append("Prerequisites: needs a list of concepts")
    if not re.search(r"run time|runs? in|takes about", prereq, re.I):
        problems.append("Prerequisites: state the approximate run time ('Run time: about ...')")

    code = [(i, c) for i, c in enumerate(cells) if c["cell_type"] == "code"
            and c.get("id") != colab_cell.CELL_ID and i > sections["Prerequisites"][0]]
    if not code:
        problems.append("no code cell after Prerequisites")
    else:
        first_i, first = code[0]
        if not IMPORT.search(_src(first)):
            problems.append("the first code cell after Prerequisites must hold the imports")
        for i, c in code[1:]:
            if IMPORT.search(_src(c)):
                problems.append(f"cell {i}: imports belong in the first code cell (cell {first_i})")
        uses_random = any(re.search(r"\brng\b|random", _src(c)) for _, c in code)
        if uses_random and "default_rng(" not in _src(first):
            problems.append("random numbers are used: create the seeded generator in the imports cell")

    markdown = "\n".join(_src(c) for c in cells if c["cell_type"] == "markdown")
    names = []
    for i, cell in enumerate(cells):
        if cell["cell_type"] != "code" or "plt.show()" not in _src(cell):
            continue
        if not _src(cell).rstrip().endswith("plt.show()"):
            problems.append(f"cell {i}: a figure cell must end with plt.show()")
        meta = cell.get("metadata", {}).get("mystnb", {})
        fig, image = meta.get("figure", {}), meta.get("image", {})
        name = fig.get("name", "")
        if not fig.get("caption"):
            problems.append(f"cell {i}: figure without a caption (metadata mystnb.figure.caption)")
        # New chapters use fig-<chapter>-<what>; the first five keep their shorter, book-wide
        # unique names (test_figure_names_unique_across_the_book), referenced from their text.
        if not re.fullmatch(r"fig-[a-z0-9]+(?:-[a-z0-9]+)*", name):
            problems.append(f"cell {i}: figure name {name!r} must be 'fig-{stem}-<what>'")
        if not image.get("alt"):
            problems.append(f"cell {i}: figure without alt text (metadata mystnb.image.alt)")
        if name and not re.search(r"\{numref\}`(?:[^`<]*<)?" + re.escape(name) + r">?`", markdown):
            problems.append(f"cell {i}: figure {name!r} is not referenced with {{numref}} in the text")
        names.append(name)
    if len(names) != len(set(names)):
        problems.append("two figures share a name")

    exercises, solutions = [], {}
    for kind, arg, options in ((m.group(2), m.group(3), m.group(4)) for m in FENCE.finditer(markdown)):
        if kind == "exercise":
            label = re.search(r"^:label:\s*(\S+)", options, re.M)
            exercises.append(label.group(1) if label else None)
        elif kind in ("solution", "solution-start"):
            solutions[arg] = bool(re.search(r"^:class:.*\bdropdown\b", options, re.M))
    if len(exercises) < 2:
        problems.append(f"Exercises: {len(exercises)} exercise(s); at least two are needed")
    for label in exercises:
        if not label:
            problems.append("an exercise without a :label:")
        elif label not in solutions:
            problems.append(f"exercise {label}: no solution")
        elif not solutions[label]:
            problems.append(f"exercise {label}: the solution needs ':class: dropdown'")
    if markdown.count("{solution-start}") != markdown.count("{solution-end}"):
        problems.append("every solution-start needs a solution-end")

    if not LIST_ITEM.search(sections["Summary"][1]):
        problems.append("Summary: needs a list")
    if not re.search(r"\]\([^)]+\)|\{doc\}|\{ref\}", sections["What next"][1]):
        problems.append("What next: needs a link onward")
    if not re.search(r"\{cite(?::[pt])?\}`[^`]+`", markdown):
        problems.append("no citation ({cite:p} or {cite:t} of a key in book/references.bib)")
    return problems


def test_there_are_chapters():
    assert len(CHAPTERS) >= 5


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_has_the_common_shape(path):
    problems = shape_problems(json.loads(path.read_text()), path.stem)
    assert not problems, f"{path.name}:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_citations_exist_in_bibliography(path):
    keys = set(re.findall(r"@\w+\{([^,\s]+),", (ROOT / "book" / "references.bib").read_text()))
    nb = json.loads(path.read_text())
    cited = set()
    for cell in nb["cells"]:
        for group in re.findall(r"\{cite(?::[pt])?\}`([^`]+)`", _src(cell)):
            cited.update(k.strip() for k in group.split(","))
    assert cited <= keys, f"{path.name}: not in book/references.bib: {sorted(cited - keys)}"


def test_figure_names_unique_across_the_book():
    seen = {}
    for path in CHAPTERS:
        for cell in json.loads(path.read_text())["cells"]:
            name = cell.get("metadata", {}).get("mystnb", {}).get("figure", {}).get("name")
            if name:
                assert name not in seen, f"figure {name!r} in {path.name} and {seen[name]}"
                seen[name] = path.name


def _good_notebook():
    md = lambda s: {"cell_type": "markdown", "metadata": {}, "source": s}  # noqa: E731
    code = lambda s, meta=None: {"cell_type": "code", "metadata": meta or {}, "source": s,  # noqa: E731
                                 "outputs": [], "execution_count": None}
    fig = {"mystnb": {"figure": {"caption": "A plot.", "name": "fig-toy-plot"}, "image": {"alt": "A line."}}}
    return {"cells": [
        md("# Toy\n\nAn introduction.\n\n## Overview\n\n- one\n- two\n- three\n\n"
           "## Prerequisites\n\n- [FODO](fodo.ipynb)\n- Run time: about 5 s.\n"),
        code("import numpy as np\n\nrng = np.random.default_rng(1)\n"),
        md("## Physics\n\nSee {numref}`fig-toy-plot` and {cite:p}`wille2000`.\n"),
        code("plt.plot(rng.normal(size=3))\nplt.show()", fig),
        md("## Exercises\n\n```{exercise}\n:label: ex-toy-a\n\nDo a.\n```\n\n"
           "```{solution-start} ex-toy-a\n:class: dropdown\n```\n"),
        code("print(1)"),
        md("```{solution-end}\n```\n\n```{exercise}\n:label: ex-toy-b\n\nDo b.\n```\n\n"
           "```{solution} ex-toy-b\n:class: dropdown\n\nB.\n```\n\n"
           "## Summary\n\n- done\n\n## What next\n\n[FODO](fodo.ipynb)\n"),
    ]}


def test_checker_accepts_a_good_toy_chapter():
    assert shape_problems(_good_notebook(), "toy") == []


@pytest.mark.parametrize("breakage, message", [
    (lambda nb: nb["cells"][3]["metadata"]["mystnb"]["image"].pop("alt"), "alt text"),
    (lambda nb: nb["cells"][3]["metadata"]["mystnb"]["figure"].pop("caption"), "caption"),
    (lambda nb: nb["cells"][2].update(source="## Physics\n\n{cite:p}`wille2000`\n"), "numref"),
    (lambda nb: nb["cells"][0].update(source=nb["cells"][0]["source"].replace("- three\n", "")),
     "three learning goals"),
    (lambda nb: nb["cells"][0].update(source=nb["cells"][0]["source"].replace("Run time: about 5 s.", "x")),
     "run time"),
    (lambda nb: nb["cells"][6].update(source=nb["cells"][6]["source"].replace(":class: dropdown\n", "")),
     "dropdown"),
    (lambda nb: nb["cells"][5].update(source="from scipy import optimize\n"), "imports belong"),
    (lambda nb: nb["cells"][6].update(source=nb["cells"][6]["source"].replace("## What next", "## Next")),
     "What next"),
    (lambda nb: nb["cells"][2].update(source="## Physics\n\n{numref}`fig-toy-plot`\n"), "citation"),
])
def test_checker_rejects_a_broken_chapter(breakage, message):
    nb = _good_notebook()
    breakage(nb)
    problems = shape_problems(nb, "toy")
    assert any(message in p for p in problems), problems
