"""Which debtors a unit of work's writes touched, kept per data version in `debtor_touched`, so that what
is worked out per debtor from their invoices, changes, notes, messages and plans (the reminder tracks of
the ageing page) is worked out again after a write for the debtors it touched only.

The objects a flush writes name their debtors. A write the flushes do not account for (a statement of its
own, the bulk loader's rows, a cascade in the database) may have touched any debtor: it is journalled as
debtor NULL, "all". What counts as accounted for: on SQLite every row changed inside a flush (the
connection's total_changes, trigger rows included), on PostgreSQL every row of the debtor tables
(`DEBTOR_TABLES`) written inside a flush with objects of those tables (the transaction's own statistics,
COPY and triggers included)."""

from __future__ import annotations

from sqlalchemy import event, inspect, text
from sqlalchemy.orm import Session

from db.models import Debtor, DebtorTouched, Invoice, InvoiceChange, Message, Note, PaymentPlan

# the tables whose rows belong to one debtor and feed what is worked out per debtor
DEBTOR_MODELS = (Debtor, Invoice, InvoiceChange, Note, Message, PaymentPlan)
DEBTOR_TABLES = tuple(m.__tablename__ for m in DEBTOR_MODELS)
JOURNAL_VERSIONS = 1000  # versions kept; a reader further behind works everything out again

_PG_WRITES = ("SELECT COALESCE(SUM(n_tup_ins + n_tup_upd + n_tup_del), 0) FROM pg_stat_xact_user_tables "
              "WHERE schemaname = current_schema() AND relname IN (" + ", ".join(f"'{t}'" for t in DEBTOR_TABLES) + ")")


class Touched:
    """Listens to a session's flushes; `journal(version)` at commit writes what they touched."""

    def __init__(self, session: Session):
        self.session = session
        self.debtors: set[int] = set()
        self.invoices: set[int] = set()
        self.accounted = 0  # rows written inside flushes (SQLite: all; PostgreSQL: of the debtor tables)
        self._flush_start: int | None = None
        event.listen(session, "before_flush", self._before_flush)
        event.listen(session, "after_flush", self._after_flush)
        # the next transaction starts afresh (on SQLite on a new connection: the engine does not pool), also
        # after a commit or rollback that did not go through UnitOfWork.commit
        event.listen(session, "after_commit", self._reset)
        event.listen(session, "after_rollback", self._reset)

    def _sqlite(self) -> bool:
        return self.session.get_bind().dialect.name == "sqlite"

    def _written(self) -> int:
        conn = self.session.connection()
        if conn.dialect.name == "sqlite":
            return conn.connection.driver_connection.total_changes
        return int(conn.exec_driver_sql(_PG_WRITES).scalar())

    def _before_flush(self, session, flush_context, instances) -> None:
        mine = self._sqlite() or any(isinstance(o, DEBTOR_MODELS)
                                     for o in (*session.new, *session.dirty, *session.deleted))
        self._flush_start = self._written() if mine else None

    def _after_flush(self, session, flush_context) -> None:
        for obj in (*session.new, *session.dirty, *session.deleted):
            if not isinstance(obj, DEBTOR_MODELS):
                continue
            if isinstance(obj, Debtor):
                self.debtors.add(obj.id)
                continue
            key, into = ("invoice_id", self.invoices) if isinstance(obj, InvoiceChange) else ("debtor_id", self.debtors)
            history = inspect(obj).attrs[key].history
            for value in (getattr(obj, key), *history.deleted):
                if value is not None:
                    into.add(int(value))
        if self._flush_start is not None:
            self.accounted += self._written() - self._flush_start
            self._flush_start = None

    def pending(self) -> list[int | None]:
        """At commit, before the data version is raised: the debtors this transaction touched ([None]:
        any may have been; [] none)."""
        if self._written() != self.accounted:
            return [None]
        debtors = set(self.debtors)
        invoices = sorted(self.invoices)
        for start in range(0, len(invoices), 500):
            debtors.update(self.session.scalars(text(
                "SELECT DISTINCT debtor_id FROM invoice WHERE id IN ("
                + ", ".join(str(i) for i in invoices[start:start + 500]) + ")")))
        return sorted(debtors)

    def journal(self, version: int, debtors: list[int | None]) -> None:
        """Journal the debtors under the version the commit leaves; forget what is JOURNAL_VERSIONS older."""
        s = self.session
        if debtors:
            s.execute(DebtorTouched.__table__.insert(), [{"version": version, "debtor_id": d} for d in debtors])
        s.execute(text("DELETE FROM debtor_touched WHERE version <= :old"), {"old": version - JOURNAL_VERSIONS})

    def _reset(self, session) -> None:
        self.debtors.clear()
        self.invoices.clear()
        self.accounted = 0


def touched_since(session: Session, after: int, upto: int) -> set[int] | None:
    """The debtors touched by the writes that left versions after `after` up to `upto`; None when any
    debtor may have been (a write not accounted for, or a journal that no longer reaches back)."""
    if upto < after or upto - after >= JOURNAL_VERSIONS:
        return None
    found = set()
    for (debtor_id,) in session.execute(text("SELECT DISTINCT debtor_id FROM debtor_touched "
                                             "WHERE version > :after AND version <= :upto"),
                                        {"after": after, "upto": upto}):
        if debtor_id is None:
            return None
        found.add(int(debtor_id))
    return found
