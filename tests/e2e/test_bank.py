"""Money in, in a real browser against a running server: a collector uploads the bank statement on the Bank
page, the payment quoting a reminder's own reference is matched, and that reminder leaves the queue."""

from __future__ import annotations

import re

import pytest

from receivables.domain import phrases, references
from tests.e2e.conftest import choose_message, login, open_page, wait_for_app
from tests.integration.test_bank_service import OURS, statement, tx

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def accounts(server, chromium):
    server.first_start_password(chromium)  # the first start loads the demo ledger
    added = server.cli("users", "add", "carla", "--role", "collector")
    assert added.returncode == 0, added.stderr
    for args in (("remind",), ("bank", "accounts", "add", OURS)):
        res = server.cli(*args)
        assert res.returncode == 0, res.stderr
    return {"carla": added.stdout.strip().rsplit(" ", 1)[-1]}


def a_waiting_reminder(server) -> tuple[int, int, str]:
    """A reminder in the queue (e-mail, euros): its id, what its invoices still have open, its label."""
    rows = server.sql(
        "SELECT m.id, SUM(i.open_cents), d.code, d.name FROM message m JOIN debtor d ON d.id = m.debtor_id "
        "JOIN message_invoice mi ON mi.message_id = m.id AND mi.active JOIN invoice i ON i.id = mi.invoice_id "
        "WHERE m.status IN ('proposed', 'approved') AND m.channel = 'email' AND m.currency = 'EUR' "
        "GROUP BY m.id, d.code, d.name HAVING SUM(i.open_cents) > 0 ORDER BY m.id LIMIT 1")
    assert rows, "the demo ledger has no reminder waiting"
    message_id, cents, code, name = rows[0]
    return message_id, int(cents), f"#{message_id} · {code} {name}"


def in_queue(page, label: str) -> bool:
    """Whether the queue's preview still offers the message (typed in full: the filter matches loosely)."""
    page.get_by_label("Preview", exact=True).click()
    page.keyboard.type(label)
    page.wait_for_timeout(800)
    found = page.get_by_role("option", name=label.split(" ·")[0] + " ").count() > 0
    page.keyboard.press("Escape")
    return found


def test_a_collector_uploads_a_statement_and_the_paid_reminder_leaves_the_queue(server, page, accounts, tmp_path):
    message_id, cents, label = a_waiting_reminder(server)
    ref = references.message_reference(message_id)
    login(page, server, "carla", accounts["carla"])
    open_page(page, server, "/queue")
    assert in_queue(page, label)  # waiting in the queue
    choose_message(page, message_id)
    assert references.format_reference(ref) in page.inner_text("[data-testid='stMain']")  # in its text

    path = tmp_path / "camt053.xml"
    path.write_bytes(statement(tx(f"{cents // 100}.{cents % 100:02d}", name="A Customer", ref=ref,
                                  entry_ref=f"E2E-{message_id}")))
    open_page(page, server, "/bank")
    page.locator("input[type='file']").set_input_files(str(path))
    wait_for_app(page)
    page.get_by_role("button", name="Import and match").click()
    page.get_by_text("Imported camt053.xml as batch").wait_for(timeout=60_000)
    wait_for_app(page)
    main = page.inner_text("[data-testid='stMain']")
    assert re.search(r"\bMatched\s+1\b", main) and re.search(r"Unmatched\s+0\b", main), main[:1500]

    [(status, problem)] = server.sql("SELECT status, last_error FROM message WHERE id = :i", i=message_id)
    assert (status, str(phrases.load(problem))) == ("cancelled", "nothing left to chase")
    open_page(page, server, "/queue")
    assert not in_queue(page, label)
