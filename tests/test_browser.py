"""The built book in a real browser (headless Chromium via Playwright; tools/browser_check.py).

`make browser` (part of `make test`, after the book build) runs the tests marked `browser` on
`_build/html`: every page without console errors, failed or remote requests, broken images,
broken internal links or unrendered math, and a full-page screenshot of every chapter in
`_build/screenshots/`. The checker itself is tested on a tiny fake site with a broken figure,
a raw formula, a broken link and a remote asset.

Without a Chromium executable the tests skip with a plain message; with the environment
variable CI set, a missing browser (or a missing build) is an error instead.
"""

import os
import re
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import browser_check  # noqa: E402

SITE = ROOT / "_build" / "html"
SCREENSHOTS = ROOT / "_build" / "screenshots"


def _unavailable(reason):
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so this is an error, not a skip)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def chromium():
    path = browser_check.find_chromium()
    if path is None:
        _unavailable("browser test skipped: no Chromium found (Debian: apt-get install chromium; "
                     "or set BEAMKIT_CHROMIUM to its path)")
    return path


@pytest.mark.browser
def test_built_book_in_browser(chromium):
    if not (SITE / "index.html").exists():
        _unavailable("browser test skipped: no built book in _build/html (run `make book` first)")
    pages = browser_check.site_pages(SITE)
    chapters = [p for p in pages if p.startswith("notebooks/")]
    assert len(chapters) >= 5 and "index.html" in pages
    if SCREENSHOTS.exists():
        shutil.rmtree(SCREENSHOTS)
    report = browser_check.check_site(SITE, pages, screenshot_dir=SCREENSHOTS,
                                      screenshot=lambda page: page.startswith("notebooks/"),
                                      chromium=chromium)
    bad = {page: problems for page, problems in report.items() if problems}
    assert not bad, "\n".join(f"{page}:\n    " + "\n    ".join(p) for page, p in bad.items())
    for chapter in chapters:
        shot = SCREENSHOTS / (chapter.replace("/", "_")[:-5] + ".png")
        assert shot.stat().st_size > 10_000, f"no useful screenshot of {chapter}"


PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>{title}</title>{head}</head>
<body><main><h1 id="top">{title}</h1>{body}</main></body></html>"""
MATHJAX = '<script defer src="mathjax/tex-chtml.js"></script>'
# A 1x1 PNG (a valid image that loads).
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000100e5270de40000000049454e44ae426082")


@pytest.fixture(scope="module")
def fake_site(tmp_path_factory):
    """A tiny site: one good page and one page per kind of breakage."""
    site = tmp_path_factory.mktemp("site")
    sys.path.insert(0, str(ROOT / "book" / "_ext"))
    import offline_mathjax

    shutil.copytree(offline_mathjax._source_dir(), site / "mathjax")
    (site / "ok.png").write_bytes(PNG)
    math = r'<p>Inline <span class="math notranslate nohighlight">\(\beta_x(s)\)</span>.</p>'
    code = "<pre>echo $$ \\(not math\\)</pre>"
    pages = {
        "good.html": (MATHJAX, f'{math}{code}<img src="ok.png" alt="ok"><a href="other.html#top">x</a>'
                      '<a href="https://example.org/">an external link is not followed</a>'),
        "other.html": ("", "<p>No math here.</p>"),
        "broken_image.html": ("", '<img src="figure_that_is_missing.png" alt="broken on purpose">'),
        "raw_formula.html": ("", math),  # MathJax not loaded: the TeX stays raw
        "raw_display.html": ("", r"<p>$$ \\beta = L/\\sin\\mu $$</p>"),  # no MathJax at all
        "broken_link.html": ("", '<a href="nowhere.html">x</a><a href="other.html#no-anchor">y</a>'),
        "remote.html": ('<link rel="stylesheet" href="https://fonts.example.org/font.css">', "<p>x</p>"),
        "js_error.html": ("<script>undefined_function();</script>", "<p>x</p>"),
    }
    for name, (head, body) in pages.items():
        (site / name).write_text(PAGE.format(title=name, head=head, body=body))
    return site


@pytest.fixture(scope="module")
def fake_report(fake_site, chromium, tmp_path_factory):
    shots = tmp_path_factory.mktemp("shots")
    report = browser_check.check_site(fake_site, screenshot_dir=shots,
                                      screenshot=lambda page: page == "good.html", chromium=chromium)
    return report, shots


def test_checker_passes_a_good_page(fake_report):
    report, shots = fake_report
    assert report["good.html"] == [] and report["other.html"] == []
    assert (shots / "good.png").stat().st_size > 0 and not (shots / "other.png").exists()


@pytest.mark.parametrize("page, expected", [
    ("broken_image.html", ["image does not load: figure_that_is_missing.png", "HTTP 404"]),
    ("raw_formula.html", ["unrendered math", "no MathJax output"]),
    ("raw_display.html", ["unrendered math"]),
    ("broken_link.html", ["broken link to 'nowhere.html'", "broken link to other.html#no-anchor"]),
    ("remote.html", ["request to a remote host: https://fonts.example.org/font.css"]),
    ("js_error.html", ["page error"]),
])
def test_checker_fails_a_broken_page(fake_report, page, expected):
    problems = fake_report[0][page]
    for text in expected:
        assert any(text in p for p in problems), f"{page}: {text!r} not in {problems}"


def test_site_pages_skips_assets(fake_site):
    (fake_site / "_static").mkdir(exist_ok=True)
    (fake_site / "_static" / "x.html").write_text("<html></html>")
    assert "_static/x.html" not in browser_check.site_pages(fake_site)


def test_mathjax_is_configured_locally():
    """The site's MathJax comes from _static (offline); a CDN path is refused at build time."""
    import types

    import yaml
    from sphinx.errors import ExtensionError

    sys.path.insert(0, str(ROOT / "book" / "_ext"))
    import offline_mathjax

    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert "offline_mathjax" in config["sphinx"]["local_extensions"]
    assert config["sphinx"]["config"]["nb_ipywidgets_js"] == {}  # no widget JavaScript from a CDN
    path = config["sphinx"]["config"]["mathjax_path"]
    offline_mathjax._check_config(None, types.SimpleNamespace(mathjax_path=path))
    assert (offline_mathjax._source_dir() / path.removeprefix("mathjax/")).is_file()
    cdn = "https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js"
    with pytest.raises(ExtensionError, match="mathjax_path"):
        offline_mathjax._check_config(None, types.SimpleNamespace(mathjax_path=cdn))


def test_missing_browser_skips_plainly_and_is_an_error_on_ci(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no Chromium"):
        _unavailable("browser test skipped: no Chromium found")
    monkeypatch.setenv("CI", "1")
    with pytest.raises(pytest.fail.Exception, match="CI is set"):
        _unavailable("browser test skipped: no Chromium found")


@pytest.mark.browser
def test_real_chapter_broken_on_purpose_fails(chromium, tmp_path):
    """A copy of the built FODO chapter with one figure file deleted and MathJax removed fails."""
    if not (SITE / "notebooks" / "fodo.html").exists():
        _unavailable("browser test skipped: no built book in _build/html (run `make book` first)")
    copy = tmp_path / "html"
    shutil.copytree(SITE, copy, ignore=shutil.ignore_patterns("mathjax"))  # the copy has no MathJax
    html = (copy / "notebooks" / "fodo.html").read_text()
    figure = next(src for src in re.findall(r'<img[^>]+src="([^"]+)"', html) if "_images/" in src)
    (copy / "notebooks" / figure).resolve().unlink()
    report = browser_check.check_site(copy, ["notebooks/fodo.html"], chromium=chromium)
    problems = report["notebooks/fodo.html"]
    assert any(p.startswith("image does not load") and Path(figure).name in p for p in problems), problems
    assert any(p.startswith("unrendered math") for p in problems), problems
    assert any("no MathJax output" in p for p in problems), problems
