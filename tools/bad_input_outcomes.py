"""Outcome of each row of the bad-input catalogue against whichever beamkit is importable.

For the issue-16 note: run it once with the library before a change and once after,
choosing the library with ``PYTHONPATH`` (from the repository root)::

    git archive <rev> lib | tar -x -C /tmp/bk_before
    PYTHONPATH=/tmp/bk_before/lib .venv/bin/python tools/bad_input_outcomes.py
    PYTHONPATH=lib .venv/bin/python tools/bad_input_outcomes.py
    PYTHONPATH=lib .venv/bin/python tools/bad_input_outcomes.py tune fieldmap --new-since main -v

With no module named, every ``tests/bad_input/<module>.py`` is run. Each row is called once,
under a time limit, and classed as

* ``named``: raised the catalogued beamkit error, with all the catalogued words;
* ``named-vague``: a beamkit error, but of another class or lacking some of the words;
* ``generic``: a non-beamkit exception (``ValueError``, ``KeyError``, ``ZeroDivisionError`` ...);
* ``silent``: returned a value (a wrong, NaN or truncated result);
* ``hang``: no answer within ``--limit-s``;
* ``not run``: skipped with ``--skip module:case`` (e.g. a row that would allocate 300 GiB
  on a library without the up-front memory check).

``--new-since REV`` limits the table to rows whose id is not in that revision's file.
Warnings are not counted (they are ignored while a row runs).
"""

import argparse
import collections
import importlib.util
import pathlib
import signal
import subprocess
import sys
import warnings

ROOT = pathlib.Path(__file__).resolve().parents[1]
CATALOGUE = ROOT / "tests" / "bad_input"
OUTCOMES = ("named", "named-vague", "generic", "silent", "hang", "not run")


class _Hang(Exception):
    pass


def _alarm(signum, frame):
    raise _Hang()


def classify(call, error, words, limit_s):
    """``(outcome, detail)`` of one catalogue row; see the module docstring."""
    from beamkit.errors import BeamkitError

    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(limit_s)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # outcomes only; warnings are not counted here
            call()
    except _Hang:
        return "hang", f"no answer within {limit_s} s"
    except BeamkitError as exc:
        text = str(exc).lower()
        ok = isinstance(exc, error) and all(w.lower() in text for w in words)
        return ("named" if ok else "named-vague"), f"{type(exc).__name__}: {exc}"
    except Exception as exc:  # noqa: BLE001 - classifying is the point
        return "generic", f"{type(exc).__name__}: {exc}"
    finally:
        signal.alarm(0)
    return "silent", "returned"


def old_ids(module, rev):
    """Case ids of ``tests/bad_input/<module>.py`` at revision ``rev`` (empty if absent)."""
    try:
        text = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:tests/bad_input/{module}.py"],
                              capture_output=True, text=True, check=True).stdout
    except subprocess.CalledProcessError:
        return set()
    ns = {}
    try:
        exec(compile(text, f"{module}@{rev}", "exec"), ns)
    except Exception:  # noqa: BLE001 - an old file may not import against this library
        return set()
    return {row[0] for row in ns.get("CASES", [])}


def _line(label, counts):
    listed = ", ".join(f"{k} {counts[k]}" for k in OUTCOMES if counts[k])
    return f"{label:20s} {sum(counts.values()):4d} rows: {listed}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help="stems of tests/bad_input/*.py (default: all)")
    parser.add_argument("--new-since", default=None, metavar="REV",
                        help="only rows whose id is not in that revision's catalogue file")
    parser.add_argument("--limit-s", type=int, default=60, help="seconds before a row counts as a hang")
    parser.add_argument("--skip", action="append", default=[], metavar="MODULE:CASE",
                        help="a row not to run (reported as 'not run'); may be repeated")
    parser.add_argument("-v", action="store_true", help="print every row")
    args = parser.parse_args()
    import beamkit

    modules = args.modules or sorted(p.stem for p in CATALOGUE.glob("[!_]*.py"))
    print(f"beamkit from {pathlib.Path(beamkit.__file__).parent}")
    totals = collections.Counter()
    for stem in modules:
        spec = importlib.util.spec_from_file_location(f"bad_input_{stem}", CATALOGUE / f"{stem}.py")
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)
        except Exception as exc:  # noqa: BLE001 - an old library may lack what the rows import
            print(f"{stem:20s} catalogue does not import: {type(exc).__name__}: {exc}")
            continue
        known = old_ids(stem, args.new_since) if args.new_since else set()
        counts = collections.Counter()
        for case_id, call, error, words, *_ in module.CASES:
            if case_id in known:
                continue
            if f"{stem}:{case_id}" in args.skip:
                kind, detail = "not run", "--skip"
            else:
                kind, detail = classify(call, error, words, args.limit_s)
            counts[kind] += 1
            if args.v:
                print(f"  {stem}:{case_id:40s} {kind:12s} {' '.join(detail.split())[:110]}")
        totals.update(counts)
        print(_line(stem, counts))
    print(_line("total", totals))
    return 0


if __name__ == "__main__":
    sys.exit(main())
