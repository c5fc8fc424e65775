"""Per-call CPU time of two builds of the package, in one process, interleaved.

    python python/bench/before_after.py --before OTHER/_nestedvm.abi3.so

The installed `nestedvm` is "after"; "before" is the extension module of another build (e.g.
main's wheel, unzipped or installed in another venv), loaded under another package name.
Each row is the least CPU time (time.process_time) a call took over 11 rounds, the builds in
turn in every round: on a shared machine the least is what a call costs when nothing else
competes for the core, and turns keep drift from favouring either build.
"""

import argparse
import importlib.machinery
import importlib.util
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_pyrevm as bench  # noqa: E402 (the fixtures and requests of the comparison)
import nestedvm  # noqa: E402


def load(path):
    """The extension module at `path` as `before._nestedvm` (its init function's name is
    `PyInit__nestedvm` whatever its package)."""
    loader = importlib.machinery.ExtensionFileLoader("before._nestedvm", path)
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader(loader.name, loader))
    loader.exec_module(module)
    return module


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", required=True, help="the other build's _nestedvm module")
    args = parser.parse_args(argv)
    before = load(args.before)

    def request(name):
        return bench.nestedvm_request(*bench.fixture(name))

    small = {"code": "0x600360040160005260206000f3"}
    fib, weth, erc20 = request("fibonacci-calldata"), request("weth"), request("erc20_transfer")
    batch = [{"code": "0x62%06x5f5260205ff3" % i} for i in range(2000)]
    # (work, engine, a call, calls a sample, requests a call)
    work = [
        ("hyvm add (3+4), run", "jit", lambda vm: vm.run(small), 2000, 1),
        ("revmc fib, pre-state in the request, run", "jit", lambda vm: vm.run(fib), 1000, 1),
        ("revmc weth, pre-state in the request, run", "jit", lambda vm: vm.run(weth), 1000, 1),
        ("revmc erc20_transfer (5,001 logs), run", "jit", lambda vm: vm.run(erc20), 5, 1),
        ("run_batch of 2,000 small hyvm payloads, jobs=1, a request", "auto",
         lambda vm: vm.run_batch(batch, jobs=1), 3, len(batch)),
    ]
    print("| work | before | after | before/after |")
    print("|---|---:|---:|---:|")
    for name, engine, call, n, per in work:
        vms = {"before": before.Vm(engine=engine), "after": nestedvm.Vm(engine=engine)}
        for vm in vms.values():
            call(vm)
        least = {k: float("inf") for k in vms}
        for _ in range(11):
            for k, vm in vms.items():
                start = time.process_time()
                for _ in range(n):
                    call(vm)
                least[k] = min(least[k], (time.process_time() - start) / n / per)
        print("| %s | %s | %s | %.2fx |" % (name, bench.show(least["before"]),
                                            bench.show(least["after"]),
                                            least["before"] / least["after"]))


if __name__ == "__main__":
    main(sys.argv[1:])
