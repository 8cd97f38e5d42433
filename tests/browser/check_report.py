#!/usr/bin/env python3
"""Opens a trailsight report.html in headless Chromium through chromedriver (the W3C WebDriver
HTTP protocol, spoken with the standard library only: nothing to install from PyPI) and checks
what a user sees:

- the page loads with no console errors (a CSP violation is one);
- every chart image is present and decodes (naturalWidth > 0);
- the findings table sorts on a header click and filters on a select and on typing;
- injected payloads (window.__xss, a changed title, on* attributes, javascript: links) did not
  take effect, and the payload text is on the page as text;
- screenshots are saved (paths printed).

Usage: check_report.py REPORT_HTML ARTIFACT_DIR [--expect-payload TEXT]... [--finding-id ID]
Exit status 0 when every check passes; 1 with the failed check otherwise.
"""
import argparse
import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1300,1000",
    "--hide-scrollbars",
]
ELEMENT = "element-6066-11e4-a52e-4f735466cecf"


class Failed(Exception):
    pass


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Driver:
    def __init__(self, chromium, chromedriver, profile):
        self.port = free_port()
        self.proc = subprocess.Popen(
            [chromedriver, f"--port={self.port}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if self.call("GET", "/status")["ready"]:
                    break
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise Failed("chromedriver did not become ready")
            time.sleep(0.1)
        caps = {
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    "goog:chromeOptions": {
                        "binary": chromium,
                        "args": CHROMIUM_FLAGS + [f"--user-data-dir={profile}"],
                    },
                    "goog:loggingPrefs": {"browser": "ALL"},
                }
            }
        }
        self.sid = self.call("POST", "/session", caps)["sessionId"]

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            self.base + path, data=data, method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return json.loads(r.read())["value"]
        except urllib.error.HTTPError as e:
            raise Failed(f"{method} {path}: {e.code} {e.read()[:500]!r}")

    def s(self, method, path, body=None):
        return self.call(method, f"/session/{self.sid}{path}", body)

    def js(self, script, *args):
        return self.s("POST", "/execute/sync", {"script": script, "args": list(args)})

    def find(self, css):
        return self.s("POST", "/element", {"using": "css selector", "value": css})[ELEMENT]

    def click(self, css):
        self.s("POST", f"/element/{self.find(css)}/click", {})

    def screenshot(self, path, css=None):
        if css:
            # A tall window so the whole element (chart and tables) is in one picture.
            self.s("POST", "/window/rect", {"width": 1300, "height": 2400})
            self.js("document.querySelector(arguments[0]).scrollIntoView()", css)
            png = self.s("GET", f"/element/{self.find(css)}/screenshot")
        else:
            png = self.s("GET", "/screenshot")
        with open(path, "wb") as f:
            f.write(base64.b64decode(png))
        print(f"screenshot: {path}")

    def close(self):
        try:
            self.s("DELETE", "")
        except Failed:
            pass
        self.proc.terminate()
        self.proc.wait(timeout=10)


def check(cond, what):
    if not cond:
        raise Failed(what)
    print(f"ok: {what}")


def visible_rows(d):
    return d.js(
        "return Array.from(document.querySelectorAll('#findings-table tbody tr'))"
        ".filter(r => !r.hidden).map(r => [r.dataset.kind, r.dataset.principal,"
        " parseFloat(r.cells[0].dataset.v)]);"
    )


