"""nestedvm against pyrevm, side by side in one process, on the same work.

    python python/bench/bench_pyrevm.py            # the tables of BENCHMARKS.md (about a minute)
    python python/bench/bench_pyrevm.py --quick    # one short round: checks agreement only

Run from a source checkout (it reads revmc's fixtures from bins/nestedvm/benches/programs/revmc
and the HyVM bytecode from interp/data), with the nestedvm wheel and pyrevm installed
(scripts/test-python.sh makes such a venv: .venv-test/).

The work, each checked to give the same output (and, for message calls, the same gas) on both
before anything is timed:

- Message calls (profile evm) of revmc's fixtures against their pre-state: fibonacci-calldata
  (fib(1000) from call data), erc20_transfer (a token's transfer loop: 5,000 transfers and
  logs) and weth (one WETH9 transfer, the sender's balance in storage). pyrevm: one EVM built
  with the pre-state, then `message_call` (not committed) per call. nestedvm: the same request
  dict per call with the pre-state in its `accounts` (a fresh world each call); and a `world`
  seeded once with the pre-state, named by every later request, which puts back through its
  `storage` the slots the call writes (so that every call starts from the fixture's state).
- HyVM payloads (profile hyvm): guest programs of the bench catalogue's kinds. pyrevm runs the
  real hypervisor's bytecode (interp/data/hyvm-runtime.bin, deployed at 0x...4879 with the 32
  bytes its constructor appends) behind a wallet at 0x...c0de that DELEGATECALLs it with the
  payload as call data and a fixed gas, as the repository's revm oracle does. nestedvm runs the
  payload in profile hyvm with that gas, by default also a second time as a plain contract
  for the result's `evm_gas_used`, and with `Vm(evm_gas=False)` once (pyrevm computes no such
  figure, so that is the same work).
- run_batch: the same list of requests answered with jobs=1 and jobs=2.

Times are per call, the median over rounds; in a round each engine runs one block of calls
in turn, so drift hits them alike. The ratios are pyrevm's time over nestedvm's.
"""

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import nestedvm
import pyrevm

ROOT = Path(__file__).resolve().parents[2]
REVMC = ROOT / "bins/nestedvm/benches/programs/revmc"
HYPERVISOR_RUNTIME = ROOT / "interp/data/hyvm-runtime.bin"

HYPERVISOR = "0x" + "00" * 18 + "4879"
WALLET = "0x" + "00" * 18 + "c0de"
# nestedvm's default caller in a request, also the transaction's sender in pyrevm.
CALLER = "0x" + "00" * 18 + "ca11"
# Gas of the hypervisor frame (nestedvm's `gas` in hyvm, the wallet's DELEGATECALL in pyrevm).
HYVM_GAS = 10_000_000
# Gas of a message call's frame in both.
CALL_GAS = 100_000_000


def fixture(name):
    """A revmc fixture's pre-state and first transaction."""
    data = json.loads((REVMC / (name + ".json")).read_text())[name]
    return data["pre"], data["transaction"][0]


def wallet_code(gas):
    """The wallet: copies its call data to memory, DELEGATECALLs the hypervisor with exactly
    `gas` and that data, then returns (or reverts with) what it returned."""
    code = bytes.fromhex("366000600037" "60006000366000")  # CALLDATACOPY; ret 0 0, args CALLDATASIZE 0
    code += b"\x73" + bytes.fromhex(HYPERVISOR[2:])  # PUSH20 hypervisor
    code += b"\x67" + gas.to_bytes(8, "big") + b"\xf4"  # PUSH8 gas, DELEGATECALL
    code += bytes.fromhex("3d600060003e" "603957")  # RETURNDATACOPY; PUSH1 0x39 JUMPI
    code += bytes.fromhex("3d6000fd")  # REVERT(0, RETURNDATASIZE)
    assert len(code) == 0x39
    return code + bytes.fromhex("5b3d6000f3")  # JUMPDEST RETURN(0, RETURNDATASIZE)


