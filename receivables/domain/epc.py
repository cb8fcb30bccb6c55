"""The EPC QR code (EPC069-12, "GiroCode"): scan-to-pay a SEPA credit transfer in a banking app."""

from __future__ import annotations

import functools
import io
import re
import struct
import zlib

import numpy as np
import segno
from segno import encoder

from receivables.domain.errors import Problem

MAX_PAYLOAD_BYTES = 331
MAX_CENTS = 99_999_999_999  # EUR 999,999,999.99


class EpcError(Problem):
    """Payment details that cannot go into an EPC QR code; the message says what to fix."""


def normalise_iban(iban: str) -> str:
    return re.sub(r"\s+", "", iban or "").upper()


@functools.lru_cache(maxsize=64)  # the same few accounts, checked for every message
def valid_iban(iban: str) -> bool:
    """ISO 13616 check: country code, two check digits, and the mod-97 remainder 1."""
    s = normalise_iban(iban)
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}", s):
        return False
    digits = "".join(str(int(ch, 36)) for ch in s[4:] + s[:4])
    return int(digits) % 97 == 1


def format_iban(iban: str) -> str:
    s = normalise_iban(iban)
    return " ".join(s[i:i + 4] for i in range(0, len(s), 4))


@functools.lru_cache(maxsize=64)
def valid_bic(bic: str) -> bool:
    return bool(re.fullmatch(r"[A-Z]{6}[A-Z0-9]{2}([A-Z0-9]{3})?", (bic or "").strip().upper()))


def epc_payload(*, name: str, iban: str, amount_cents: int, remittance: str = "", bic: str = "",
                purpose: str = "", note: str = "", reference: str = "") -> str:
    """The text of an EPC QR code, version 002, UTF-8: BCD/002/1/SCT, BIC, name, IBAN, EUR amount,
    purpose, then either a structured creditor reference (`reference`: the payment is matched by it)
    or an unstructured remittance text, never both (EPC069-12), and a note for the payer."""
    name = " ".join((name or "").split())
    if not name:
        raise EpcError("the beneficiary name is missing; fill it in under Settings → Reminders")
    if len(name) > 70:
        raise EpcError("the beneficiary name may have at most 70 characters")
    if not valid_iban(iban):
        raise EpcError(f"IBAN {iban!r} is not valid; check it under Settings → Reminders")
    if bic and not valid_bic(bic):
        raise EpcError(f"BIC {bic!r} is not valid (8 or 11 letters and digits)")
    if not 1 <= amount_cents <= MAX_CENTS:
        raise EpcError("the amount in an EPC QR code must be between EUR 0.01 and EUR 999,999,999.99")
    units, rest = divmod(int(amount_cents), 100)
    reference = re.sub(r"\s+", "", reference or "").upper()
    if len(reference) > 35:
        raise EpcError("a structured payment reference has at most 35 characters")
    remittance = "" if reference else " ".join((remittance or "").split())
    if len(remittance) > 140:
        remittance = remittance[:137] + "..."
    lines = ["BCD", "002", "1", "SCT", (bic or "").strip().upper(), name, normalise_iban(iban),
             f"EUR{units}.{rest:02d}", (purpose or "")[:4], reference, remittance, " ".join((note or "").split())[:70]]
    payload = "\n".join(lines).rstrip("\n")
    if len(payload.encode("utf-8")) > MAX_PAYLOAD_BYTES:
        raise EpcError("the payment details are too long for an EPC QR code (331 bytes)")
    return payload


def _qr(payload: str, mask: int | None = None, version: int | None = None):
    # EPC069-12: error correction level M, byte mode, UTF-8 as declared by the character set "1"
    return segno.make(payload, error="m", encoding="utf-8", micro=False, boost_error=False, mask=mask,
                      version=version)


# --- the symbol and its image, faster --------------------------------------------------------------------
# segno picks the mask by trying all eight in pure Python (8-19 ms a code). The same choice, by the same
# penalty rules (ISO/IEC 18004:2015 7.8.3) on the same matrix, is made here with numpy from one symbol
# drawn with mask 0: the result is the symbol segno would draw (tests compare the two module for module).
# It reads segno's encoder, so segno is pinned to one version in requirements.txt. The PNG is written here
# too: segno's PNG writer takes ten times as long for the same pixels. Together a third of the time of
# segno drawing the image by itself (python bench/bench_qr.py; bench/RESULTS.md, "The EPC QR image").