def run(a):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    chromedriver = shutil.which("chromedriver")
    if not chromium or not chromedriver:
        raise Failed("chromium and chromedriver are needed (apt-get install chromium chromium-driver)")
    os.makedirs(a.artifacts, exist_ok=True)
    profile = tempfile.mkdtemp(prefix="trailsight-chromium-")
    d = Driver(chromium, chromedriver, profile)
    try:
        d.s("POST", "/url", {"url": "file://" + os.path.abspath(a.report)})
        check(d.js("return document.readyState") == "complete", "page loaded")
        title = d.js("return document.title")
        check(title.startswith("trailsight report"), f"title intact ({title!r})")
        imgs = d.js(
            "return Array.from(document.images).map(i => [i.complete, i.naturalWidth,"
            " i.getAttribute('src').slice(0, 22)]);"
        )
        check(len(imgs) > 0, f"{len(imgs)} chart images present")
        bad = [i for i in imgs if not (i[0] and i[1] > 0 and i[2] == "data:image/png;base64,")]
        check(not bad, f"every image is an embedded PNG that decodes ({len(bad)} bad)")
        check(d.js("return document.querySelectorAll('script').length") == 1, "only the page's own script")
        check(d.js("return window.__xss === undefined"), "no injected script ran (window.__xss unset)")
        on_attrs = d.js(
            "return Array.from(document.querySelectorAll('*')).flatMap(e => Array.from(e.attributes))"
            ".filter(x => x.name.startsWith('on')).map(x => x.name);"
        )
        check(not on_attrs, f"no element carries an event-handler attribute ({on_attrs[:3]})")
        hrefs = d.js("return Array.from(document.querySelectorAll('a[href]')).map(a => a.getAttribute('href'));")
        check(all(h.startswith("#") for h in hrefs), "every link is an in-page anchor")
        text = d.js("return document.body.textContent")
        for p in a.expect_payload:
            check(p in text, f"payload shown as text: {p[:40]!r}")

        rows = visible_rows(d)
        n = len(rows)
        check(n > 1, f"findings table has {n} rows")
        d.click("#findings-table th[data-key=score]")
        scores = [r[2] for r in visible_rows(d)]
        check(scores == sorted(scores), "click on score sorts ascending")
        d.click("#findings-table th[data-key=score]")
        scores = [r[2] for r in visible_rows(d)]
        check(scores == sorted(scores, reverse=True), "second click sorts descending")
        d.click("#findings-table th[data-key=kind]")
        kinds = [r[0] for r in visible_rows(d)]
        check(kinds == sorted(kinds), "click on kind sorts by kind")
        kind = sorted(set(kinds))[-1]
        d.click("#f-kind")
        d.click(f"#f-kind option[value='{kind}']")
        rows = visible_rows(d)
        check(0 < len(rows) < n and all(r[0] == kind for r in rows), f"kind filter keeps only {kind} ({len(rows)} of {n})")
        count = d.js("return document.getElementById('f-count').textContent")
        check(count.startswith(f"{len(rows)} of {n}"), f"count says {count!r}")
        d.click("#f-kind option[value='']")
        check(len(visible_rows(d)) == n, "clearing the filter shows every row")
        principal = next((r[1] for r in visible_rows(d) if r[1]), "")
        if principal:
            needle = principal[-12:]
            el = d.find("#f-principal")
            d.s("POST", f"/element/{el}/value", {"text": needle})
            rows = visible_rows(d)
            check(rows and all(needle.lower() in r[1].lower() for r in rows), f"principal filter ({len(rows)} rows)")
            d.s("POST", f"/element/{el}/clear", {})
        d.click("#findings-table th[data-key=score]")
        d.click("#findings-table th[data-key=score]")

        logs = d.s("POST", "/se/log", {"type": "browser"})
        errors = [l for l in logs if l.get("level") == "SEVERE"]
        check(not errors, f"no console errors {[e.get('message') for e in errors][:3]}")
        check(d.js("return window.__xss === undefined") and d.js("return document.title") == title,
              "still no injected script after interaction")

        d.js("window.scrollTo(0, 0)")
        d.screenshot(os.path.join(a.artifacts, "report-overview.png"))
        css = f"#f-{a.finding_id}" if a.finding_id else "article.finding"
        d.screenshot(os.path.join(a.artifacts, "report-finding.png"), css)
    finally:
        d.close()
        shutil.rmtree(profile, ignore_errors=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("report")
    p.add_argument("artifacts")
    p.add_argument("--expect-payload", action="append", default=[])
    p.add_argument("--finding-id")
    a = p.parse_args()
    try:
        run(a)
    except Failed as e:
        print(f"FAILED: {e}", file=sys.stderr)
        sys.exit(1)
    print("all browser checks passed")


if __name__ == "__main__":
    main()
