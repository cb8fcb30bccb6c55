"""The ledger's tables. Money is integer cents (BigInteger), dates are `date`, times are UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class ImportBatch(Base):
    __tablename__ = "import_batch"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # open-items | ledger | debtors | demo
    mode: Mapped[str] = mapped_column(String(10), default="partial")  # full | partial
    file_name: Mapped[str] = mapped_column(String(255))
    file_hash: Mapped[str] = mapped_column(String(64), index=True)
    as_of: Mapped[date] = mapped_column(Date)
    imported_by: Mapped[str] = mapped_column(String(100))
    imported_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    profile: Mapped[str | None] = mapped_column(String(50))
    status: Mapped[str] = mapped_column(String(10), default="applied")  # applied | undone
    count_new: Mapped[int] = mapped_column(Integer, default=0)
    count_changed: Mapped[int] = mapped_column(Integer, default=0)
    count_closed: Mapped[int] = mapped_column(Integer, default=0)
    count_unchanged: Mapped[int] = mapped_column(Integer, default=0)
    count_skipped: Mapped[int] = mapped_column(Integer, default=0)
    details: Mapped[dict | None] = mapped_column(JSON)


class Debtor(Base):
    __tablename__ = "debtor"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(50), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(Text)  # reminder addresses, comma separated
    contact_person: Mapped[str | None] = mapped_column(String(255))
    phone: Mapped[str | None] = mapped_column(String(50))
    address: Mapped[str | None] = mapped_column(Text)  # postal address as printed on a letter, line by line
    language: Mapped[str] = mapped_column(String(2), default="nl")
    is_consumer: Mapped[bool] = mapped_column(Boolean, default=False)
    payment_term_days: Mapped[int] = mapped_column(Integer, default=30)
    segment: Mapped[str | None] = mapped_column(String(100))
    tags: Mapped[str | None] = mapped_column(String(255))
    account_manager: Mapped[str | None] = mapped_column(String(100))
    track_override: Mapped[str | None] = mapped_column(String(50))
    reminders_blocked: Mapped[bool] = mapped_column(Boolean, default=False)
    blocked_reason: Mapped[str | None] = mapped_column(Text)
    blocked_until: Mapped[date | None] = mapped_column(Date)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    owner: Mapped[str | None] = mapped_column(String(100))  # the collector (user name) who follows this debtor
    # addresses that bounced, comma separated: taken off `email`, and never written to again
    email_bouncing: Mapped[str | None] = mapped_column(Text)
    # the debtor's portal links hold while they carry this number: raising it revokes every link given
    portal_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    invoices: Mapped[list[Invoice]] = relationship(back_populates="debtor")


class Invoice(Base):
    """An invoice (or credit note, negative amount). `open_cents` and `settled_date` are the current
    state, kept equal to amount + sum(changes) by the services; history comes from InvoiceChange."""

    __tablename__ = "invoice"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(64), unique=True)
    debtor_id: Mapped[int] = mapped_column(ForeignKey("debtor.id"))  # indexed with the invoice date, below
    invoice_date: Mapped[date] = mapped_column(Date)  # no index: every query reads nearly all dates
    due_date: Mapped[date] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    open_cents: Mapped[int] = mapped_column(BigInteger)
    settled_date: Mapped[date | None] = mapped_column(Date)
    description: Mapped[str | None] = mapped_column(Text)
    reference: Mapped[str | None] = mapped_column(String(255))
    disputed: Mapped[bool] = mapped_column(Boolean, default=False)
    paused_until: Mapped[date | None] = mapped_column(Date)
    # no index: only undo asks for a batch's invoices (one scan), and a large import builds no index of it
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batch.id"))
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)

    debtor: Mapped[Debtor] = relationship(back_populates="invoices")
    changes: Mapped[list[InvoiceChange]] = relationship(
        back_populates="invoice", order_by="InvoiceChange.change_date"
    )


class InvoiceChange(Base):
    """A dated change of an invoice's open amount; negative delta = paid/credited/written off."""

    __tablename__ = "invoice_change"
    # an invoice's changes by date: ix_invoice_change_invoice_delta, below
    __table_args__ = (Index("ix_invoice_change_change_date", "change_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoice.id", ondelete="CASCADE"))
    change_date: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(20))  # payment | credit | write_off | reopen | correction
    delta_cents: Mapped[int] = mapped_column(BigInteger)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batch.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    invoice: Mapped[Invoice] = relationship(back_populates="changes")


