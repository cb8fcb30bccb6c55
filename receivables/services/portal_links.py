"""The personal link to the debtor's portal that every reminder carries: signed (itsdangerous) with the
portal's key, naming the debtor, the reminder and the debtor's link generation, expiring after the
configured days. A reminder's stored words hold a mark where the token goes; it is signed when the
reminder is sent, so a link never expires before its reminder goes out."""

from __future__ import annotations

from datetime import datetime, timedelta

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select

from db import portal_config
from db.models import Debtor
from receivables.domain import portal as rules
from receivables.services.errors import ServiceError

SALT = "debtor-desk portal link"
MAX_TOKEN = 400  # a longer text is no link of ours


def config() -> portal_config.PortalConfig:
    try:
        return portal_config.load_portal_config()
    except portal_config.PortalConfigError as exc:
        raise ServiceError(exc.msgid, **exc.params) from None


def _serializer(cfg: portal_config.PortalConfig) -> URLSafeTimedSerializer:
    try:
        key = cfg.signing_key()
    except portal_config.PortalConfigError as exc:
        raise ServiceError(exc.msgid, **exc.params) from None
    return URLSafeTimedSerializer(key, salt=SALT)


def make_token(debtor_id: int, message_id: int, generation: int,
               cfg: portal_config.PortalConfig | None = None) -> str:
    """A signed token naming the debtor, the message and the generation (no code or amount in clear)."""
    return _serializer(cfg or config()).dumps(rules.LinkClaims(debtor_id, message_id, generation).payload())


def read_token(token: str | None, cfg: portal_config.PortalConfig | None = None, *,
               now: datetime | None = None) -> rules.LinkClaims | None:
    """The claims of a token that is ours and not expired, else None (tampered, foreign, expired alike)."""
    cfg = cfg or config()
    token = (token or "").strip()
    if not token or len(token) > MAX_TOKEN:
        return None
    try:
        payload, signed_at = _serializer(cfg).loads(token, return_timestamp=True)
    except BadSignature:
        return None
    if now is None:
        now = datetime.now(signed_at.tzinfo)
    elif now.tzinfo is None:
        now = now.replace(tzinfo=signed_at.tzinfo)
    if now - signed_at > timedelta(days=cfg.token_days) or signed_at - now > timedelta(minutes=5):
        return None
    return rules.LinkClaims.from_payload(payload)


def _generation(session, debtor_id: int) -> int:
    return session.scalar(select(Debtor.portal_generation).where(Debtor.id == debtor_id)) or 0


def personal_link(session, debtor_id: int, message_id: int,
                  cfg: portal_config.PortalConfig | None = None) -> str | None:
    """The debtor's link for a reminder, or None when the portal has no address."""
    cfg = cfg or config()
    if not cfg.url:
        return None
    return rules.link(cfg.url, make_token(debtor_id, message_id, _generation(session, debtor_id), cfg))


def link_placeholder() -> str:
    """What a reminder's words hold where its personal link goes; '' without a portal address."""
    cfg = config()
    return rules.link(cfg.url, rules.MARK) if cfg.url else ""


def fill_link(texts: tuple[str, ...], debtor_id: int, message_id: int, generation: int) -> tuple[str, ...]:
    """A reminder's words (text and HTML) with its personal link's token in place of the mark (nothing
    in its place when the portal's address was removed since the words were rendered)."""
    if not any(rules.MARK in t for t in texts):
        return texts
    cfg = config()
    token = make_token(debtor_id, message_id, generation, cfg) if cfg.url else ""
    return tuple(t.replace(rules.MARK, token) for t in texts)
