"""Outcome of each row of the bad-input catalogue against whichever beamkit is importable.

For the issue-16 note: run it once with the library before a change and once after, e.g.

    PYTHONPATH=<old checkout>/lib python tools/catalogue_outcomes.py lattices elements
    PYTHONPATH=lib python tools/catalogue_outcomes.py lattices elements

Each row is classified as ``named`` (the catalogued beamkit error with the catalogued words),
``named-vague`` (a beamkit error, but another class or a message lacking the words),
``generic`` (a non-beamkit exception: ValueError, KeyError, ZeroDivisionError ...),
``silent`` (returned a value: a wrong or NaN result) or ``hang`` (no answer within the limit).
"""

import argparse
import collections
import importlib.util
import pathlib
import signal
import sys
import warnings

HERE = pathlib.Path(__file__).resolve().parent.parent / "tests" / "bad_input"


class _Hang(Exception):
    pass


def _alarm(signum, frame):
    raise _Hang()


def outcome(call, error, words, limit_s):
    from beamkit.errors import BeamkitError

    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(limit_s)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # outcomes only; warnings are not counted here
            call()
    except _Hang:
        return "hang", "no answer"
    except BeamkitError as exc:
        text = str(exc).lower()
        ok = isinstance(exc, error) and all(w.lower() in text for w in words)
        return ("named" if ok else "named-vague"), f"{type(exc).__name__}: {exc}"
    except Exception as exc:  # noqa: BLE001 - classifying is the point
        return "generic", f"{type(exc).__name__}: {exc}"
    finally:
        signal.alarm(0)
    return "silent", "returned"


def _line(label, counts):
    listed = ", ".join(f"{k} {n}" for k, n in sorted(counts.items()))
    return f"{label:14s} {sum(counts.values()):4d} rows: {listed}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="+", help="stems of tests/bad_input/*.py")
    parser.add_argument("--limit-s", type=int, default=60, help="seconds before a row counts as a hang")
    parser.add_argument("-v", action="store_true", help="print every row")
    args = parser.parse_args()
    import beamkit

    print(f"beamkit from {pathlib.Path(beamkit.__file__).parent}")
    totals = collections.Counter()
    for stem in args.modules:
        spec = importlib.util.spec_from_file_location(f"bad_input_{stem}", HERE / f"{stem}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        counts = collections.Counter()
        for case_id, call, error, words, *_ in module.CASES:
            kind, detail = outcome(call, error, words, args.limit_s)
            counts[kind] += 1
            if args.v:
                print(f"  {stem}:{case_id:40s} {kind:12s} {' '.join(detail.split())[:110]}")
        totals.update(counts)
        print(_line(stem, counts))
    print(_line("total", totals))
    return 0


if __name__ == "__main__":
    sys.exit(main())
