"""The dossier's part of the team mailbox: addresses that bounced, and the files debtors sent with their
replies, to download."""

from __future__ import annotations

import streamlit as st

from receivables.services import mailbox
from ui import i18n, state
from ui.i18n import _, n_


def _attachment_bytes(attachment_id: int) -> bytes:
    with state.uow() as uow:
        return mailbox.attachment(uow, attachment_id).data


def mail_in_dossier(code: str) -> None:
    """What the team mailbox brought for this debtor: addresses that bounced, and the files sent with
    replies."""
    with state.uow() as uow:
        bouncing = mailbox.bouncing_addresses(uow, code)
        files = mailbox.debtor_attachments(uow, code)
    if bouncing:
        st.warning(_("Reminders are not sent to {addresses}: mail to it bounced. Enter a new address under "
                     "Contact, or save it there as it is to use it again.",
                     addresses=", ".join(_escaped(a) for a in bouncing)), icon=":material/unsubscribe:")
    if files:
        reply_attachments(files)


def reply_attachments(files: list[mailbox.ReplyAttachment]) -> None:
    """The attachments of the debtor's mails (invoices, remittance advice, proof of payment), newest first."""
    with st.expander(n_("{n} attachment with replies", "{n} attachments with replies", len(files)),
                     icon=":material/attach_file:"):
        for f in files:
            left, right = st.columns([3, 2], vertical_alignment="center")
            left.caption(_("{date} · {sender}: {subject}", date=i18n.moment(f.at), sender=_escaped(f.sender),
                           subject=_escaped(f.subject or "—")))
            if f.kept:
                right.download_button(_("Download {name}", name=f.name), key=f"dossier_att_{f.id}",
                                      data=lambda a=f.id: _attachment_bytes(a), file_name=f.name,
                                      icon=":material/download:")
            else:
                right.caption(_("{name} ({size} bytes) was too large to keep; it is in the processed folder.",
                                name=_escaped(f.name), size=f.size))


def _escaped(text: str) -> str:
    """A sender or subject shown as Markdown: every Markdown character escaped."""
    return "".join("\\" + c if c in "\\`*_{}[]()#+-.!|<>~$:" else c for c in str(text or ""))