class ColumnMapping(Base):
    """A confirmed column mapping, remembered per header signature."""

    __tablename__ = "column_mapping"

    id: Mapped[int] = mapped_column(primary_key=True)
    header_signature: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(20))
    mapping: Mapped[dict] = mapped_column(JSON)
    options: Mapped[dict | None] = mapped_column(JSON)
    saved_by: Mapped[str] = mapped_column(String(100))
    saved_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    __table_args__ = (UniqueConstraint("header_signature", "kind"),)


class Note(Base):
    """A dossier entry: note, call, promise, dispute, dispute_resolved, reply, block, unblock."""

    __tablename__ = "note"

    id: Mapped[int] = mapped_column(primary_key=True)
    debtor_id: Mapped[int] = mapped_column(ForeignKey("debtor.id"), index=True)
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoice.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text, default="")
    outcome: Mapped[str | None] = mapped_column(String(30))  # call outcome / promise status
    promise_date: Mapped[date | None] = mapped_column(Date)
    promise_cents: Mapped[int | None] = mapped_column(BigInteger)
    promise_invoice_ids: Mapped[list | None] = mapped_column(JSON)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("message.id"))
    data: Mapped[dict | None] = mapped_column(JSON)  # e-mail headers of a reply, attachments…
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)


class Message(Base):
    """A reminder proposed by the engine; status proposed → approved → sending → sent | failed,
    or postponed / blocked / cancelled."""

    __tablename__ = "message"
    __table_args__ = (
        UniqueConstraint("debtor_id", "step_key", name="uq_message_debtor_step_key"),
        Index("ix_message_status_planned", "status", "planned_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    debtor_id: Mapped[int] = mapped_column(ForeignKey("debtor.id"), index=True)
    track: Mapped[str] = mapped_column(String(50))
    step_index: Mapped[int] = mapped_column(Integer)
    step_name: Mapped[str] = mapped_column(String(50))
    step_key: Mapped[str] = mapped_column(String(120))  # idempotency key: track/step/first due date
    channel: Mapped[str] = mapped_column(String(10), default="email")  # email | call | letter
    language: Mapped[str] = mapped_column(String(2), default="nl")
    reason: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(12), default="proposed")
    planned_date: Mapped[date] = mapped_column(Date)
    postponed_until: Mapped[date | None] = mapped_column(Date)
    recipients: Mapped[str | None] = mapped_column(Text)
    subject: Mapped[str] = mapped_column(Text, default="")
    body_text: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str] = mapped_column(Text, default="")
    edited: Mapped[bool] = mapped_column(Boolean, default=False)
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    total_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    costs_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    interest_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    costs_detail: Mapped[dict | None] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(Text)
    smtp_message_id: Mapped[str | None] = mapped_column(String(255), index=True)
    # the EPC QR image, drawn when the message is rendered or approved (not while sending), and the text
    # it encodes: the sender uses it only while that text is still what the message asks for
    qr_payload: Mapped[str | None] = mapped_column(Text)
    qr_png: Mapped[bytes | None] = mapped_column(LargeBinary)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    lines: Mapped[list[MessageInvoice]] = relationship(
        back_populates="message", cascade="all, delete-orphan"
    )


class MessageInvoice(Base):
    __tablename__ = "message_invoice"
    __table_args__ = (UniqueConstraint("message_id", "invoice_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("message.id", ondelete="CASCADE"), index=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoice.id"), index=True)
    open_cents: Mapped[int] = mapped_column(BigInteger)
    active: Mapped[bool] = mapped_column(Boolean, default=True)  # False once paid/disputed before send

    message: Mapped[Message] = relationship(back_populates="lines")


class SendAttempt(Base):
    __tablename__ = "send_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("message.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    outcome: Mapped[str] = mapped_column(String(20))  # sent | temporary | permanent
    error: Mapped[str | None] = mapped_column(Text)


class AuditEvent(Base):
    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(100), index=True)
    action: Mapped[str] = mapped_column(String(50), index=True)
    entity: Mapped[str] = mapped_column(String(30))
    entity_id: Mapped[str | None] = mapped_column(String(64))
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)


