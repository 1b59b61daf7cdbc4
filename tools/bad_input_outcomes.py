"""Outcome of each bad-input catalogue row against a given beamkit, for the issue-16 note.

Run from the repository root, choosing the library with PYTHONPATH::

    PYTHONPATH=/work/main/lib .venv/bin/python tools/bad_input_outcomes.py tune fieldmap beam tracking
    PYTHONPATH=lib .venv/bin/python tools/bad_input_outcomes.py tune fieldmap beam tracking

Each row of ``tests/bad_input/<module>.py`` is called once (with a time limit) and classed as
``named`` (raised the beamkit error the row expects), ``other-beamkit`` (a beamkit error of
another class), ``generic`` (a non-beamkit exception), ``silent`` (returned a result:
wrong, NaN or truncated) or ``hang`` (still running after the limit). ``--new-since REV``
limits the table to rows whose id is not in that revision's file.
"""

import argparse
import collections
import importlib.util
import pathlib
import signal
import subprocess
import warnings

ROOT = pathlib.Path(__file__).resolve().parents[1]


class _Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise _Timeout


def classify(call, expected, limit_s):
    from beamkit.errors import BeamkitError

    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(limit_s)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            call()
    except _Timeout:
        return "hang", ""
    except expected as exc:
        return "named", type(exc).__name__
    except BeamkitError as exc:
        return "other-beamkit", type(exc).__name__
    except Exception as exc:  # noqa: BLE001 - classifying is the point
        return "generic", f"{type(exc).__name__}: {str(exc)[:60]}"
    finally:
        signal.alarm(0)
    return "silent", ""


def old_ids(module, rev):
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("modules", nargs="+")
    ap.add_argument("--new-since", default=None)
    ap.add_argument("--limit-s", type=int, default=60)
    ap.add_argument("--skip", action="append", default=[],
                    help="module:case rows not to run (e.g. one that would allocate 300 GiB on "
                         "a library without the memory check); reported as 'not run'")
    args = ap.parse_args()
    import beamkit

    print(f"# beamkit from {pathlib.Path(beamkit.__file__).parent}")
    totals = collections.Counter()
    for module in args.modules:
        path = ROOT / "tests" / "bad_input" / f"{module}.py"
        spec = importlib.util.spec_from_file_location(f"bad_input_{module}", path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        skip = old_ids(module, args.new_since) if args.new_since else set()
        counts = collections.Counter()
        for row in mod.CASES:
            if row[0] in skip:
                continue
            if f"{module}:{row[0]}" in args.skip:
                counts["not run"] += 1
                print(f"{module}:{row[0]:40s} {'not run':14s} (--skip)")
                continue
            outcome, detail = classify(row[1], row[2], args.limit_s)
            counts[outcome] += 1
            print(f"{module}:{row[0]:40s} {outcome:14s} {detail}")
        totals.update(counts)
        print(f"## {module}: {dict(sorted(counts.items()))}")
    print(f"## total: {dict(sorted(totals.items()))}")


if __name__ == "__main__":
    main()
