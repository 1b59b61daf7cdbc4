"""Render a benchmark record (default benchmarks/results/latest.json) as a Markdown table.

    python benchmarks/summary.py [record.json]

Used to quote the latest run in the README.
"""

import json
import sys
from pathlib import Path


def _time(seconds):
    if seconds < 1e-5:
        return f"{seconds * 1e9:.1f} ns"
    if seconds < 1e-2:
        return f"{seconds * 1e6:.1f} us"
    return f"{seconds * 1e3:.1f} ms"


def render(record):
    m = record["machine"]
    lines = [
        f"Run {record['started_utc']} (commit {str(record.get('git_commit'))[:10]}) on {m['cpu']}, "
        f"{m['affinity']} CPUs usable (quota {m['cgroup_cpu_quota']}), beamkit threads "
        f"{m['beamkit_threads']}, load average at start {m['load_average_at_start'][0]:.1f}; "
        + ", ".join(f"{k} {v}" for k, v in record["versions"].items() if v) + ".",
        "",
    ]
    for name, case in record["cases"].items():
        lines += [f"**{name}**: {case['description']}", "",
                  "| implementation | time | vs baseline |", "|---|---:|---:|"]
        for row in case["rows"]:
            lines.append(f"| {row['label']} | {_time(row['seconds'])} {row['per']} | "
                         f"{row['ratio_to_baseline']:.3g}x |")
        lines += [""] + [f"- {n}" for n in case["notes"]] + [""]
    return "\n".join(lines)


if __name__ == "__main__":
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "results" / "latest.json"
    print(render(json.loads(path.read_text())))