def hyvm_payloads():
    """Guest programs (assembled with `nestedvm asm`; the sources are the bench catalogue's
    synthetic programs, bins/nestedvm/src/bench/synthetic.rs, with fewer iterations), each
    returning one word."""
    def n3(n):
        return "%06x" % n

    return {
        # 3 + 4 returned: what a call costs besides running code.
        "add": "600360040160005260206000f3",
        # fib(1000) mod 2^256: PUSH0 PUSH1 1 PUSH3 N; loop: (a, b) = (b, a + b).
        "fib-1000": "5f600162" + n3(1000) + "5b918101909160019003806100075750505f5260205ff3",
        # h = keccak256(h) 1,000 times.
        "keccak-1000": "5f62" + n3(1000) + "5b905f5260205f2090600190038061000557505f5260205ff3",
        # erc20-loop with 100 transfers: SLOAD/SSTORE of balances, a LOG3 each.
        "erc20-loop-100": (
            "6500e8d4a51000335f5260405f20556100645b335f5260405f20805482811061007e578290039055"
            "80603f1661100001805f5260405f20805483019055815f52337fddf252ad1be2c89b69c2b068fc37"
            "8daa952ba7f163c4a11628f55a4df523b3ef60205fa360019003806100125750335f5260405f2054"
            "5f5260205ff35b5f5ffd"
        ),
        # dynjump-loop with 1,000 iterations: an internal function returning through JUMP.
        "dynjump-1000": (
            "5f62" + n3(1000) + "5b61000f8282610031565b915061001e8282600701610031565b91506001"
            "90038061000557505f5260205ff35b186005026001019056"
        ),
    }


def intrinsic_gas(calldata):
    """A transaction's intrinsic gas on pyrevm's default fork (Shanghai): 21,000 and the call
    data's 4 a zero byte, 16 any other."""
    return 21_000 + sum(4 if b == 0 else 16 for b in calldata)


def pyrevm_message_call(pre, tx):
    """pyrevm set up for a fixture: an EVM with the pre-state, and the call."""
    evm = pyrevm.EVM(gas_limit=2**63)
    for address, account in pre.items():
        code = bytes.fromhex(account["code"][2:])
        evm.insert_account_info(
            address, pyrevm.AccountInfo(nonce=int(account["nonce"], 16), code=code)
        )
        evm.set_balance(address, int(account["balance"], 16))
        for slot, value in account["storage"].items():
            evm.insert_account_storage(address, int(slot, 16), int(value, 16))
    calldata = bytes.fromhex(tx["data"][2:])

    def call():
        # pyrevm keeps a call's changes in its journal (`message_call` does not commit them
        # to its database, but the next call sees them): each call is reverted, so that
        # every call does the same work, as each nestedvm request on a fresh world does.
        checkpoint = evm.snapshot()
        out = evm.message_call(tx["sender"], tx["to"], calldata=calldata, gas=CALL_GAS)
        evm.revert(checkpoint)
        return out

    return evm, call


def nestedvm_request(pre, tx):
    """The same call as a nestedvm request, the pre-state in `accounts`."""
    accounts = {
        address: {
            "code": a["code"],
            "balance": a["balance"],
            "nonce": a["nonce"],
            "storage": a["storage"],
        }
        for address, a in pre.items()
    }
    return {
        "profile": "evm",
        "address": tx["to"],
        "caller": tx["sender"],
        "calldata": tx["data"],
        "accounts": accounts,
        "gas": CALL_GAS,
    }


