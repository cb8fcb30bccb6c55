"""A real server (`streamlit run app.py`) on a free port with its own database and user file, and Debian's
chromium driven by Playwright. Skips with a reason when chromium or Playwright is absent."""

from __future__ import annotations

import email
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from email import policy
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import ROOT, chromium_path, skip_or_fail

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@dataclass
class Server:
    url: str
    env: dict
    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def admin_password(self, timeout: float = 60) -> str:
        """The password printed on first start, when the server starts."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            match = re.search(r"Log in as 'admin' with password:\s+(\S+)", self.log())
            if match:
                return match.group(1)
            time.sleep(0.3)
        raise AssertionError("the first start did not print the admin password:\n" + self.log()[-2000:])

    def first_start_password(self, browser) -> str:
        """Open the app once, as the first visitor does, and read the admin password it printed."""
        first = browser.new_page()
        first.goto(self.url)
        password = self.admin_password()
        first.close()
        return password

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "receivables", *args], cwd=ROOT, env=self.env,
                              capture_output=True, text=True, timeout=300)

    def sql(self, query: str, **params) -> list:
        """Rows of a query on the server's database, to check what the pages wrote."""
        engine = create_engine(self.env["DATABASE_URL"])
        with engine.connect() as conn:
            rows = conn.execute(text(query), params).all()
        engine.dispose()
        return rows

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(workdir: Path, extra_env: dict | None = None, *, script: str = "app.py",
                 port: int | None = None, start_timeout: float = 60) -> Server:
    """`streamlit run` of the staff app (or the portal, `script="portal.py"`) with its own files."""
    port = port or _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMTP_")}
    env.update({
        "DATABASE_URL": f"sqlite:///{workdir / 'e2e.db'}",
        "DEBTOR_DESK_USERS": str(workdir / "users.yaml"),
        "DEBTOR_DESK_SECRETS": str(workdir / "secrets.toml"),
        "DEBTOR_DESK_OUTBOX": str(workdir / "outbox"),
        "DEBTOR_DESK_JOURNAL": str(workdir / "send-journal"),
        "PYTHONUNBUFFERED": "1",
    })
    env.update(extra_env or {})
    log_path = workdir / f"server-{Path(script).stem}.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", script, "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1", "--server.fileWatcherType", "none",
         "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=log_path.open("w"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + start_timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return Server(url, env, proc, log_path)
        except OSError:
            time.sleep(0.3)
        if proc.poll() is not None:
            break
    proc.kill()
    raise RuntimeError("streamlit did not start:\n" + log_path.read_text(errors="replace")[-3000:])


class Inbox:
    """A real SMTP server (aiosmtpd on 127.0.0.1) that keeps what arrives."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


@pytest.fixture(scope="module")
def inbox():
    from aiosmtpd.controller import Controller

    port = _free_port()
    box = Inbox()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    box.port = port
    yield box
    controller.stop()


def smtp_env(inbox: Inbox) -> dict:
    return {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(inbox.port), "SMTP_SECURITY": "none",
            "SMTP_FROM": "Debiteuren <debiteuren@seller.example>", "SMTP_REPLY_TO": "debiteuren@seller.example"}


@pytest.fixture(scope="session")
def chromium():
    path = chromium_path()
    if not path:
        skip_or_fail("Debian's chromium is not installed (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_or_fail("playwright is not installed (pip install -r requirements-dev.txt)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory, chromium):
    srv = start_server(tmp_path_factory.mktemp("e2e"))
    yield srv
    srv.stop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.failed_call = report.failed


@pytest.fixture
def page(chromium, request, tmp_path_factory):
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    yield pg
    if getattr(request.node, "failed_call", False):  # keep what the browser showed, for the report
        shot = tmp_path_factory.mktemp("failed") / f"{request.node.name[:80]}.png"
        pg.screenshot(path=str(shot), full_page=True)
        print(f"screenshot of the failure: {shot}")
    context.close()


def wait_for_app(pg) -> None:
    """Wait until Streamlit has finished running the script."""
    pg.wait_for_selector("[data-testid='stApp']")
    pg.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " || document.querySelector('[data-testid=\"stStatusWidget\"]').innerText.trim() === ''",
        timeout=60_000)
    pg.wait_for_timeout(500)


def login(pg, server: Server, username: str, password: str, path: str = "/") -> None:
    pg.goto(server.url + path)
    pg.get_by_label("User name").first.wait_for()
    wait_for_app(pg)
    pg.get_by_label("User name").first.fill(username)
    pg.get_by_label("Password", exact=True).first.fill(password)
    pg.get_by_role("button", name="Log in").first.click()
    pg.get_by_text("Logged in as").first.wait_for(timeout=60_000)
    wait_for_app(pg)
    wait_for_login_cookie(pg, server)


def wait_for_login_cookie(pg, server: Server, timeout: float = 60) -> None:
    """The app hands the browser its login cookie from a component after the login; until the browser
    has it, a page opened by URL (a new session) shows the login form again. On a busy machine that can
    take seconds, so wait for it as a user's next click would."""
    from receivables.services.users import COOKIE_NAME

    name = COOKIE_NAME
    deadline = time.time() + timeout
    while not any(c["name"] == name for c in pg.context.cookies()):
        if time.time() > deadline:
            raise AssertionError(f"the browser never received the login cookie {name!r}")
        pg.wait_for_timeout(200)


def open_page(pg, server: Server, path: str) -> None:
    """Open a page by URL in a logged-in browser; the login cookie re-authenticates the new session."""
    pg.goto(server.url + path)
    pg.get_by_text("Logged in as").first.wait_for(timeout=60_000)
    wait_for_app(pg)


def choose_message(page, message_id: int) -> None:
    """Pick the message in the preview's selectbox beside the list. A rerun that starts late re-renders the
    open dropdown under the pointer: then the option is chosen again."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    wait_for_app(page)
    chooser = page.locator("[data-testid='stSelectbox']").filter(has=page.get_by_label("Preview", exact=True))

    def shown() -> str:  # the chosen label sits in the combobox's input, not in the element's text
        return chooser.evaluate("e => e.innerText + ' ' + [...e.querySelectorAll('input')]"
                                ".map(i => i.value).join(' ')")

    for _ in range(5):
        if f"#{message_id} ·" in shown():
            return
        page.get_by_label("Preview", exact=True).click()
        page.keyboard.type(f"#{message_id} ·")  # a long list shows only the options that fit: filter it
        try:
            page.get_by_role("option", name=f"#{message_id} ").first.click(timeout=5_000)
        except PlaywrightTimeoutError:
            page.keyboard.press("Escape")
        wait_for_app(page)
    raise AssertionError(f"message #{message_id} could not be chosen: {shown()!r}")


def select_first_row(page, grid) -> None:
    """Select the first row of a st.dataframe as a user does: a click on its row marker at the left edge
    (the grid is drawn on a canvas, so there is no element to click)."""
    grid.wait_for()
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    page.mouse.click(box["x"] + 12, box["y"] + 35 + 17)  # header row, then the middle of the first row
    wait_for_app(page)
