"""A small run of the analytics benchmark: the SQLite services and the DuckDB reference agree."""

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT


def test_the_benchmark_runs_and_both_engines_give_the_same_figures(tmp_path):
    pytest.importorskip("duckdb")
    out = tmp_path / "bench.json"
    res = subprocess.run([sys.executable, "bench/bench_analytics.py", "--invoices", "4000", "--debtors", "150",
                          "--db", str(tmp_path / "ledger.db"), "--repeat", "1", "--json", str(out)],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    results = json.loads(out.read_text())
    assert results["invoices"] == 4000 and len(results["cases"]) == 4
    assert all(case["same_result"] for case in results["cases"])
    assert 0 < results["ageing_page_new_date_s"] <= results["ageing_page_new_date_max_s"]
