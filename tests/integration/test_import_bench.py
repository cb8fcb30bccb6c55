"""The import benchmark runs end to end on a small file (the real run, 1,000,000 rows, is by hand)."""

import subprocess
import sys

import pytest

from tests.conftest import ROOT


@pytest.mark.slow
def test_the_import_benchmark_runs_on_two_thousand_rows(tmp_path):
    res = subprocess.run([sys.executable, "bench/bench_import.py", "--rows", "2000", "--debtors", "100", "--rounds", "1",
                          "--data", str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    lines = {ln.split()[0]: ln for ln in res.stdout.splitlines()[2:9]}
    assert set(lines) == {"baseline", "first", "undo", "first-again", "again", "same-content", "newer"}
    assert lines["first"].endswith("new 2000, changed 0, closed 0, unchanged 0, skipped 0")
    assert lines["undo"].endswith("undid batch 1 (open_items_2000.csv)")
    assert lines["first-again"].endswith("new 2000, changed 0, closed 0, unchanged 0, skipped 0")
    assert lines["again"].endswith("(recognised as imported before)")
    assert lines["same-content"].endswith("unchanged 2000, skipped 0")
    assert "changed 20, closed 20, unchanged 1960" in lines["newer"]


@pytest.mark.slow
@pytest.mark.postgres
def test_the_import_benchmark_runs_on_postgresql_in_a_database_of_its_own_against_copy(tmp_path, postgres_engine):
    url = postgres_engine.url.render_as_string(hide_password=False).split("?")[0]
    res = subprocess.run([sys.executable, "bench/bench_import.py", "--rows", "2000", "--debtors", "100", "--rounds", "1",
                          "--data", str(tmp_path), "--db", url], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert "PostgreSQL" in res.stdout.splitlines()[0]
    assert "COPY into an unindexed table" in res.stdout
    lines = {ln.split()[0]: ln for ln in res.stdout.splitlines()[2:9]}
    assert lines["first"].endswith("new 2000, changed 0, closed 0, unchanged 0, skipped 0")
    assert lines["undo"].endswith("undid batch 1 (open_items_2000.csv)")
    assert "changed 20, closed 20, unchanged 1960" in lines["newer"]
