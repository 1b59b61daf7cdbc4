"""Open every page of a built site in headless Chromium and report what a reader would hit.

Serves the site on 127.0.0.1 (a free port) and, per page, records:

- console errors and uncaught page errors;
- failed requests (network failure or HTTP status >= 400), and ANY request to a host other than
  the local server: the site must work offline, so such requests are blocked and reported;
- images that do not load (``naturalWidth == 0``);
- links inside the site that point at a missing file or a missing ``#anchor``;
- math left unrendered: raw ``\\(``, ``\\[``, ``$$`` or ``\\begin{`` in the rendered text (code
  excluded), or a page with math elements but no MathJax output (``mjx-container``).

Screenshots (full page) of the chosen pages go to a folder. Usage::

    python tools/browser_check.py _build/html --screenshots _build/screenshots

The browser is Debian's ``chromium`` (or ``$BEAMKIT_CHROMIUM``) driven by Playwright for Python;
Playwright's own browser download is not needed.
"""

import argparse
import functools
import http.server
import os
import re
import shutil
import sys
import threading
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
RAW_TEX = re.compile(r"\\\(|\\\)|\\\[|\\\]|\$\$|\\begin\{")
_META_REFRESH = re.compile(
    r"""<meta[^>]+http-equiv=["']?refresh["']?[^>]*content=["'][^"';]*;\s*url=([^"']+)["']""", re.I)
SKIP_DIRS = {"_static", "_sources", "_images", "_sphinx_design_static", "_panels_static"}


def find_chromium():
    """Path of a Chromium executable, or None."""
    candidates = [os.environ.get("BEAMKIT_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium"),
                  shutil.which("chromium-browser")]
    for path in candidates:
        if path and Path(path).is_file() and os.access(path, os.X_OK):
            return path
    return None


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@contextmanager
def serve(directory):
    """Serve ``directory`` on 127.0.0.1 at a free port; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def site_pages(site):
    """Relative paths of the HTML pages of a built site (assets folders excluded)."""
    site = Path(site)
    pages = []
    for path in sorted(site.rglob("*.html")):
        rel = path.relative_to(site)
        if not SKIP_DIRS.intersection(rel.parts[:-1]):
            pages.append(rel.as_posix())
    return pages


@functools.lru_cache(maxsize=None)
def _anchors(path):
    text = Path(path).read_text(errors="replace")
    return set(re.findall(r"""\b(?:id|name)\s*=\s*["']([^"']+)["']""", text))


def _check_link(site, page, href, base):
    """Problem text for a broken internal link, or None."""
    parts = urlsplit(href)
    if parts.scheme in ("mailto", "javascript", "data", "tel"):
        return None
    if not href.startswith(base):
        return None  # an external link: not followed (the reader may be offline)
    rel = unquote(parts.path[len(urlsplit(base).path):])
    target = Path(site) / rel
    if rel == "" or rel.endswith("/"):
        target = target / "index.html"
    if not target.exists():
        return f"broken link to {rel!r}"
    if parts.fragment and target.suffix == ".html" and unquote(parts.fragment) not in _anchors(str(target)):
        return f"broken link to {rel}#{parts.fragment} (no such anchor)"
    return None


_IMAGES_JS = """async () => {
  const imgs = Array.from(document.images);
  imgs.forEach(i => { i.loading = 'eager'; });
  await Promise.all(imgs.map(i => i.complete ? null : new Promise(r => {
      i.addEventListener('load', r); i.addEventListener('error', r); setTimeout(r, 5000); })));
  return imgs.filter(i => i.naturalWidth === 0).map(i => i.getAttribute('src'));
}"""

_MATH_JS = """async () => {
  const n = document.querySelectorAll('.math, span.math, div.math').length;
  if (n && window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  const clone = document.body.cloneNode(true);
  clone.querySelectorAll('pre, code, script, style, textarea, mjx-assistive-mml, .highlight')
       .forEach(e => e.remove());
  return {math: n, rendered: document.querySelectorAll('mjx-container').length,
          text: clone.textContent};
}"""


def check_site(site, pages=None, screenshot_dir=None, screenshot=lambda page: True, chromium=None):
    """Check ``pages`` (default: all) of the built site; return ``{page: [problems]}``.

    Pages for which ``screenshot(page)`` is true get a full-page PNG in ``screenshot_dir``.
    """
    from playwright.sync_api import sync_playwright

    site = Path(site)
    pages = site_pages(site) if pages is None else list(pages)
    chromium = chromium or find_chromium()
    if chromium is None:
        raise FileNotFoundError("no Chromium executable found (install Debian's `chromium`)")
    if screenshot_dir is not None:
        Path(screenshot_dir).mkdir(parents=True, exist_ok=True)
    report = {}
    with serve(site) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        host = urlsplit(base).netloc

        def offline(route):
            url = route.request.url
            if urlsplit(url).scheme in ("http", "https", "ws", "wss") and urlsplit(url).netloc != host:
                route.abort("blockedbyclient")
            else:
                route.continue_()

        context.route("**/*", offline)
        for rel in pages:
            problems = []
            refresh = _META_REFRESH.search((site / rel).read_text(errors="replace"))
            if refresh:  # a redirect page (the book's index.html): check where it points, not it
                target = urljoin(base + rel, refresh.group(1).strip())
                problem = _check_link(site, rel, target, base)
                report[rel] = [problem] if problem else []
                continue
            page = context.new_page()
            page.on("console", lambda msg, p=problems: msg.type == "error"
                    and p.append(f"console error: {msg.text}"))
            page.on("pageerror", lambda exc, p=problems: p.append(f"page error: {exc}"))

            def on_request(request, p=problems):
                parts = urlsplit(request.url)
                if parts.scheme in ("http", "https", "ws", "wss") and parts.netloc != host:
                    p.append(f"request to a remote host: {request.url}")

            def on_failed(request, p=problems):
                if urlsplit(request.url).netloc == host:
                    p.append(f"failed request: {request.url} ({request.failure})")

            def on_response(response, p=problems):
                if response.status >= 400:
                    p.append(f"HTTP {response.status}: {response.url}")

            page.on("request", on_request)
            page.on("requestfailed", on_failed)
            page.on("response", on_response)
            page.goto(base + rel, wait_until="load")
            for src in page.evaluate(_IMAGES_JS):
                problems.append(f"image does not load: {src}")
            math = page.evaluate(_MATH_JS)
            raw = RAW_TEX.search(math["text"])
            if raw:
                start = max(raw.start() - 40, 0)
                snippet = " ".join(math["text"][start:raw.end() + 40].split())
                problems.append(f"unrendered math in the text: ...{snippet}...")
            if math["math"] and not math["rendered"]:
                problems.append(f"{math['math']} math element(s) but no MathJax output")
            hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
            for href in sorted(set(hrefs)):
                problem = _check_link(site, rel, href, base)
                if problem:
                    problems.append(problem)
            if screenshot_dir is not None and screenshot(rel):
                page.screenshot(path=str(Path(screenshot_dir) / (rel.replace("/", "_")[:-5] + ".png")),
                                full_page=True)
            page.close()
            report[rel] = list(dict.fromkeys(problems))
        browser.close()
    return report


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", nargs="?", default="_build/html")
    parser.add_argument("--screenshots", default=None, help="folder for full-page screenshots")
    args = parser.parse_args(argv)
    report = check_site(args.site, screenshot_dir=args.screenshots)
    bad = {page: problems for page, problems in report.items() if problems}
    for page, problems in bad.items():
        print(page)
        for problem in problems:
            print("   ", problem)
    print(f"{len(report)} pages checked, {len(bad)} with problems")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
