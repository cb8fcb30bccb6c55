"""Generate a Dutch open-items export (e-Boekhouden layout): semicolon, decimal comma with dot
thousands, dd-mm-yyyy dates, Windows line endings. Deterministic for a seed.

    python bench/generate_open_items.py bench/data/open_items_1m.csv --rows 1000000 --debtors 50000
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

HEADER = "Relatiecode;Relatie;Factuurnummer;Factuurdatum;Vervaldatum;Bedrag;Openstaand;Soort"


def _amounts(cents: np.ndarray) -> np.ndarray:
    """Integer cents as `1.234,56` / `-1.234,56` strings, vectorised."""
    neg = cents < 0
    units, rest = np.divmod(np.abs(cents), 100)
    text = np.char.mod("%d", units)
    # dot thousands separators for up to 999.999.999
    millions, below = np.divmod(units, 1_000_000)
    thousands, ones = np.divmod(below, 1_000)
    grouped = np.where(
        millions > 0,
        np.char.add(np.char.add(np.char.mod("%d.", millions), np.char.mod("%03d.", thousands)),
                    np.char.mod("%03d", ones)),
        np.where(thousands > 0, np.char.add(np.char.mod("%d.", thousands), np.char.mod("%03d", ones)), text),
    )
    out = np.char.add(np.char.add(grouped, ","), np.char.mod("%02d", rest))
    return np.where(neg, np.char.add("-", out), out)


def _dutch_dates(days: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 as dd-mm-yyyy strings, vectorised."""
    iso = np.datetime_as_string(days.astype("datetime64[D]"), unit="D")
    year, month, day = _slice(iso, 0, 4), _slice(iso, 5, 7), _slice(iso, 8, 10)
    return np.char.add(np.char.add(np.char.add(np.char.add(day, "-"), month), "-"), year)


def _slice(arr: np.ndarray, start: int, stop: int) -> np.ndarray:
    chars = arr.astype("U10").view("U1").reshape(len(arr), 10)
    return np.ascontiguousarray(chars[:, start:stop]).view(f"U{stop - start}").ravel()


def generate(path: Path, rows: int, debtors: int, seed: int = 1, as_of: str = "2026-06-30",
             chunk: int = 200_000) -> None:
    rng = np.random.default_rng(seed)
    anchor = np.datetime64(as_of, "D").astype(np.int64)
    codes = np.char.mod("%06d", np.arange(1, debtors + 1))  # leading zeros must survive
    names = np.char.add(np.char.add("Debiteur ", codes), " B.V.")
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write(HEADER + "\r\n")
        for start in range(0, rows, chunk):
            n = min(chunk, rows - start)
            who = rng.integers(0, debtors, n)
            numbers = np.char.mod("F%09d", np.arange(start + 1, start + n + 1))
            invoice_day = anchor - rng.integers(0, 400, n)
            due_day = invoice_day + rng.choice([14, 30, 30, 30, 60], n)
            amount = rng.integers(500, 2_500_000, n)
            credit = rng.random(n) < 0.03
            amount = np.where(credit, -amount // 10, amount)
            partly = (rng.random(n) < 0.15) & ~credit
            open_ = np.where(partly, amount - rng.integers(1, 100, n) * amount // 100, amount)
            kind = np.where(credit, "Creditfactuur", "Factuur")
            cols = [codes[who], names[who], numbers, _dutch_dates(invoice_day),
                    _dutch_dates(due_day), _amounts(amount),
                    _amounts(open_), kind]
            lines = cols[0]
            for c in cols[1:]:
                lines = np.char.add(np.char.add(lines, ";"), c)
            fh.write("\r\n".join(lines.tolist()) + "\r\n")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("path", type=Path)
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--debtors", type=int, default=50_000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--as-of", default="2026-06-30")
    a = p.parse_args()
    generate(a.path, a.rows, a.debtors, a.seed, a.as_of)


if __name__ == "__main__":
    main()
