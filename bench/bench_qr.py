"""The EPC QR image: the hand-written path of `epc.qr_png` against segno's own PNG writer, same payloads,
same run.

    python bench/bench_qr.py --images 300 --rounds 5

Four ways to the same PNG pixels (checked before timing):
1. hand-written (what `epc.qr_png` does): segno encodes with mask 0, the mask is chosen with numpy by
   segno's penalty rules, and the PNG is written with zlib;
2. segno: `segno.make(...)` chooses the mask itself and `.save(kind="png")` writes the PNG;
3. numpy mask, segno's writer: the symbol of 1, written by segno's PNG writer (`segno.writers.write_png`);
4. segno's mask, our writer: segno chooses the mask, the PNG is written as in 1.
The payloads are those of a batch of reminders (the amounts and invoice numbers vary, so the symbols do).
Printed: milliseconds of CPU an image, the median over the rounds, and what that is for 1,000 approvals and
for the 22,787 messages of bench/bench_remind.py's first run.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import segno
from PIL import Image
from segno import writers

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from receivables.domain import epc  # noqa: E402

PAYMENT = {"iban": "NL91ABNA0417164300", "bic": "ABNANL2A", "beneficiary": "Voorbeeld Groothandel BV"}
REMIND_MESSAGES = 22_787  # bench/bench_remind.py: messages drawn at its first run


def payloads(n: int) -> list[str]:
    return [epc.epc_payload(name=PAYMENT["beneficiary"], iban=PAYMENT["iban"], bic=PAYMENT["bic"],
                            amount_cents=50_000 + 137 * i, remittance=f"B{i:05d} 2026-{i:05d}"
                            + (f" 2026-{i + 7:05d}" if i % 3 == 0 else "")) for i in range(n)]


def _segno(payload: str, mask: int | None = None):
    return segno.make(payload, error="m", encoding="utf-8", micro=False, boost_error=False, mask=mask)


def _segno_png(symbol) -> bytes:
    out = io.BytesIO()
    symbol.save(out, kind="png", scale=4, border=4)
    return out.getvalue()


def hand_written(payload: str) -> bytes:
    return epc.qr_png(payload)


def segno_writer(payload: str) -> bytes:
    return _segno_png(_segno(payload))


def numpy_mask_segno_writer(payload: str) -> bytes:
    matrix = epc.qr_matrix(payload)
    out = io.BytesIO()
    writers.write_png(tuple(bytearray(row) for row in matrix.tolist()), matrix.shape, out, scale=4, border=4)
    return out.getvalue()


def segno_mask_our_writer(payload: str) -> bytes:
    return epc._png(np.array(_segno(payload).matrix, dtype=np.uint8), 4, 4)


WAYS = {"hand-written (epc.qr_png)": hand_written, "segno (mask and PNG writer)": segno_writer,
        "numpy mask, segno's PNG writer": numpy_mask_segno_writer, "segno's mask, our PNG writer": segno_mask_our_writer}


def pixels(png: bytes):
    return np.array(Image.open(io.BytesIO(png)).convert("L"))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--json", default=None, help="also write the results to this file")
    args = ap.parse_args()
    texts = payloads(args.images)
    for p in texts[:20]:  # the same image every way
        first = pixels(hand_written(p))
        assert all(np.array_equal(first, pixels(way(p))) for way in WAYS.values()), p
    print(f"segno {segno.__version__}, {args.images} payloads, {args.rounds} rounds, "
          f"load average {os.getloadavg()[0]:.1f}", flush=True)
    cpu: dict[str, list[float]] = {name: [] for name in WAYS}
    for r in range(args.rounds):
        order = list(WAYS.items())
        for name, way in order[r % len(order):] + order[:r % len(order)]:  # each goes first in turn
            started = time.process_time()
            for p in texts:
                way(p)
            cpu[name].append((time.process_time() - started) / len(texts) * 1000)
    results = {"segno": segno.__version__, "images": args.images, "rounds": args.rounds,
               "load_average": os.getloadavg(), "ms_cpu_per_image": {}}
    hand = statistics.median(cpu["hand-written (epc.qr_png)"])
    for name, values in cpu.items():
        ms = statistics.median(values)
        results["ms_cpu_per_image"][name] = round(ms, 2)
        print(f"  {name:32} {ms:6.2f} ms ({ms / hand:4.1f}x): {ms:.1f} s for 1,000 approvals, "
              f"{ms * REMIND_MESSAGES / 1000:.0f} s for {REMIND_MESSAGES:,} generated", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
