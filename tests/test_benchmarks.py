"""`make bench` keeps working: each benchmark runs at a tiny size on its own temporary SQLite
database and prints one JSON object per line with the convention's fields. (The redemption
benchmark needs a PostgreSQL database whose schema it drops, so it is left to `make bench`.)
Figures are not asserted: speed is for `benchmarks/RESULTS.md`, not for unit tests."""

import json

import pytest

from benchmarks import downline, imports, seed


@pytest.mark.parametrize("module, argv", [
    (seed, ["--addresses", "300"]),
    (downline, ["--addresses", "3000", "--repeat", "2"]),
    (imports, ["--rows", "2000"]),
], ids=["seed", "downline", "imports"])
def test_benchmark_prints_metric_lines(module, argv, capsys):
    module.main(argv)
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert lines, "no metric printed"
    for line in lines:
        assert {"metric", "value", "unit", "backend"} <= line.keys(), line
        assert line["backend"] == "sqlite"
        if "target" in line and isinstance(line["target"], (int, float)):
            assert isinstance(line["met"], bool)