def pyrevm_hyvm():
    """pyrevm with the real hypervisor behind the wallet; returns the EVM and a function
    running one payload (bytes) through it."""
    evm = pyrevm.EVM(gas_limit=2**63)
    runtime = HYPERVISOR_RUNTIME.read_bytes()
    # The 32 bytes the hypervisor's constructor appends: its start-up check reads them.
    deployed = runtime + b"\x00" * 12 + bytes.fromhex(HYPERVISOR[2:])
    evm.insert_account_info(HYPERVISOR, pyrevm.AccountInfo(nonce=1, code=deployed))
    evm.insert_account_info(WALLET, pyrevm.AccountInfo(nonce=1, code=wallet_code(HYVM_GAS)))
    evm.set_balance(CALLER, 10**24)
    # Room for the 63/64 rule to leave exactly HYVM_GAS to the DELEGATECALL, and the wallet.
    tx_gas = HYVM_GAS * 64 // 63 + 1_000_000

    def run(payload):
        # Reverted after the call, as in pyrevm_message_call: a payload writing the wallet's
        # storage does the same work every time.
        checkpoint = evm.snapshot()
        out = evm.message_call(CALLER, WALLET, calldata=payload, gas=tx_gas)
        evm.revert(checkpoint)
        return out

    return evm, run


def per_call(fn, quick):
    """A block of calls of `fn` lasting about 20 ms (one call in quick mode): its count."""
    if quick:
        return 1
    n, start = 1, time.perf_counter()
    fn()
    elapsed = time.perf_counter() - start
    return max(1, min(10_000, int(0.02 / max(elapsed, 1e-7))))


def timed(engines, rounds, quick, samples=None):
    """Median seconds a call of each engine (a name: a function), over `rounds` rounds; each
    round's times are appended to `samples` when given."""
    blocks = {name: per_call(fn, quick) for name, fn in engines.items()}
    times = {name: [] for name in engines}
    for _ in range(rounds):
        for name, fn in engines.items():
            n = blocks[name]
            start = time.perf_counter()
            for _ in range(n):
                fn()
            times[name].append((time.perf_counter() - start) / n)
        if samples is not None:
            samples.append({name: t[-1] for name, t in times.items()})
    return {name: statistics.median(t) for name, t in times.items()}


def show(seconds):
    if seconds >= 1e-3:
        return "%.2f ms" % (seconds * 1e3)
    return "%.1f µs" % (seconds * 1e6)


def check(what, ok, detail):
    if not ok:
        raise SystemExit("%s: nestedvm and pyrevm disagree: %s" % (what, detail))