_MASKS = (
    lambda i, j: (i + j) % 2 == 0,
    lambda i, j: i % 2 == 0,
    lambda i, j: j % 3 == 0,
    lambda i, j: (i + j) % 3 == 0,
    lambda i, j: (i // 2 + j // 3) % 2 == 0,
    lambda i, j: (i * j) % 2 + (i * j) % 3 == 0,
    lambda i, j: ((i * j) % 2 + (i * j) % 3) % 2 == 0,
    lambda i, j: ((i + j) % 2 + (i * j) % 3) % 2 == 0,
)
_N3 = bytes((1, 0, 1, 1, 1, 0, 1))


@functools.lru_cache(maxsize=16)
def _layout(size: int):
    """For a symbol size: where the data modules are, the function patterns as they stand while the mask
    is chosen (format and version areas still empty), and each mask restricted to the data modules."""
    fixed = encoder.make_matrix(size, size)
    encoder.add_finder_patterns(fixed, size, size)
    encoder.add_alignment_patterns(fixed, size, size)
    fixed = np.array(fixed, dtype=np.uint8)
    data = fixed > 1  # not yet written: the encoding region
    i, j = np.indices((size, size))
    masks = np.stack([(fn(i, j) & data).astype(np.uint8) for fn in _MASKS])
    return data, np.where(data, 0, fixed).astype(np.uint8), masks


@functools.lru_cache(maxsize=64)
def _frame(version: int, mask: int):
    """Function patterns, format and version information of a symbol of this version with this mask."""
    return np.array(_qr("0", mask=mask, version=version).matrix, dtype=np.uint8)


def _n3(seq: bytes, size: int) -> int:
    """Finder-like patterns (1:1:3:1:1 with four light modules on a side), counted as segno counts them."""
    count = 0
    idx = seq.find(_N3)
    while idx != -1:
        offset = idx + 7
        if idx in (0, size - 7) or not any(seq[max(idx - 4, 0):idx]) or not any(seq[offset:offset + 4]):
            count += 40
        else:
            offset = idx + 4
        idx = seq.find(_N3, offset)
    return count


def _penalties(masked) -> list[int]:
    """N1 + N2 + N3 + N4 of ISO/IEC 18004:2015 table 11 for each of a stack of masked matrices (0 and 1)."""
    count, size = masked.shape[0], masked.shape[1]
    # every row and every column of every matrix, each followed by a separator that matches nothing
    lines = np.concatenate([masked, masked.transpose(0, 2, 1)], axis=1)
    lines = np.concatenate([lines, np.full((count, 2 * size, 1), 9, dtype=np.uint8)], axis=2)
    flat = lines.ravel()
    per_matrix = flat.size // count
    # N1: runs of five or more modules of one colour in a row or column
    starts = np.flatnonzero(np.concatenate(([True], flat[1:] != flat[:-1])))
    runs = np.diff(np.append(starts, flat.size))
    long = runs >= 5
    scores = np.bincount(starts[long] // per_matrix, weights=runs[long] - 2, minlength=count).astype(np.int64)
    # N2: 2x2 blocks of one colour
    top = masked[:, :-1, :-1]
    blocks = (top == masked[:, :-1, 1:]) & (top == masked[:, 1:, :-1]) & (top == masked[:, 1:, 1:])
    scores += 3 * blocks.sum(axis=(1, 2))
    # N3: finder-like patterns with four light modules on a side (or at an edge), 40 each; where two
    # overlap, segno's scan (which skips the second) counts that line.
    lines = lines[:, :, :size]
    window = size - 6
    code = np.zeros((count, 2 * size, window), dtype=np.int64)
    for k in range(7):
        code = (code << 1) | lines[:, :, k:k + window]
    match = code == 0b1011101
    sums = np.concatenate([np.zeros((count, 2 * size, 1), dtype=np.int64), lines.cumsum(axis=2)], axis=2)
    at = np.arange(window)
    before = sums[:, :, at] - sums[:, :, np.maximum(at - 4, 0)]
    after = sums[:, :, np.minimum(at + 11, size)] - sums[:, :, at + 7]
    edge = (at == 0) | (at == size - 7)
    counted = match & (edge | (before == 0) | (after == 0))
    # a pattern four or six modules after a counted one overlaps it and is skipped by the scan
    overlap = np.zeros_like(counted)
    overlap[:, :, 4:] |= counted[:, :, :-4]
    overlap[:, :, 6:] |= counted[:, :, :-6]
    tricky = (counted & overlap).any(axis=2)
    scores += 40 * np.where(tricky, 0, counted.sum(axis=2)).sum(axis=1)
    for m, k in zip(*np.nonzero(tricky), strict=True):
        scores[m] += _n3(lines[m, k].tobytes(), size)
    # N4: the balance of dark and light
    dark = masked.sum(axis=(1, 2))
    out = []
    for score, d in zip(scores.tolist(), dark.tolist(), strict=True):
        percent = float(d) / size ** 2
        out.append(int(score) + 10 * int(abs(percent * 100 - 50) / 5))
    return out


def qr_matrix(payload: str):
    """The QR symbol of the payload as a numpy array of 0 (light) and 1 (dark), without the quiet zone."""
    first = _qr(payload, mask=0)
    drawn = np.array(first.matrix, dtype=np.uint8)
    try:
        data, fixed, masks = _layout(drawn.shape[0])
    except AttributeError:  # a segno whose internals moved on: let it choose the mask itself, slowly
        return np.array(_qr(payload).matrix, dtype=np.uint8)
    unmasked = np.where(data, drawn ^ masks[0], fixed)
    scores = _penalties(unmasked[None, :, :] ^ masks)
    best = scores.index(min(scores))  # the first of equals, as segno takes it
    if best == 0:
        return drawn
    return np.where(data, unmasked ^ masks[best], _frame(first.version, best))


def _png(matrix, scale: int, border: int) -> bytes:
    """A 1-bit greyscale PNG: dark modules black, light ones and the quiet zone white."""
    light = np.pad(matrix == 0, border, constant_values=True).repeat(scale, 0).repeat(scale, 1)
    height, width = light.shape
    rows = np.packbits(light, axis=1)
    raw = np.concatenate([np.zeros((height, 1), dtype=np.uint8), rows], axis=1).tobytes()  # filter 0 per row

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def qr_png(payload: str, scale: int = 4) -> bytes:
    """PNG bytes of the QR code, for the inline image `cid:epcqr` and the preview."""
    return _png(qr_matrix(payload), scale, 4)


def qr_svg(payload: str, scale: int = 4) -> str:
    buf = io.BytesIO()
    _qr(payload).save(buf, kind="svg", scale=scale, border=4, xmldecl=False)
    return buf.getvalue().decode("utf-8")