class Setting(Base):
    """Key/value settings edited in the app: tracks, buckets, freshness, interest rates, payment data."""

    __tablename__ = "setting"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[dict | list | str | int | None] = mapped_column(JSON)
    updated_by: Mapped[str | None] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class TextVersion(Base):
    """A reminder text as a person edited it in Settings, per step template, tone and language. The newest
    version of a key is in force; one without a subject and body stands for "back to the shipped text"."""

    __tablename__ = "text_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    template: Mapped[str] = mapped_column(String(50))
    tone: Mapped[str] = mapped_column(String(20))
    language: Mapped[str] = mapped_column(String(5))
    subject: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    __table_args__ = (Index("ix_text_version_key", "template", "tone", "language", "id"),)


class LedgerDay(Base):
    """Daily sums per currency that AR and overdue AR on any date follow from (a running total); kept
    equal to invoice and invoice_change by database triggers (db/analytics_queries.py)."""

    __tablename__ = "ledger_day"

    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    sales_cents: Mapped[int] = mapped_column(BigInteger, default=0)  # invoices by invoice date
    change_cents: Mapped[int] = mapped_column(BigInteger, default=0)  # changes by max(change, invoice date)
    overdue_cents: Mapped[int] = mapped_column(BigInteger, default=0)  # invoices by the day they fall due
    overdue_change_cents: Mapped[int] = mapped_column(BigInteger, default=0)  # changes of overdue invoices


# ageing as of a past date reads the invoices open then (settled after it) and their later changes
# (the amount last: payment behaviour reads the invoices paid in a window from this index alone). The
# queries put ranges on the two dates only, so PostgreSQL keys it by them and carries the rest as INCLUDE
# columns (a cheaper sort when a large import builds it again); SQLite, without INCLUDE, keys all seven.
Index("ix_invoice_settled_ageing", Invoice.settled_date, Invoice.invoice_date, Invoice.debtor_id,
      Invoice.due_date, Invoice.open_cents, Invoice.currency, Invoice.amount_cents)
Index("ix_invoice_change_invoice_delta", InvoiceChange.invoice_id, InvoiceChange.change_date,
      InvoiceChange.delta_cents)
# a debtor's invoices, and its first invoice date (the debtor's age, a signal of the track rules) from the
# index alone; the disputed ones (another signal) from a small index of their own
Index("ix_invoice_debtor_invoice_date", Invoice.debtor_id, Invoice.invoice_date)
Index("ix_invoice_disputed", Invoice.debtor_id, sqlite_where=text("disputed = 1"), postgresql_where=text("disputed"))
Index("ix_invoice_change_write_off", InvoiceChange.invoice_id, sqlite_where=text("kind = 'write_off'"),
      postgresql_where=text("kind = 'write_off'"))  # payment behaviour leaves written-off invoices out


# --- the bank: statements read, their lines, how each was matched ---------------------------------
# A statement upload is an ImportBatch of kind "bank", so the payments it applies are invoice changes
# whose batch is that upload (undo takes them back with the batch).

class BankStatementRecord(Base):
    """One account's statement as read from an upload, with its balances when the format gives them."""

    __tablename__ = "bank_statement"

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batch.id"), index=True)
    account: Mapped[str] = mapped_column(String(34))
    format: Mapped[str] = mapped_column(String(20))
    statement_ref: Mapped[str | None] = mapped_column(String(100))
    currency: Mapped[str] = mapped_column(String(3))
    opening_balance_cents: Mapped[int | None] = mapped_column(BigInteger)
    opening_date: Mapped[date | None] = mapped_column(Date)
    closing_balance_cents: Mapped[int | None] = mapped_column(BigInteger)
    closing_date: Mapped[date | None] = mapped_column(Date)
    line_count: Mapped[int] = mapped_column(Integer, default=0)  # lines new to the ledger
    duplicate_count: Mapped[int] = mapped_column(Integer, default=0)  # lines an earlier upload had