def message_calls(rounds, quick, rows):
    """The revmc fixtures' message calls: agreement, then times."""
    jit, auto = nestedvm.Vm(engine="jit"), nestedvm.Vm(engine="auto")
    for name in ["fibonacci-calldata", "erc20_transfer", "weth"]:
        pre, tx = fixture(name)
        evm, call = pyrevm_message_call(pre, tx)
        request = nestedvm_request(pre, tx)
        out = call()
        result = evm.result
        first = jit.run(request)
        for vm in (jit, auto):
            r = vm.run(request)
            check(name, r["status"] == "success" and result.is_success, (r["status"], result))
            check(name, r["output"] == "0x" + out.hex(), (r["output"], out.hex()))
            # nestedvm reports the frame's gas before refunds; pyrevm the transaction's,
            # intrinsic gas included and the refund (capped at a fifth) taken off. Not for a
            # pre-state with storage: pyrevm's insert_account_storage puts a slot in its
            # journal as written in the same transaction (original value 0), so the first
            # SLOAD and SSTORE of it are priced warm and dirty (weth: 4,800 gas less).
            total = intrinsic_gas(bytes.fromhex(tx["data"][2:])) + r["gas_used"]
            if not any(a["storage"] for a in pre.values()):
                check(name, result.gas_used == total - min(r["gas_refund"], total // 5),
                      (result.gas_used, r["gas_used"], r["gas_refund"]))
            logs = [(log.address.lower(), log.data) for log in result.logs]
            check(name, len(r["logs"]) == len(logs), (len(r["logs"]), len(logs)))
            for mine, (address, (topics, data)) in zip(r["logs"], logs):
                theirs = {
                    "address": address,
                    "topics": ["0x" + t.hex() for t in topics],
                    "data": "0x" + data.hex(),
                }
                check(name, mine == theirs, (mine, theirs))
        def call_and_logs():
            # What nestedvm's result holds and pyrevm's gives only when asked: every log's
            # address, topics and data as Python values.
            out = call()
            return out, [(log.address, log.topics, log.data) for log in evm.result.logs]

        def engines(request):
            """pyrevm's call beside nestedvm's engines answering `request`."""
            return {
                "pyrevm": call,
                "pyrevm+logs": call_and_logs,
                "jit": lambda: jit.run(request),
                "auto": lambda: auto.run(request),
            }

        rows.append((name + " (pre-state in the request)", timed(engines(request), rounds, quick)))
        # The pre-state seeded once in a world (by a first run of the call), then requests
        # naming it without `accounts`. A world keeps what a call commits, so each request
        # puts back, through its `storage`, the pre-state's value of every slot the call
        # writes (the slots the first run left non-zero, and those of the pre-state): every
        # call then starts from the fixture's state, as pyrevm's reverted calls do.
        seeded = dict(request, world=name)
        written = set(jit.run(seeded)["storage"])
        auto.run(seeded)
        storage = {slot: "0x0" for slot in written}
        storage.update(pre[tx["to"]]["storage"])
        again = {k: v for k, v in seeded.items() if k != "accounts"}
        again["storage"] = storage
        for vm in (jit, auto):
            r = vm.run(again)
            check(name + " (world)", r["output"] == "0x" + out.hex(), "output")
            check(name + " (world)", r["gas_used"] == first["gas_used"], (r, first))
        rows.append((name + " (pre-state in a world)", timed(engines(again), rounds, quick)))


def hyvm(rounds, quick, rows):
    """The HyVM payloads: agreement, then times."""
    jit, auto = nestedvm.Vm(engine="jit"), nestedvm.Vm(engine="auto")
    # The same without the second run behind `evm_gas_used`: pyrevm computes no such figure.
    once = {e: nestedvm.Vm(engine=e, evm_gas=False) for e in ("jit", "auto")}
    evm, run = pyrevm_hyvm()
    for name, payload in hyvm_payloads().items():
        code = bytes.fromhex(payload)
        out = run(code)
        check(name, evm.result.is_success, evm.result)
        request = {"code": "0x" + payload, "gas": HYVM_GAS}
        for vm in (jit, auto, *once.values()):
            r = vm.run(request)
            check(name, r["status"] == "success", r)
            check(name, r["output"] == "0x" + out.hex(), (r["output"], out.hex()))
        engines = {
            "pyrevm": lambda: run(code),
            "jit": lambda: jit.run(request),
            "auto": lambda: auto.run(request),
            "jit once": lambda: once["jit"].run(request),
            "auto once": lambda: once["auto"].run(request),
        }
        rows.append((name, timed(engines, rounds, quick)))


def batches(rounds, quick, rows):
    """run_batch with one job against two, on lists of requests."""
    pre, tx = fixture("fibonacci-calldata")
    fib = nestedvm_request(pre, tx)
    count = 50 if quick else 2000
    # Each run_batch is a batch of its own, its VMs fresh: the compute-bound lists run on
    # the JIT, so that each batch's threads do not first warm up in the interpreter.
    lists = {
        # Distinct small hyvm payloads, as `nestedvm bench --batch` times them.
        "%d distinct small hyvm payloads (auto)" % (5 * count): (
            "auto",
            [{"code": "0x62%06x5f5260205ff3" % i} for i in range(5 * count)],
        ),
        "%d revmc fib calls, pre-state in each (jit)" % count: ("jit", [fib] * count),
        "%d hyvm fib-1000 payloads (jit)" % count: (
            "jit",
            [{"code": "0x" + hyvm_payloads()["fib-1000"], "gas": HYVM_GAS}] * count,
        ),
    }
    for name, (engine, requests) in lists.items():
        vm = nestedvm.Vm(engine=engine)

        # Under auto, `engine` says whether this run reached compiled code, which depends on
        # each thread's own count of hot blocks: everything else must be the same.
        def results(jobs):
            return [{k: v for k, v in r.items() if k != "engine"}
                    for r in vm.run_batch(requests, jobs=jobs)]

        one = results(1)
        check(name, results(2) == one, "jobs=2 answers differently")
        check(name, all(r.get("status") == "success" for r in one), one[:1])
        engines = {
            "jobs=1": lambda: vm.run_batch(requests, jobs=1),
            "jobs=2": lambda: vm.run_batch(requests, jobs=2),
        }
        samples = []
        times = timed(engines, rounds, quick, samples)
        row = {k: v / len(requests) for k, v in times.items()}
        # The speed-up of each round (its two batches run one after the other): on a shared
        # machine their median is steadier than the ratio of the two medians.
        ratios = sorted(s["jobs=1"] / s["jobs=2"] for s in samples)
        row["speed-up"] = statistics.median(ratios)
        row["range"] = (ratios[0], ratios[-1])
        rows.append((name, row))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="one call each: agreement only")
    parser.add_argument("--rounds", type=int, default=15, help="timing rounds (default 15)")
    parser.add_argument("--json", action="store_true", help="one JSON line per row")
    parser.add_argument("--only", choices=["calls", "hyvm", "batch"],
                        help="one table: message calls, HyVM payloads or run_batch")
    args = parser.parse_args(argv)
    rounds = 1 if args.quick else args.rounds
    calls, runs, jobs = [], [], []
    if args.only in (None, "calls"):
        message_calls(rounds, args.quick, calls)
    if args.only in (None, "hyvm"):
        hyvm(rounds, args.quick, runs)
    if args.only in (None, "batch"):
        batches(rounds, args.quick, jobs)
    if args.quick:
        print("nestedvm and pyrevm agree on every program")
        return
    if args.json:
        for work, times in calls + runs + jobs:
            # Times in nanoseconds; a batch row's speed-up and range as they are.
            print(json.dumps({"work": work, **{
                k: v if k in ("speed-up", "range") else v * 1e9 for k, v in times.items()}}))
        return
    print("pyrevm %s, Python %s, %d rounds, load average %s"
          % (pyrevm_version(), platform.python_version(), rounds,
             " ".join("%.2f" % x for x in os.getloadavg())))
    print()
    if calls:
        print_calls(calls)
    if runs:
        print_runs(runs)
    if jobs:
        print_jobs(jobs)


