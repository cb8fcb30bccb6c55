"""Two imports at once on one PostgreSQL database (two app servers, or the app and cron): the second waits
for the first, says so, and then imports against what the first wrote."""

import subprocess
import sys
import threading
import time

import pytest
from sqlalchemy import func, select, text

from db import loader
from db.models import ImportBatch, Invoice
from db.uow import UnitOfWork
from receivables.services import imports as import_service
from tests.conftest import ROOT
from tests.integration.test_import_service import AS_OF, export, line

pytestmark = pytest.mark.postgres

FIRST = export(line("000123", "0042", 100000), line("000124", "0043", 40000, amount_cents=50000))
SECOND = export(line("000123", "0042", 100000), line("000124", "0043", 40000, amount_cents=50000),
                line("000125", "0044", 25000))


class HeldImport:
    """An import in a thread that stops just before its commit until `release`."""

    def __init__(self, engine, data: bytes, name: str = "first.csv"):
        self.inside, self.released, self.result, self.error = threading.Event(), threading.Event(), None, None

        def progress(_share, what):
            if what == "Recording the batch":
                self.inside.set()
                self.released.wait(60)

        def work():
            try:
                with UnitOfWork(engine, immediate=True) as u:
                    self.result = import_service.run_import(u, data, name, actor="carla", as_of=AS_OF,
                                                            mode="partial", progress=progress)
            except Exception as exc:  # noqa: BLE001 - the test reports it
                self.error = exc

        self.thread = threading.Thread(target=work, daemon=True)
        self.thread.start()
        assert self.inside.wait(60), "the first import never got to its commit"

    def release(self):
        self.released.set()
        self.thread.join(60)
        assert self.error is None, self.error


def advisory_waits(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")).scalar()


def wait_for(condition, seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("large", [False, True], ids=["small", "large load"])
def test_a_second_import_waits_for_the_first_says_so_and_then_imports_against_what_it_wrote(
        postgres_engine, monkeypatch, large):
    if large:  # the large load changes indexes, keys and triggers inside its transaction
        monkeypatch.setattr(loader, "BULK_ROWS", 1)
    first = HeldImport(postgres_engine, FIRST)
    said, second = [], {}

    def run_second():
        with UnitOfWork(postgres_engine, immediate=True) as u:
            second["result"] = import_service.run_import(
                u, SECOND, "second.csv", actor="dirk", as_of=AS_OF, mode="partial",
                progress=lambda _share, what: said.append(what))

    thread = threading.Thread(target=run_second, daemon=True)
    thread.start()
    assert wait_for(lambda: import_service.WAITING in said), said
    time.sleep(0.3)
    assert thread.is_alive() and "result" not in second  # still waiting, nothing of its own written
    first.release()
    thread.join(60)
    assert first.result.summary() == "new 2, changed 0, closed 0, unchanged 0, skipped 0"
    assert second["result"].summary() == "new 1, changed 0, closed 0, unchanged 2, skipped 0"
    with UnitOfWork(postgres_engine) as u:
        assert u.session.scalar(select(func.count(Invoice.id))) == 3
        assert u.session.scalars(select(ImportBatch.imported_by).order_by(ImportBatch.id)).all() == ["carla", "dirk"]


def test_the_command_line_says_another_import_is_running_and_waits_for_it(postgres_engine, tmp_path):
    path = tmp_path / "second.csv"
    path.write_bytes(SECOND)
    first = HeldImport(postgres_engine, FIRST)
    cli = subprocess.Popen([sys.executable, "-m", "receivables", "import", str(path), "--mode", "partial",
                            "--as-of", AS_OF.isoformat()], cwd=ROOT, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    try:
        assert wait_for(lambda: advisory_waits(postgres_engine) > 0 or cli.poll() is not None, 120)
        assert cli.poll() is None
    finally:
        first.release()
    out, err = cli.communicate(timeout=120)
    assert cli.returncode == 0, err
    assert "Another import is running; this one starts when it has finished" in err
    assert "new 1, changed 0, closed 0, unchanged 2, skipped 0" in out