class BankLine(Base):
    """A booking on one of our accounts. Credits are matched: `status` matched (applied), suggested (a
    person decides), unmatched ("who paid this?"), not_ours; debits are kept as `debit`."""

    __tablename__ = "bank_line"
    __table_args__ = (Index("ix_bank_line_status", "status", "booking_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batch.id"), index=True)
    statement_id: Mapped[int] = mapped_column(ForeignKey("bank_statement.id"), index=True)
    dedupe_key: Mapped[str] = mapped_column(String(32), unique=True)
    account: Mapped[str] = mapped_column(String(34))
    booking_date: Mapped[date] = mapped_column(Date)
    value_date: Mapped[date | None] = mapped_column(Date)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    counterparty_name: Mapped[str] = mapped_column(String(255), default="")
    counterparty_iban: Mapped[str] = mapped_column(String(34), default="", index=True)
    remittance: Mapped[str] = mapped_column(Text, default="")
    structured_reference: Mapped[str] = mapped_column(String(64), default="")
    end_to_end_id: Mapped[str] = mapped_column(String(100), default="")
    entry_reference: Mapped[str | None] = mapped_column(String(100))
    bank_code: Mapped[str] = mapped_column(String(50), default="")
    reversal: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(12))
    confidence: Mapped[float | None] = mapped_column()
    reason: Mapped[str] = mapped_column(Text, default="")
    evidence: Mapped[str] = mapped_column(String(20), default="none")
    debtor_id: Mapped[int | None] = mapped_column(ForeignKey("debtor.id", ondelete="SET NULL"), index=True)
    overpaid_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    charges_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)

    allocations: Mapped[list[BankAllocation]] = relationship(
        back_populates="line", cascade="all, delete-orphan", order_by="BankAllocation.id")


class BankAllocation(Base):
    """Part of a line's money on one invoice: proposed while the line is a suggestion, applied (an
    invoice change of the line's batch) once matched. A credit note netted has negative cents."""

    __tablename__ = "bank_allocation"

    id: Mapped[int] = mapped_column(primary_key=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("bank_line.id", ondelete="CASCADE"), index=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoice.id", ondelete="CASCADE"), index=True)
    cents: Mapped[int] = mapped_column(BigInteger)
    charges_cents: Mapped[int] = mapped_column(BigInteger, default=0)  # of `cents`, written off as bank charges
    applied: Mapped[bool] = mapped_column(Boolean, default=False)

    line: Mapped[BankLine] = relationship(back_populates="allocations")


class BankPayer(Base):
    """A payer's account learned from a match: the next payment from it is this debtor's."""

    __tablename__ = "bank_payer"

    id: Mapped[int] = mapped_column(primary_key=True)
    iban: Mapped[str] = mapped_column(String(34), unique=True)
    debtor_id: Mapped[int] = mapped_column(ForeignKey("debtor.id", ondelete="CASCADE"), index=True)
    line_id: Mapped[int | None] = mapped_column(ForeignKey("bank_line.id", ondelete="SET NULL"), index=True)
    learned_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class BankLedgerCase(Base):
    """An invoice the bank paid that a later accounting export still shows open: the bank payment
    stands, and a person looks (the accountant may not have booked it yet)."""

    __tablename__ = "bank_ledger_case"

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoice.id", ondelete="CASCADE"), index=True)
    import_batch_id: Mapped[int] = mapped_column(ForeignKey("import_batch.id"), index=True)
    kept_cents: Mapped[int] = mapped_column(BigInteger)  # the reopening held back
    file_open_cents: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(10), default="open")  # open | resolved
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    resolved_by: Mapped[str | None] = mapped_column(String(100))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime)


class BankInvoiceKey(Base):
    """An invoice number in the form payers' texts are compared in (`F-000123`, `inv 123` -> `123`), so
    that numbers typed in remittance texts are found with a join; filled as invoices come in."""

    __tablename__ = "bank_invoice_key"

    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoice.id", ondelete="CASCADE"), primary_key=True)
    number: Mapped[str] = mapped_column(String(64))
    number_key: Mapped[str] = mapped_column(String(64), index=True)



