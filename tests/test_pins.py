"""environment.yml (Binder, conda) and constraints.txt (make) must pin the same versions."""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _norm(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def _constraints():
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"constraints.txt: {line!r} is not pinned with =="
            pins[_norm(name)] = version.strip()
    return pins


def _environment():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    pins = {}
    for entry in pip:
        if entry.startswith("-e"):
            continue
        name, _, version = entry.partition("==")
        assert version, f"environment.yml: {entry!r} is not pinned with =="
        pins[_norm(name)] = version.strip()
    return pins


def test_environment_pins_match_constraints():
    constraints, environment = _constraints(), _environment()
    mismatched = {n: (v, constraints.get(n)) for n, v in environment.items() if constraints.get(n) != v}
    assert not mismatched, f"environment.yml vs constraints.txt (env, constraints): {mismatched}"


def test_every_direct_dependency_is_pinned_in_both():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    direct = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        direct += extra
    names = {_norm(re.split(r"[<>=\[ ;]", d)[0]) for d in direct}
    constraints, environment = _constraints(), _environment()
    assert names <= set(constraints), f"not in constraints.txt: {names - set(constraints)}"
    assert names <= set(environment), f"not in environment.yml: {names - set(environment)}"
