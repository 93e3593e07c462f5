"""Take the README's screenshots from a fresh demo installation.

    .venv/bin/python docs/take_screenshots.py [--addresses 3000]

Builds a demo database in a temporary folder (`flask partnerdesk setup`), serves it with
`flask run` and a task worker on a free port, and drives Debian's Chromium through the
pages of the README's tour, in German, at 1280 px. The pictures land in docs/screenshots/.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
FLASK = [sys.executable, "-m", "flask"]

# (file, login, path, what to do on the page before the picture)
PAGES = [
    ("desk-start.png", "staff", "/", None),
    ("addresses.png", "staff", "/addressview/list/", None),
    ("address-edit.png", "staff", "/addressview/edit/3", None),
    ("downline-navigator.png", "staff", "/desk/downline/node/1", None),
    ("downline-tree.png", "staff", "/desk/downline/tree/2", None),
    ("vouchers.png", "staff", "/voucherview/list/", None),
    ("imports.png", "staff", "/imports/", None),
    ("tasks.png", "staff", "/tasks/", None),
    ("my-voucher-codes.png", "meier", "/my/codes/list/", None),
    ("my-downline.png", "meier", "/my/downline/", None),
    ("swagger.png", "admin", "/swagger/v1", "wait"),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"{url} did not answer within {seconds} s")


def _log_in(page, username: str) -> None:
    page.goto("/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", username)
    page.click("form[name=login] [type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)


def take(addresses: int) -> None:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="pd-screens-") as tmp:
        env = {**os.environ, "FLASK_APP": "app.py", "DATABASE_URL": f"sqlite:///{tmp}/demo.db",
               "TASKS_QUEUE_URL": f"sqlite:///{tmp}/queue.db", "TASKS_FILES_DIR": f"{tmp}/tasks",
               "IMPORTS_DIR": f"{tmp}/imports"}
        subprocess.run([*FLASK, "partnerdesk", "setup", "--addresses", str(addresses)], cwd=ROOT, env=env,
                       check=True)
        port = _free_port()
        server = subprocess.Popen([*FLASK, "run", "--port", str(port)], cwd=ROOT, env=env)
        worker = subprocess.Popen([*FLASK, "tasks", "worker"], cwd=ROOT, env=env)
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_for(f"{base}/login/")
            OUT.mkdir(parents=True, exist_ok=True)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                contexts = {}
                for name, login, path, action in PAGES:
                    if login not in contexts:
                        context = browser.new_context(base_url=base, viewport={"width": 1280, "height": 800},
                                                      locale="de-DE")
                        _log_in(context.new_page(), login)
                        contexts[login] = context
                    page = contexts[login].new_page()
                    page.goto(path)
                    page.wait_for_load_state("networkidle")
                    if action == "wait":
                        page.wait_for_timeout(1500)
                    page.screenshot(path=str(OUT / name))
                    page.close()
                    print(f"docs/screenshots/{name}: {path} as {login}")
                browser.close()
        finally:
            for process in (server, worker):
                process.terminate()
                process.wait(timeout=20)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--addresses", type=int, default=3000)
    take(parser.parse_args().addresses)
