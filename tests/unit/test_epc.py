import io
import random
import shutil
import subprocess

import numpy as np
import pytest

from receivables.domain import epc

IBAN = "NL91ABNA0417164300"


def test_the_payload_follows_epc069_12():
    payload = epc.epc_payload(name="Debtor Desk Demo B.V.", iban="nl91 abna 0417 1643 00", amount_cents=123456,
                              bic="abnanl2a", remittance="10001 2026-00012 2026-00019")
    assert payload.split("\n") == ["BCD", "002", "1", "SCT", "ABNANL2A", "Debtor Desk Demo B.V.", IBAN,
                                   "EUR1234.56", "", "", "10001 2026-00012 2026-00019"]


@pytest.mark.parametrize("kwargs, message", [
    ({"iban": "NL91ABNA0417164301"}, "IBAN"),
    ({"name": ""}, "beneficiary"),
    ({"amount_cents": 0}, "amount"),
    ({"bic": "XX"}, "BIC"),
])
def test_bad_payment_details_are_refused(kwargs, message):
    args = {"name": "Acme B.V.", "iban": IBAN, "amount_cents": 100, **kwargs}
    with pytest.raises(epc.EpcError, match=message):
        epc.epc_payload(**args)


@pytest.mark.parametrize("iban, ok", [(IBAN, True), ("DE89 3704 0044 0532 0130 00", True),
                                      ("NL91ABNA0417164301", False), ("hello", False)])
def test_iban_check_digits(iban, ok):
    assert epc.valid_iban(iban) is ok


def test_the_qr_code_renders_as_png_and_svg_for_a_utf8_name():
    payload = epc.epc_payload(name="Bakkerij Één B.V.", iban=IBAN, amount_cents=99)
    png = epc.qr_png(payload)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert "<svg" in epc.qr_svg(payload)
    assert len(payload.encode("utf-8")) <= epc.MAX_PAYLOAD_BYTES


def test_a_long_remittance_text_is_cut_to_140_characters():
    payload = epc.epc_payload(name="Acme", iban=IBAN, amount_cents=100, remittance="F" * 300)
    assert len(payload.split("\n")[10]) == 140


def _payloads():
    """EPC payloads of many lengths (QR versions 4 to 10) and every mask segno ends up choosing."""
    rnd = random.Random(20260630)
    names = ["Voorbeeld Groothandel B.V.", "Bakkerij Één B.V.", "A"]
    for i in range(120):
        numbers = " ".join(f"2026-{rnd.randint(1, 99_999):05d}" for _ in range(rnd.randint(1, 12)))
        yield epc.epc_payload(name=names[i % 3], iban=IBAN, bic=("", "ABNANL2A")[i % 2],
                              amount_cents=rnd.randint(1, 10 ** 9), remittance=f"D{i:05d} {numbers}",
                              note=("", "Betaal binnen 7 dagen")[i % 4 == 0])


def test_the_symbol_is_the_one_segno_draws_choosing_the_mask_itself():
    segno = pytest.importorskip("segno")
    masks = set()
    for payload in _payloads():
        theirs = segno.make(payload, error="m", encoding="utf-8", micro=False, boost_error=False)
        masks.add(theirs.mask)
        assert np.array_equal(epc.qr_matrix(payload), np.array(theirs.matrix)), payload
    assert len(masks) >= 5  # the comparison covered most of the eight masks


def test_the_png_has_the_pixels_of_segnos_png():
    segno = pytest.importorskip("segno")
    image = pytest.importorskip("PIL.Image")
    for payload in list(_payloads())[:10]:
        theirs = io.BytesIO()
        segno.make(payload, error="m", encoding="utf-8", micro=False, boost_error=False).save(
            theirs, kind="png", scale=4, border=4)
        ours = np.array(image.open(io.BytesIO(epc.qr_png(payload))).convert("L"))
        assert np.array_equal(ours, np.array(image.open(io.BytesIO(theirs.getvalue())).convert("L")))


@pytest.mark.skipif(shutil.which("zbarimg") is None, reason="zbarimg (zbar-tools) is not installed")
def test_the_png_scans_back_to_the_payload(tmp_path):
    payload = epc.epc_payload(name="Bakkerij Één B.V.", iban=IBAN, bic="ABNANL2A", amount_cents=171_050,
                              remittance="D00042 2026-00012 2026-00019")
    path = tmp_path / "qr.png"
    path.write_bytes(epc.qr_png(payload))
    out = subprocess.run(["zbarimg", "--raw", "-q", "-Sbinary", str(path)], capture_output=True, check=True)
    assert out.stdout.rstrip(b"\n").decode("utf-8") == payload
