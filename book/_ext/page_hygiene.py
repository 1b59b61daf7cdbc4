"""Two fixes that keep the browser console of every page clean (tests/test_browser.py).

- sphinx-thebe registers its inline configuration script (``const THEBE_JS_URL = ...``) once per
  reading pass; with Jupyter Book's build it lands twice on every page and the second copy throws
  "Identifier 'THEBE_JS_URL' has already been declared". Identical scripts are dropped here.
- pydata-sphinx-theme starts a first visit with an empty theme mode (``data-default-mode=""``) and
  logs "Got invalid theme mode" as a console error; the page context's ``default_mode`` is set to
  ``auto``, the mode the theme falls back to anyway.
"""


def _page_context(app, pagename, templatename, context, doctree):
    if not context.get("default_mode"):
        context["default_mode"] = "auto"
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        # An inline script's filename is None, or "" once sphinx-book-theme has hashed the assets.
        key = (str(getattr(script, "filename", script) or ""),
               tuple(sorted((k, str(v)) for k, v in getattr(script, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def setup(app):
    app.connect("html-page-context", _page_context, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