class InboundMail(Base):
    """A message read from the team mailbox (or filed by the demo): a debtor's reply, an auto-reply or a
    bounce, linked to a debtor, or waiting for a person to pick one. `key` (UIDVALIDITY and Message-ID)
    makes a resumed fetch store nothing twice."""

    __tablename__ = "inbound_mail"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(1000), unique=True)
    message_id: Mapped[str | None] = mapped_column(String(998), index=True)  # the mail's own, without <>
    kind: Mapped[str] = mapped_column(String(12))  # reply | auto_reply | bounce
    reason: Mapped[str] = mapped_column(Text, default="")  # why it was read as this kind
    from_name: Mapped[str] = mapped_column(String(255), default="")
    from_address: Mapped[str] = mapped_column(String(255), default="")
    subject: Mapped[str] = mapped_column(Text, default="")
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    received_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    text: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str] = mapped_column(String(12))  # thread | sender | unassigned | person
    debtor_id: Mapped[int | None] = mapped_column(ForeignKey("debtor.id"), index=True)
    answers_message_id: Mapped[int | None] = mapped_column(ForeignKey("message.id"), index=True)
    note_id: Mapped[int | None] = mapped_column(ForeignKey("note.id"))  # its entry on the timeline
    return_date: Mapped[date | None] = mapped_column(Date)  # out-of-office: back on
    bounce_recipient: Mapped[str | None] = mapped_column(String(255))
    bounce_status: Mapped[str | None] = mapped_column(String(20))
    bounce_diagnostic: Mapped[str | None] = mapped_column(Text)
    # the pause a reply put on the debtor's invoices, and what they were paused until before it
    paused_until: Mapped[date | None] = mapped_column(Date)
    pause_before: Mapped[dict | None] = mapped_column(JSON)
    handled_at: Mapped[datetime | None] = mapped_column(DateTime)
    handled_by: Mapped[str | None] = mapped_column(String(100))
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)

    attachments: Mapped[list[MailAttachment]] = relationship(
        back_populates="mail", cascade="all, delete-orphan", order_by="MailAttachment.id")


class MailAttachment(Base):
    """A file attached to an inbound mail, kept so a person can download it (without the bytes when it
    was larger than the cap)."""

    __tablename__ = "mail_attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    mail_id: Mapped[int] = mapped_column(ForeignKey("inbound_mail.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes | None] = mapped_column(LargeBinary)

    mail: Mapped[InboundMail] = relationship(back_populates="attachments")


class WorkHandoff(Base):
    """An item of the Today worklist handed to a colleague, with a note; the newest one names its owner."""

    __tablename__ = "work_handoff"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_key: Mapped[str] = mapped_column(String(100), index=True)  # e.g. reply:12, dispute:345
    debtor_id: Mapped[int | None] = mapped_column(ForeignKey("debtor.id", ondelete="CASCADE"), index=True)
    from_user: Mapped[str] = mapped_column(String(100))
    to_user: Mapped[str] = mapped_column(String(100))
    note: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)



class PortalHit(Base):
    """Requests to the debtor's portal counted per token and per client address in a time window, in the
    database so that every server process counts alike."""

    __tablename__ = "portal_hit"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)  # token:<hash> | client:<address>
    window_start: Mapped[datetime] = mapped_column(DateTime)
    count: Mapped[int] = mapped_column(Integer, default=0)


class PortalAddressChange(Base):
    """A new reminder address a debtor typed in the portal, waiting for the link mailed to it."""

    __tablename__ = "portal_address_change"

    id: Mapped[int] = mapped_column(primary_key=True)
    debtor_id: Mapped[int] = mapped_column(ForeignKey("debtor.id", ondelete="CASCADE"), index=True)
    address: Mapped[str] = mapped_column(String(255))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime)


