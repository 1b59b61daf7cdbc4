"""The shape of the library (issue 8): physics-named modules, each with its test module,
no import cycles, no long module without a stated reason, the vocabulary table in both places."""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LIB = ROOT / "lib" / "beamkit"
PRIVATE_OR_SHARED = {"__init__", "_validate", "errors", "reference_values", "plotting", "elements"}

# Module -> test module(s) that check its physics (CONTRIBUTING.md, module map).
TESTS = {
    "matrices": ["test_matrices.py"],
    "lattices": ["test_lattices.py"],
    "madx": ["test_madx_errors.py"],
    "optics": ["test_optics.py"],
    "longitudinal": ["test_longitudinal.py"],
    "chromaticity": ["test_chromaticity.py"],
    "tune": ["test_tune.py"],
    "tracking": ["test_tracking.py"],
    "beam": ["test_beam.py"],
    "fieldmap": ["test_fieldmap_io.py", "test_fieldmap_models.py", "test_fieldmap_tracking.py",
                 "test_fieldmap_peers.py"],
    "_threads": ["test_threads.py"],
    "bpm": ["test_bpm.py"],
    "radiation": ["test_radiation.py"],
    "fits": ["test_fits.py"],
    "sextupole_scan": ["test_sextupole_scan.py"],  # a package: _maps, _ring, _orbit, _scan, ...
    "ring_design": ["test_ring_design.py"],
}


def _modules():
    """Top-level beamkit modules and packages, by name."""
    names = {p.stem for p in LIB.glob("*.py")}
    names |= {p.name for p in LIB.iterdir() if (p / "__init__.py").exists()}
    return sorted(names)


def _imports(path, own):
    """beamkit modules a file imports, at any depth (lazy imports count too).

    Relative imports are resolved from where the file is: ``from .x`` in ``beamkit/m.py`` and
    ``from ..x`` in ``beamkit/pkg/m.py`` both name the module ``x``; ``from .x`` inside a package
    is the package itself."""
    tree = ast.parse(path.read_text())
    to_beamkit = len(path.relative_to(LIB).parts)  # the import level that reaches beamkit/
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level == to_beamkit and node.module:
                found.add(node.module.split(".")[0])
            elif node.level == to_beamkit:
                found.update(alias.name for alias in node.names)
            elif node.level == 0 and node.module and node.module.startswith("beamkit."):
                found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("beamkit."):
                    found.add(alias.name.split(".")[1])
    return found - {own}


def test_every_physics_module_has_its_test_module():
    for module in _modules():
        if module in PRIVATE_OR_SHARED:
            continue
        assert module in TESTS, f"beamkit.{module} is not in the module map of this test"
        for name in TESTS[module]:
            assert (ROOT / "tests" / name).exists(), f"beamkit.{module}: missing tests/{name}"
        assert f"`beamkit.{module}`" in (ROOT / "CONTRIBUTING.md").read_text()


def test_no_import_cycles_between_modules():
    modules = set(_modules()) - {"__init__"}
    graph = {}
    for m in modules:
        path = LIB / f"{m}.py"
        files = [path] if path.exists() else list((LIB / m).glob("*.py"))
        graph[m] = set().union(*(_imports(f, m) for f in files)) & modules
    state = {}

    def visit(node, stack):
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                raise AssertionError("import cycle: " + " -> ".join(stack + [node, nxt]))
            if nxt not in state:
                visit(nxt, stack + [node])
        state[node] = "done"

    for m in sorted(graph):
        if m not in state:
            visit(m, [])


LONG_ELSEWHERE = set()


def test_long_modules_say_why():
    for path in sorted(LIB.rglob("*.py")):
        rel = str(path.relative_to(LIB))
        n = len(path.read_text().splitlines())
        if n > 420 and rel not in LONG_ELSEWHERE:
            head = ast.get_docstring(ast.parse(path.read_text())) or ""
            assert re.search(r"\blines\b", head), f"beamkit/{rel} has {n} lines and no reason at its top"


@pytest.mark.parametrize("package", ["fieldmap", "bpm", "radiation", "sextupole_scan"])
def test_no_import_cycle_inside_packages(package):
    pkg = LIB / package
    files = {p.stem: p for p in pkg.glob("*.py")}
    graph = {}
    for name, path in files.items():
        tree = ast.parse(path.read_text())
        graph[name] = {n.module for n in ast.walk(tree)
                       if isinstance(n, ast.ImportFrom) and n.level == 1 and n.module in files} - {name}
        graph[name] |= {a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level == 1
                        and n.module is None for a in n.names if a.name in files}
    for a, targets in graph.items():
        for b in targets:
            assert a not in graph.get(b, set()), f"{package}.{a} and {package}.{b} import each other"


def test_vocabulary_table_in_contributing_and_notation():
    names = ["beta_x_m", "dispersion_x_m", "dispersion_prime_x", "mu_x_rad", "p0c_ev", "eps_x_m", "n_turns",
             "q_at_zero", "lost_at_turn"]
    for page in (ROOT / "CONTRIBUTING.md", ROOT / "book" / "notation.md"):
        text = page.read_text()
        for name in names:
            assert f"`{name}`" in text, f"{page.name} lacks {name}"
