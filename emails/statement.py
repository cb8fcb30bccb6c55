"""The statement of account ("rekeningoverzicht") attached to a reminder that chases more invoices than
its text lists: every invoice of the message, as PDF to read and as CSV to reconcile; and the statement of a
debtor's open items that the dossier offers as PDF and workbook."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd
from fpdf import FPDF

from emails import letter
from emails.mime import Attachment
from receivables.domain import exports
from receivables.domain.money import fmt
from receivables.domain.references import format_reference

LIST_LIMIT = 25  # a reminder's text lists at most this many invoices, the oldest first

WORDS = {
    "nl": {"title": "Rekeningoverzicht", "file": "rekeningoverzicht", "code": "Klantnummer", "date": "Datum",
           "invoice": "Factuur", "invoice_date": "Factuurdatum", "due_date": "Vervaldatum", "days": "Dagen over",
           "open": "Openstaand", "currency": "Valuta", "total": "Totaal openstaand",
           "reference": "Vermeld bij betaling het betalingskenmerk",
           "more": "... en nog {more} facturen. Alle {count} facturen staan in het bijgevoegde rekeningoverzicht "
                   "(PDF en CSV); het totaal geldt voor alle {count}."},
    "en": {"title": "Statement of account", "file": "statement-of-account", "code": "Customer number",
           "date": "Date", "invoice": "Invoice", "invoice_date": "Invoice date", "due_date": "Due date",
           "days": "Days overdue", "open": "Outstanding", "currency": "Currency", "total": "Total outstanding",
           "reference": "Please quote the payment reference",
           "more": "... and {more} more invoices. All {count} are in the attached statement of account "
                   "(PDF and CSV); the total covers all {count}."},
}


@dataclass(frozen=True)
class Row:
    number: str
    invoice_date: date | None
    due_date: date | None
    open_cents: int


def _words(language: str) -> dict[str, str]:
    return WORDS.get(language, WORDS["en"])


def listed(items: list) -> tuple[list, dict | None]:
    """The invoices a message's text lists (the oldest LIST_LIMIT of `items`, which come oldest first) and,
    when there are more, what the text says about the rest (filled in by the template)."""
    if len(items) <= LIST_LIMIT:
        return items, None
    return items[:LIST_LIMIT], {"count": len(items), "more": len(items) - LIST_LIMIT}


def more_note(more: dict | None, language: str) -> str:
    return _words(language)["more"].format(**more) if more else ""


def needed(n_invoices: int) -> bool:
    """Whether a message with this many invoices carries the statement."""
    return n_invoices > LIST_LIMIT


def _name(debtor_code: str, on: date, language: str, ext: str) -> str:
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in debtor_code) or "debtor"
    return f"{_words(language)['file']}-{safe}-{on:%Y%m%d}.{ext}"


def statement_csv(rows: list[Row], currency: str, on: date, language: str = "nl") -> bytes:
    """One line per invoice; text cells that a spreadsheet would run as a formula stay text."""
    w = _words(language)

    def line(r: Row) -> list:
        days = max(0, (on - r.due_date).days) if r.due_date else ""
        amount = f"{r.open_cents / 100:.2f}"
        return [r.number, r.invoice_date.isoformat() if r.invoice_date else "",
                r.due_date.isoformat() if r.due_date else "", days,
                amount.replace(".", ",") if language == "nl" else amount, currency]

    return exports.csv_bytes([w["invoice"], w["invoice_date"], w["due_date"], w["days"], w["open"], w["currency"]],
                             (line(r) for r in rows), delimiter=";" if language == "nl" else ",")


def statement_pdf(rows: list[Row], *, company: str, debtor_code: str, debtor_name: str, currency: str, on: date,
                  language: str = "nl", reference: str = "") -> bytes:
    """The statement as an A4 table, on as many pages as it needs, with the total at the end; with the
    reminder's structured payment `reference` under the heading."""
    w = _words(language)
    pdf = FPDF(format="A4")
    pdf.set_margins(20, 18, 20)
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.set_title(f"{w['title']} {debtor_code}")
    pdf.set_author(company)
    pdf.set_creator("Debtor Desk")
    family, _, unicode = letter._font(pdf)

    def out(text: str) -> str:
        return letter._printable(text, unicode)

    widths = (50, 30, 30, 25, 35)
    heads = (w["invoice"], w["invoice_date"], w["due_date"], w["days"], w["open"])

    def header() -> None:
        pdf.set_font(family, "B", 9)
        for width, head, align in zip(widths, heads, ("L", "L", "L", "R", "R")):
            pdf.cell(width, 7, out(head), border="B", align=align)
        pdf.ln()
        pdf.set_font(family, "", 9)

    pdf.add_page()
    pdf.set_font(family, "B", 14)
    pdf.cell(pdf.epw, 8, out(f"{w['title']} · {company}" if unicode else f"{w['title']} - {company}"),
             new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(family, "", 10)
    pdf.cell(pdf.epw, 6, out(debtor_name), new_x="LMARGIN", new_y="NEXT")
    pdf.cell(pdf.epw, 6, out(f"{w['code']}: {debtor_code} · {w['date']}: {on:%d-%m-%Y}" if unicode
                             else f"{w['code']}: {debtor_code} - {w['date']}: {on:%d-%m-%Y}"),
             new_x="LMARGIN", new_y="NEXT")
    if reference:
        pdf.set_font(family, "B", 10)
        pdf.cell(pdf.epw, 6, out(f"{w['reference']}: {format_reference(reference)}"), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(family, "", 10)
    pdf.ln(4)
    header()
    for r in rows:
        if pdf.get_y() + 6 > pdf.h - pdf.b_margin:
            pdf.add_page()
            header()
        days = str(max(0, (on - r.due_date).days)) if r.due_date else ""
        cells = (r.number, f"{r.invoice_date:%d-%m-%Y}" if r.invoice_date else "",
                 f"{r.due_date:%d-%m-%Y}" if r.due_date else "", days, fmt(r.open_cents, currency, language))
        for width, text, align in zip(widths, cells, ("L", "L", "L", "R", "R")):
            pdf.cell(width, 5.5, out(text), align=align)
        pdf.ln()
    pdf.set_font(family, "B", 10)
    pdf.cell(sum(widths[:-1]), 8, out(f"{w['total']} ({len(rows)})"), border="T")
    pdf.cell(widths[-1], 8, out(fmt(sum(r.open_cents for r in rows), currency, language)), border="T", align="R")
    return bytes(pdf.output())


def statement_xlsx(rows: list[Row], *, company: str, debtor_code: str, debtor_name: str, currency: str, on: date,
                   language: str = "nl") -> bytes:
    """The statement as a workbook: real date and amount cells, the total of the open amounts below."""
    lang = language if language in WORDS else "en"
    w = _words(lang)
    columns = [w["invoice"], w["invoice_date"], w["due_date"], w["days"], w["open"], w["currency"]]
    frame = pd.DataFrame([[r.number, r.invoice_date, r.due_date,
                           max(0, (on - r.due_date).days) if r.due_date else None, r.open_cents, currency]
                          for r in rows], columns=columns)
    return exports.report(frame, "xlsx", lang=lang, title=f"{w['title']} · {company}",
                          header=[debtor_name, f"{w['code']}: {debtor_code} · {w['date']}: {on:%d-%m-%Y}"],
                          money=[w["open"]], dates=[w["invoice_date"], w["due_date"]], total_label=w["total"],
                          sheet=w["title"][:31])


def file_name(debtor_code: str, on: date, language: str, ext: str) -> str:
    """The statement's file name in the reader's language: rekeningoverzicht-CODE-YYYYMMDD.pdf."""
    return _name(debtor_code, on, language, ext)


def attachments(rows: list[Row], *, company: str, debtor_code: str, debtor_name: str, currency: str, on: date,
                language: str = "nl", reference: str = "") -> tuple[Attachment, Attachment]:
    """The statement as PDF and CSV attachments (the PDF with the reminder's payment reference)."""
    pdf = statement_pdf(rows, company=company, debtor_code=debtor_code, debtor_name=debtor_name,
                        currency=currency, on=on, language=language, reference=reference)
    return (Attachment(_name(debtor_code, on, language, "pdf"), pdf),
            Attachment(_name(debtor_code, on, language, "csv"), statement_csv(rows, currency, on, language),
                       "text/csv"))