class PortalMail(Base):
    """A message to a debtor that is no reminder (the link confirming a new address, the answer to a
    rejected dispute), written in the same transaction as what it tells and sent exactly once like a
    reminder: queued → sending (claimed, committed, before its SMTP conversation) → sent | failed; one
    left in `sending` is in doubt and waits for a person, never sent again by itself."""

    __tablename__ = "portal_mail"

    id: Mapped[int] = mapped_column(primary_key=True)
    debtor_id: Mapped[int] = mapped_column(ForeignKey("debtor.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # address_confirmation | dispute_rejected
    change_id: Mapped[int | None] = mapped_column(ForeignKey("portal_address_change.id", ondelete="CASCADE"))
    recipients: Mapped[str] = mapped_column(Text)
    subject: Mapped[str] = mapped_column(Text)
    body_text: Mapped[str] = mapped_column(Text)  # a confirmation holds a mark where its link goes
    status: Mapped[str] = mapped_column(String(10), default="queued", index=True)
    smtp_message_id: Mapped[str | None] = mapped_column(String(255))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)


class PaymentPlan(Base):
    """A payment plan (betalingsregeling) for some of a debtor's invoices: proposed (from the portal, waiting
    for a person), active, broken (a term unpaid after the grace period: a person decides), paid,
    rejected, or ended (sent back on the reminder track)."""

    __tablename__ = "payment_plan"

    id: Mapped[int] = mapped_column(primary_key=True)
    debtor_id: Mapped[int] = mapped_column(ForeignKey("debtor.id"), index=True)
    status: Mapped[str] = mapped_column(String(10), index=True)
    source: Mapped[str] = mapped_column(String(10), default="staff")  # staff | portal
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    interval: Mapped[str] = mapped_column(String(10), default="month")
    principal_cents: Mapped[int] = mapped_column(BigInteger)
    interest_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    costs_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    note: Mapped[str] = mapped_column(Text, default="")
    reason: Mapped[str] = mapped_column(Text, default="")  # why it was rejected or ended
    chance_on: Mapped[date | None] = mapped_column(Date)  # one more chance given that day
    broken_on: Mapped[date | None] = mapped_column(Date)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)

    terms: Mapped[list[PaymentPlanTerm]] = relationship(
        back_populates="plan", cascade="all, delete-orphan", order_by="PaymentPlanTerm.seq")
    invoices: Mapped[list[PaymentPlanInvoice]] = relationship(
        back_populates="plan", cascade="all, delete-orphan", order_by="PaymentPlanInvoice.invoice_id")


class PaymentPlanInvoice(Base):
    __tablename__ = "payment_plan_invoice"

    plan_id: Mapped[int] = mapped_column(ForeignKey("payment_plan.id", ondelete="CASCADE"), primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoice.id", ondelete="CASCADE"), primary_key=True,
                                            index=True)

    plan: Mapped[PaymentPlan] = relationship(back_populates="invoices")


class PaymentPlanTerm(Base):
    """An instalment of a plan, with what was set against it (kept equal to the ledger by the plan service)."""

    __tablename__ = "payment_plan_term"
    __table_args__ = (UniqueConstraint("plan_id", "seq", name="uq_payment_plan_term_plan_seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("payment_plan.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    due_date: Mapped[date] = mapped_column(Date)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    paid_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    paid_on: Mapped[date | None] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(10), default="open")  # open | paid | late | broken
    notice_message_id: Mapped[int | None] = mapped_column(ForeignKey("message.id", ondelete="SET NULL"))

    plan: Mapped[PaymentPlan] = relationship(back_populates="terms")
class Digest(Base):
    """A digest e-mail (a user's daily Today, an account manager's weekly overview), keyed by who, what and
    which day or week, so each is sent once however often the job runs; status sending → sent | failed,
    a 'sending' left behind by an interrupted run is never sent again by itself."""

    __tablename__ = "digest"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(300), unique=True)  # daily:<user>:<day> | weekly:<manager>:<year-Wnn>
    kind: Mapped[str] = mapped_column(String(10))  # daily | weekly
    recipient_name: Mapped[str] = mapped_column(String(255))
    recipients: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(2), default="nl")
    subject: Mapped[str] = mapped_column(Text, default="")
    body_text: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(10), default="sending")
    smtp_message_id: Mapped[str | None] = mapped_column(String(255))
    last_error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)


# --- Users -----------------------------------------------------------------------------------------------


class UserAccount(Base):
    """A person who logs in: the one store of users, shared by every app server and the command line.
    `session_key` is in every login of the user (the session and the remembered cookie); a new one ends them
    all at once (logout, a password reset, a role change, disabling)."""

    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(50), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(255), default="")
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(100))
    language: Mapped[str | None] = mapped_column(String(5))  # None: the browser's
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime)
    session_key: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class DataVersion(Base):
    """One row: a number every committed write raises (`UnitOfWork.commit`), read by every app server to
    know whether what it cached is still what the database holds."""

    __tablename__ = "data_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)
    changed_at: Mapped[datetime | None] = mapped_column(DateTime)


class DebtorTouched(Base):
    """The debtors a committed write touched, by the data version that write left (`UnitOfWork.commit`);
    debtor_id NULL: the write may have touched any debtor. The reminder tracks shown on the ageing page are
    worked out again for these debtors only. Kept for the last JOURNAL_VERSIONS versions."""

    __tablename__ = "debtor_touched"
    __table_args__ = (Index("ix_debtor_touched_version", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)
    debtor_id: Mapped[int | None] = mapped_column(Integer)
