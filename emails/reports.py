"""The month-end ageing report as PDF: per currency the buckets, the KPIs and the largest debtors, on A4
landscape, in the reader's language and number format."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from fpdf import FPDF

from emails import letter
from receivables.domain import formatting as fmt
from receivables.domain.translation import N_, translate

TOP = 15  # debtors listed per currency


@dataclass(frozen=True)
class CurrencyAgeing:
    currency: str
    buckets: dict[str, int]  # label -> cents, in bucket order, plus "total"
    kpis: dict[str, str] = field(default_factory=dict)  # label (already worded) -> value (already formatted)
    top: list[tuple[str, str, dict[str, int]]] = field(default_factory=list)  # (code, name, buckets incl. total)


WORDS = (N_("Ageing report"), N_("as of {date}"), N_("Total"), N_("Debtor"), N_("Code"),
         N_("Largest {n} debtors"), N_("Page {page}"), N_("Not due"), N_("Overdue"))


def ageing_pdf(sections: list[CurrencyAgeing], *, as_of: date, company: str, lang: str = "nl",
               filters: str = "") -> bytes:
    """One section per currency: bucket totals, the KPIs given, and the TOP largest debtors."""
    def t(msgid: str, **params) -> str:
        return translate(msgid, lang, **params)

    pdf = FPDF(orientation="L", format="A4")
    pdf.set_margins(15, 15, 15)
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.set_title(f"{t('Ageing report')} {fmt.day(as_of, lang)}")
    pdf.set_author(company)
    pdf.set_creator("Debtor Desk")
    family, _, unicode = letter._font(pdf)

    def out(text: str) -> str:
        return letter._printable(text, unicode)

    for section in sections or [CurrencyAgeing("EUR", {"total": 0})]:
        pdf.add_page()
        pdf.set_font(family, "B", 15)
        pdf.cell(pdf.epw, 9, out(f"{t('Ageing report')} · {company} · {section.currency}"),
                 new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(family, "", 10)
        pdf.cell(pdf.epw, 6, out(t("as of {date}", date=fmt.day(as_of, lang)) + (f" · {filters}" if filters else "")),
                 new_x="LMARGIN", new_y="NEXT")
        pdf.ln(3)
        labels = [k for k in section.buckets if k != "total"] + ["total"]
        name_w = 95
        col_w = (pdf.epw - name_w) / len(labels)

        def row(cells: list[str], bold: bool = False, border: str = "", name_w=name_w, col_w=col_w) -> None:
            pdf.set_font(family, "B" if bold else "", 9)
            pdf.cell(name_w, 6, out(cells[0])[:60], border=border)
            for text in cells[1:]:
                pdf.cell(col_w, 6, out(text), border=border, align="R")
            pdf.ln()

        heads = [t("Not due") if k == "not_due" else t("Total") if k == "total" else k for k in labels]
        row(["", *heads], bold=True, border="B")
        row([t("Total"), *[fmt.amount(section.buckets.get(k, 0), lang) for k in labels]], bold=True)
        pdf.ln(2)
        if section.kpis:
            pdf.set_font(family, "", 9)
            pdf.multi_cell(pdf.epw, 5, out("   ".join(f"{k}: {v}" for k, v in section.kpis.items())),
                           new_x="LMARGIN", new_y="NEXT")
            pdf.ln(2)
        if section.top:
            pdf.set_font(family, "B", 11)
            pdf.cell(pdf.epw, 7, out(t("Largest {n} debtors", n=min(TOP, len(section.top)))),
                     new_x="LMARGIN", new_y="NEXT")
            row([t("Debtor"), *heads], bold=True, border="B")
            for code, name, buckets in section.top[:TOP]:
                row([f"{code}  {name}", *[fmt.amount(buckets.get(k, 0), lang) for k in labels]])
    return bytes(pdf.output())