def print_calls(calls):
    print("| message call | pyrevm | pyrevm, logs read | nestedvm jit | nestedvm auto "
          "| pyrevm/jit | pyrevm/auto | pyrevm with logs/jit |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for work, t in calls:
        print("| %s | %s | %s | %s | %s | %.1fx | %.1fx | %.1fx |" % (
            work, show(t["pyrevm"]), show(t["pyrevm+logs"]), show(t["jit"]), show(t["auto"]),
            t["pyrevm"] / t["jit"], t["pyrevm"] / t["auto"], t["pyrevm+logs"] / t["jit"]))
    print()


def print_runs(runs):
    print("| hyvm payload | pyrevm (hypervisor) | jit | auto | jit, evm_gas=False | auto, evm_gas=False "
          "| pyrevm/jit | pyrevm/auto | pyrevm/jit once | pyrevm/auto once |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for work, t in runs:
        print("| %s | %s | %s | %s | %s | %s | %.1fx | %.1fx | %.1fx | %.1fx |" % (
            work, show(t["pyrevm"]), show(t["jit"]), show(t["auto"]), show(t["jit once"]),
            show(t["auto once"]), t["pyrevm"] / t["jit"], t["pyrevm"] / t["auto"],
            t["pyrevm"] / t["jit once"], t["pyrevm"] / t["auto once"]))
    print()


def print_jobs(jobs):
    print("| batch (run_batch) | jobs=1, per request | jobs=2, per request "
          "| jobs=2 speed-up (median of rounds) | rounds' range |")
    print("|---|---:|---:|---:|---:|")
    for work, t in jobs:
        print("| %s | %s | %s | %.2fx | %.2f-%.2fx |" % (
            work, show(t["jobs=1"]), show(t["jobs=2"]), t["speed-up"], *t["range"]))


def pyrevm_version():
    try:
        from importlib.metadata import version
        return version("pyrevm")
    except Exception:  # an install without metadata
        return "?"


if __name__ == "__main__":
    main(sys.argv[1:])
