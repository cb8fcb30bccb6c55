"""A reminder as a letter: one A4 page (or more) as PDF, for the steps whose channel is "letter". The words
are the message's own (as rendered from its template, or as a person edited them); the letter adds the
sender, the addressee, the date and, when there is one, the EPC QR code for paying.

Text is set in DejaVu Sans or Liberation Sans when the machine has them (every character prints); else
in the PDF's built-in Helvetica, which has no euro sign and no typographic quotes: those are written
out (EUR, ") and any other character it cannot print becomes "?"."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from fpdf import FPDF

FONT_CANDIDATES = (  # regular, bold, monospaced (for the lines of the invoice overview)
    ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
     "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"),
    ("/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
     "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
     "/usr/share/fonts/truetype/liberation/LiberationMono-Regular.ttf"),
)
_WORDS = {"nl": {"attention": "t.a.v.", "code": "Klantnummer", "scan": "Scan de code met uw bank-app om te betalen."},
          "en": {"attention": "Attn.", "code": "Customer number", "scan": "Scan the code with your banking app to pay."}}
_LATIN1 = {"€": "EUR", "—": "-", "–": "-", "‘": "'", "’": "'", "“": '"', "”": '"', "…": "...", "•": "-",
           "\u00a0": " "}


@dataclass(frozen=True)
class Letter:
    sender: str  # the company, as on the payment details
    addressee: str  # the debtor's name
    attention: str  # contact person, or ""
    debtor_code: str
    on: date
    subject: str
    body: str  # plain text, as in the e-mail
    qr_png: bytes | None = None
    language: str = "nl"
    address: str = ""  # postal address, line by line; empty: a gap is left to write it in


def _font(pdf: FPDF) -> tuple[str, str, bool]:
    """(family, monospaced family, unicode): TrueType fonts when installed, else the built-in ones."""
    for regular, bold, mono in FONT_CANDIDATES:
        if Path(regular).is_file() and Path(bold).is_file() and Path(mono).is_file():
            pdf.add_font("letter", "", regular)
            pdf.add_font("letter", "B", bold)
            pdf.add_font("letter-mono", "", mono)
            return "letter", "letter-mono", True
    return "helvetica", "courier", False


def _is_table_line(line: str) -> bool:
    """A line of the invoice overview: columns kept apart by runs of spaces."""
    return "  " in line.strip()


def _printable(text: str, unicode: bool) -> str:
    if unicode:
        return text
    for char, plain in _LATIN1.items():
        text = text.replace(char, plain)
    return text.encode("latin-1", "replace").decode("latin-1")


def render(letter: Letter) -> bytes:
    """The letter as PDF bytes."""
    pdf = FPDF(format="A4")
    pdf.set_margins(25, 20, 20)
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.set_title(letter.subject)
    pdf.set_author(letter.sender)
    pdf.set_creator("Debtor Desk")
    family, mono, unicode = _font(pdf)
    pdf.add_page()

    def out(text: str) -> str:
        return _printable(text, unicode)

    words = _WORDS.get(letter.language, _WORDS["en"])
    width = pdf.epw
    pdf.set_font(family, "B", 14)
    pdf.cell(width, 8, out(letter.sender), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(14)
    pdf.set_font(family, "", 11)
    block = [letter.addressee, f"{words['attention']} {letter.attention}" if letter.attention else "",
             *letter.address.splitlines()]
    for line in block:
        if line.strip():
            pdf.cell(width, 6, out(line.strip()), new_x="LMARGIN", new_y="NEXT")
    if not letter.address.strip():
        pdf.ln(12)  # no address on file: room to write it in
    if letter.debtor_code:
        pdf.set_font(family, "", 9)
        pdf.cell(width, 6, out(f"{words['code']}: {letter.debtor_code}"), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(family, "", 11)
    pdf.ln(10)
    pdf.cell(width, 6, letter.on.strftime("%d-%m-%Y"), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font(family, "B", 11)
    pdf.multi_cell(width, 6, out(letter.subject), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    for line in letter.body.strip().splitlines():
        if not line.strip():
            pdf.ln(3)
        elif _is_table_line(line):  # monospaced, so that the columns stay under each other
            pdf.set_font(mono, "", 8.5)
            pdf.multi_cell(width, 4.4, out(line.rstrip()), new_x="LMARGIN", new_y="NEXT")
        else:
            pdf.set_font(family, "", 10.5)
            pdf.multi_cell(width, 5.2, out(line.strip()), align="L", new_x="LMARGIN", new_y="NEXT")
    if letter.qr_png:
        size = 38
        if pdf.get_y() + size + 12 > pdf.h - pdf.b_margin:
            pdf.add_page()
        pdf.ln(6)
        pdf.image(io.BytesIO(letter.qr_png), x=pdf.l_margin, w=size, h=size)
        pdf.set_font(family, "", 9)
        pdf.multi_cell(width, 4.5, out(words["scan"]), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def file_name(debtor_code: str, on: date, message_id: int) -> str:
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in debtor_code) or "debtor"
    return f"letter-{safe}-{on:%Y%m%d}-{message_id}.pdf"
