"""Serve MathJax from the built site instead of a CDN, so the book renders its math offline.

MathJax 3 comes from the pinned pip package ``django-static-mathjax`` (the ``mathjax`` module,
MathJax 3.2.2 with its LICENSE; nothing of Django is needed). After a successful HTML build its
``es5`` component tree (scripts, TeX extensions loaded on demand, CHTML web fonts) is copied to
``_static/mathjax`` and ``mathjax_path`` (set in ``_config.yml``) points at a file inside it.
"""

from pathlib import Path

from sphinx.errors import ExtensionError
from sphinx.util.fileutil import copy_asset

TARGET = "mathjax"  # folder under _static; mathjax_path in _config.yml starts with it


def _source_dir():
    try:
        import mathjax
    except ImportError as exc:  # the book extra of pyproject.toml installs it
        raise ExtensionError(
            "offline_mathjax: the package django-static-mathjax is not installed; "
            "install the project's `book` extra (pip install -c constraints.txt -e '.[book]')") from exc
    src = Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"
    if not (src / "tex-chtml.js").is_file():
        raise ExtensionError(f"offline_mathjax: no MathJax 3 es5 build found at {src}")
    return src


def _check_config(app, config):
    path = config.mathjax_path or ""
    if "://" in path or not path.startswith(TARGET + "/"):
        raise ExtensionError(
            f"offline_mathjax: mathjax_path is {path!r}; set it to a local file such as "
            f"'{TARGET}/tex-chtml.js' (relative to _static) so the site works offline")
    _source_dir()


def _copy(app, exc):
    if exc is None and app.builder.format == "html":
        copy_asset(str(_source_dir()), str(Path(app.outdir) / "_static" / TARGET))


def setup(app):
    app.connect("config-inited", _check_config)
    app.connect("build-finished", _copy)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
