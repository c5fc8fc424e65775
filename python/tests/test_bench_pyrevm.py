"""The benchmark against pyrevm (python/bench/bench_pyrevm.py) in its quick mode: before it
times anything, nestedvm and pyrevm must give the same results on its work (outputs, gas,
logs). Timing is not tested."""

import importlib.util
from pathlib import Path

import pytest

pytest.importorskip("pyrevm")

SCRIPT = Path(__file__).resolve().parents[1] / "bench" / "bench_pyrevm.py"


def test_nestedvm_and_pyrevm_agree_on_the_benchmarks_work(capsys):
    spec = importlib.util.spec_from_file_location("bench_pyrevm", SCRIPT)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    # A disagreement exits with its message (SystemExit), which fails the test.
    bench.main(["--quick"])
    assert capsys.readouterr().out == "nestedvm and pyrevm agree on every program\n"
