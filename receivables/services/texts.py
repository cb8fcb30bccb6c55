"""Reminder texts edited in Settings: per step template, tone and language, checked in the template
sandbox before they are saved, versioned (who changed what, when), with a way back to the shipped text.
Generation uses the newest version of each; messages already written keep their words."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select

from db.models import TextVersion
from db.uow import UnitOfWork
from emails import render
from emails.template_source import TONES, assemble, blocks, for_tone
from receivables.domain.contacts import LANGUAGES
from receivables.services.audit import record_audit
from receivables.services.errors import ServiceError

MAX_TEXT = 20_000


@dataclass(frozen=True)
class Version:
    id: int
    subject: str | None  # None: back to the shipped text
    body: str | None
    created_by: str
    created_at: datetime


@dataclass(frozen=True)
class EditableText:
    template: str
    tone: str
    language: str
    subject: str
    body: str
    edited: bool  # False: the shipped text is in force
    versions: list[Version]


def _check_key(template: str, tone: str, language: str) -> None:
    if template not in render.template_names():
        raise ServiceError("there is no reminder text {template}; choose one of: {names}", template=template,
                           names=", ".join(render.template_names()))
    if tone not in TONES:
        raise ServiceError("tone must be one of {tones}, not {tone}", tones=", ".join(TONES), tone=tone)
    if language not in LANGUAGES:
        raise ServiceError("language must be one of {languages}, not {language}",
                           languages=", ".join(LANGUAGES), language=language)


def in_force(session) -> dict[tuple[str, str, str], str]:
    """(template, tone, language) -> the edited template source, for every key whose newest version is
    an edit (not a return to the shipped text). Generation passes this to the renderer."""
    newest = (select(func.max(TextVersion.id))
              .group_by(TextVersion.template, TextVersion.tone, TextVersion.language).scalar_subquery())
    rows = session.scalars(select(TextVersion).where(TextVersion.id.in_(newest)))
    return {(r.template, r.tone, r.language): assemble(r.subject, r.body)
            for r in rows if r.subject is not None and r.body is not None}


def shipped(template: str, tone: str, language: str) -> dict[str, str]:
    """The shipped subject and body of a step for one tone."""
    return blocks(for_tone(render.step_source(language, template), tone))


def editable(uow: UnitOfWork, template: str, tone: str, language: str) -> EditableText:
    _check_key(template, tone, language)
    versions = [Version(v.id, v.subject, v.body, v.created_by, v.created_at) for v in uow.session.scalars(
        select(TextVersion).where(TextVersion.template == template, TextVersion.tone == tone,
                                  TextVersion.language == language).order_by(TextVersion.id.desc()))]
    if versions and versions[0].subject is not None:
        return EditableText(template, tone, language, versions[0].subject, versions[0].body or "", True, versions)
    text = shipped(template, tone, language)
    return EditableText(template, tone, language, text["subject"], text["body"], False, versions)


def sample_context(template: str, tone: str, language: str, today: date | None = None) -> dict:
    """A complete message context with example values: every field a text may use is present, so a
    field that does not exist is found before the text is saved."""
    today = today or date.today()
    due = today - timedelta(days=40)
    invoices = [{"number": "2026-0042", "invoice_date": due - timedelta(days=30), "due_date": due,
                 "days_overdue": 40, "open_cents": 302500, "description": "Levering"}]
    return {
        "language": language, "tone": tone, "channel": "email", "step": {"key": template, "template": template},
        "track": {"key": "standard", "name": "Standard"},
        "debtor": {"code": "0042", "name": "Bakker B.V.", "contact_person": "J. Bakker", "phone": "+31 20 123 4567",
                   "email": "debiteuren@bakker.nl"},
        "company": {"name": "Demo Groothandel B.V."}, "currency": "EUR", "many": False,
        "invoices": invoices, "more": None, "invoice_count": 1,
        "overview": [{**{k: invoices[0][k] for k in ("number", "invoice_date", "due_date", "open_cents")},
                      "status": "chased"}],
        "total_cents": 302500, "costs_cents": 42750, "interest_cents": 3365, "amount_due_cents": 348615,
        "costs": {"rates_used": [], "consumer": False, "mode": "bik", "wik_letter": False},
        "planned_date": today, "pay_by": today + timedelta(days=14),
        "payment": {"iban": "NL91ABNA0417164300", "bic": "ABNANL2A", "beneficiary": "Demo Groothandel B.V.",
                    "reference": "RF27 0000 4242", "description": "0042 2026-0042", "link": ""},
        "qr": False,
    }


def check(template: str, tone: str, language: str, subject: str, body: str,
          ctx: dict | None = None) -> render.Rendered:
    """The text rendered in the sandbox on `ctx` (an example when None); ServiceError says what to fix."""
    _check_key(template, tone, language)
    subject, body = (subject or "").strip(), (body or "").strip()
    if not subject or not body:
        raise ServiceError("a reminder text needs a subject and a body")
    if len(subject) > 300 or len(body) > MAX_TEXT:
        raise ServiceError("the subject may have 300 characters and the body {most}", most=MAX_TEXT)
    if "_costs.j2" in shipped(template, tone, language)["body"] and "_costs.j2" not in body:
        raise ServiceError('keep {{% include "{language}/_costs.j2" %}} in this text: it states the collection '
                           "costs and interest the law requires this letter to announce", language=language)
    ctx = ctx or sample_context(template, tone, language)
    try:
        return render.render_message({**ctx, "tone": tone, "language": language,
                                      "step": {**ctx["step"], "template": template}},
                                     {(template, tone, language): assemble(subject, body)})
    except render.TemplateError as exc:
        raise ServiceError("the text cannot be used: {reason}", reason=str(exc).split(": ", 1)[-1]) from None


def save(uow: UnitOfWork, template: str, tone: str, language: str, subject: str, body: str, *,
         actor: str) -> int:
    """Save a new version (checked first); returns its id. Saving the text in force again changes nothing."""
    check(template, tone, language, subject, body)
    current = editable(uow, template, tone, language)
    if current.subject.strip() == subject.strip() and current.body.strip() == body.strip():
        return current.versions[0].id if current.edited else 0
    row = TextVersion(template=template, tone=tone, language=language, subject=subject.strip(),
                      body=body.strip("\n"), created_by=actor)
    uow.session.add(row)
    uow.session.flush()
    record_audit(uow.session, actor, "text.edit", "text", f"{template}/{tone}/{language}",
                 {"subject": current.subject, "edited": current.edited}, {"subject": row.subject, "version": row.id})
    uow.commit()
    return row.id


def restore_default(uow: UnitOfWork, template: str, tone: str, language: str, *, actor: str) -> None:
    """Back to the shipped text (kept as a version, so the history shows it)."""
    current = editable(uow, template, tone, language)
    if not current.edited:
        return
    uow.session.add(TextVersion(template=template, tone=tone, language=language, subject=None, body=None,
                                created_by=actor))
    record_audit(uow.session, actor, "text.default", "text", f"{template}/{tone}/{language}",
                 {"subject": current.subject}, None)
    uow.commit()


def restore_version(uow: UnitOfWork, version_id: int, *, actor: str) -> int:
    """Put an earlier version in force again (as a new version)."""
    old = uow.session.get(TextVersion, int(version_id))
    if old is None:
        raise ServiceError("there is no text version {id}", id=version_id)
    if old.subject is None:
        restore_default(uow, old.template, old.tone, old.language, actor=actor)
        return 0
    return save(uow, old.template, old.tone, old.language, old.subject, old.body or "", actor=actor)
