"""The package answers as ``nestedvm run --batch`` does: the same requests through both give
the same results (parsed JSON), errors included.

The command is the one NESTEDVM_BIN names (scripts/test-python.sh sets it to target/release/nestedvm).
"""

import json
import os
import subprocess

import pytest

import nestedvm

BIN = os.environ.get("NESTEDVM_BIN")

needs_bin = pytest.mark.skipif(not BIN, reason="NESTEDVM_BIN is not set")

WALLET = "0x000000000000000000000000000000000000c0de"
OTHER = "0x0000000000000000000000000000000000000b0b"
# SLOAD(0) + 1 stored back in slot 0 and returned: a counter.
COUNT = "0x5f546001018060005560005260206000f3"
# Reverts with Error("no"): the 100 bytes of revert data are copied from the code's tail.
ERROR_NO = (
    "0x6064600a5f3960645ffd"
    + "08c379a0"
    + "%064x" % 0x20
    + "%064x" % 2
    + "6e6f".ljust(64, "0")
)


def word(n):
    return "0x%064x" % n


REQUESTS = [
    # hyvm: 3 + 4 returned.
    {"code": "0x600360040160005260206000f3"},
    # hyvm: SSTORE(2, 1) in the wallet, ids of several kinds.
    {"code": "0x6001600255", "id": 7},
    {"code": "0x6001600255", "id": "seven"},
    {"code": "0x6001600255", "id": {"k": [1, None]}},
    {"code": "0x6001600255", "id": 123456789012345678901234567890},
    # evm with call data: the first word returned.
    {"code": "0x5f355f5260205ff3", "profile": "evm", "calldata": "0x2a"},
    # evm: the executing account's code and storage from a pre-state, the state dumped.
    {
        "profile": "evm",
        "accounts": {
            WALLET: {"code": "0x5f545f5260205ff3", "storage": {"0x0": "0x2a"}},
            OTHER: {"balance": "0x10", "nonce": 3},
        },
        "dump": True,
    },
    # A revert with a reason, in both profiles.
    {"code": ERROR_NO, "profile": "evm"},
    {"code": ERROR_NO},
    # Traces: the steps, and the call tree of a call to the identity precompile.
    {"code": "0x600160020100", "profile": "evm", "trace": True},
    {"code": "0x5f5f5f5f5f60045af100", "profile": "evm", "call_trace": True},
    {"code": ERROR_NO, "call_trace": True, "trace": True},
    # Block fields, numbers exact, gas as hex text, an older fork, engines by name.
    {"code": "0x435f5260205ff3", "profile": "evm", "block": {"number": 5, "timestamp": 99}},
    {"code": "0x345f5260205ff3", "profile": "evm", "value": 2**256 - 1, "gas": "0x186a0"},
    {"code": "0x5f545f5260205ff3", "storage": {"0x0": 12345}, "fork": "cancun"},
    {"code": "0x600360040160005260206000f3", "engine": "jit"},
    {"code": "0x600360040160005260206000f3", "engine": "interp", "caller": OTHER},
    {"code": "0x6000", "gas": 1},
    # Worlds: a counter in evm and in hyvm, a revert committing nothing, a fresh state beside.
    {"world": "w", "code": COUNT, "profile": "evm", "value": 5},
    {"world": "w", "code": COUNT, "profile": "evm"},
    {"world": "w", "code": "0x5f546001015f5560015ffd", "profile": "evm"},
    {"code": COUNT, "profile": "evm"},
    {"world": "w", "code": COUNT, "profile": "evm", "id": "third"},
    {"world": "h", "code": COUNT},
    {"world": "h", "code": COUNT},
    # Bad requests: the command's error lines.
    {"code": "0x00", "calldta": "0x2a"},
    {"code": "0xzz", "id": 3},
    {"code": "0x00", "gas": 2**64},
    {"code": "0x00", "gas": -1},
    {"code": "0x00", "profile": "evm2"},
    {"code": "0x00", "world": 3},
    {"calldata": "0x2a"},
    {"code": "0x00", "calldata": "0x2a"},
    {"code": "0x00", "trace": "yes"},
    [1, 2],
]


def cli(requests, *flags, jobs=1):
    """The result lines of one ``nestedvm run --batch`` over ``requests``, parsed."""
    lines = "".join(json.dumps(r) + "\n" for r in requests)
    out = subprocess.run(
        [BIN, "run", "--batch", "--jobs", str(jobs), *flags],
        input=lines.encode(),
        stdout=subprocess.PIPE,
        check=True,
    ).stdout
    return [json.loads(line) for line in out.decode().splitlines()]


def run_or_error(vm, request):
    """``vm.run``'s result, or for a ValueError the error line the command writes."""
    try:
        return vm.run(request)
    except ValueError as e:
        error = {"error": str(e)}
        if isinstance(request, dict) and "id" in request:
            return {"id": request["id"], **error}
        return error


@needs_bin
def test_run_answers_as_the_command():
    vm = nestedvm.Vm()
    got = [run_or_error(vm, r) for r in REQUESTS]
    want = cli(REQUESTS)
    assert len(want) == len(REQUESTS)
    for request, g, w in zip(REQUESTS, got, want):
        assert g == w, request
    # The requests did what they say (not only the same on both sides).
    assert got[0]["output"] == word(7)
    assert got[1]["id"] == 7 and got[1]["storage"] == {"0x2": "0x1"}
    assert got[4]["id"] == 123456789012345678901234567890
    assert got[5]["output"] == "0x2a" + "0" * 62
    assert got[6]["output"] == word(0x2A) and OTHER in got[6]["state"]
    assert got[7]["status"] == "revert" and got[7]["revert_reason"]
    assert got[9]["trace"] and got[10]["call_trace"]
    # The caller (10^24 wei) cannot send 2^256-1: read exactly, refused.
    assert got[13]["status"] == "revert" and got[13]["gas_used"] == 0
    assert got[15]["engine"] == "jit"
    assert [got[i].get("output") for i in (18, 19, 21, 22)] == [word(1), word(2), word(1), word(3)]
    assert got[20]["status"] == "revert"
    assert got[24]["output"] == word(2)
    assert all("error" in g for g in got[25:])


@needs_bin
def test_run_batch_answers_as_the_command():
    # A Vm each: one Vm's later batches find the code its earlier ones compiled (the "jit"
    # request's), and say so in `engine`, where a fresh command's batch does not.
    assert nestedvm.Vm().run_batch(REQUESTS) == cli(REQUESTS)
    assert nestedvm.Vm().run_batch(REQUESTS, jobs=2) == cli(REQUESTS, jobs=2)


@needs_bin
def test_the_engine_is_the_default_of_every_request():
    requests = [{"code": "0x600360040160005260206000f3"}, {"code": "0x00", "engine": "auto"}]
    for engine in ["interp", "jit", "auto"]:
        vm = nestedvm.Vm(engine=engine)
        want = cli(requests, "--engine", engine)
        assert [vm.run(r) for r in requests] == want
        assert vm.run_batch(requests) == want
    assert nestedvm.Vm("jit").run(requests[0])["engine"] == "jit"


@needs_bin
def test_evm_gas_false_is_no_evm_gas():
    requests = [{"code": "0x600360040160005260206000f3"}, {"code": COUNT, "profile": "evm"}]
    vm = nestedvm.Vm(evm_gas=False)
    want = cli(requests, "--no-evm-gas")
    assert [vm.run(r) for r in requests] == want
    assert vm.run_batch(requests, jobs=2) == want
    assert want[0]["evm_gas_used"] is None and want[1]["evm_gas_used"] == want[1]["gas_used"]
    assert repr(nestedvm.Vm("jit", evm_gas=False)) == "Vm(engine='jit', evm_gas=False)"


def many_requests(n):
    """``n`` varied requests: worlds, both profiles, errors, ids."""
    out = []
    for i in range(n):
        kind = i % 8
        if kind == 0:
            out.append({"world": "w%d" % (i % 3), "code": COUNT, "id": i})
        elif kind == 1:
            out.append({"world": "e", "code": COUNT, "profile": "evm", "value": i})
        elif kind == 2:
            out.append({"code": "0x62%06x5f5260205ff3" % i, "id": [i]})
        elif kind == 3:
            out.append({"code": "0x5f355f5260205ff3", "profile": "evm", "calldata": "0x%02x" % (i % 256)})
        elif kind == 4:
            out.append({"code": "0x00", "gas": "%d" % i, "calldta": "0x"})
        elif kind == 5:
            out.append({"code": ERROR_NO, "profile": "evm", "call_trace": i % 2 == 0})
        elif kind == 6:
            out.append({"world": "e", "code": "0x4760005260206000f3", "profile": "evm"})
        else:
            out.append({"code": "0x6001600255", "gas": i})
    return out


def test_two_jobs_answer_as_one():
    requests = many_requests(400)
    one = nestedvm.Vm().run_batch(requests, jobs=1)
    assert len(one) == 400
    assert nestedvm.Vm().run_batch(requests, jobs=2) == one
    assert nestedvm.Vm().run_batch(requests, jobs=3) == one
    assert one[1]["status"] == "success" and "error" in one[4]


@needs_bin
def test_many_requests_answer_as_the_command():
    requests = many_requests(300)
    assert nestedvm.Vm().run_batch(requests, jobs=2) == cli(requests, jobs=2)


def test_bad_input_raises_the_commands_message():
    vm = nestedvm.Vm()
    with pytest.raises(ValueError, match=r"^unknown field `calldta` \(known: id, world, code,"):
        vm.run({"code": "0x00", "calldta": "0x2a"})
    with pytest.raises(ValueError, match=r"^`gas`: 18446744073709551616 is over the limit 2\^64-1$"):
        vm.run({"code": "0x00", "gas": 2**64})
    with pytest.raises(ValueError, match=r"^a request must be a JSON object$"):
        vm.run([1])
    with pytest.raises(ValueError, match=r"^missing `code`"):
        vm.run({})
    with pytest.raises(ValueError, match=r"^unknown engine `evm` \(expected interp, jit or auto\)$"):
        nestedvm.Vm(engine="evm")
    with pytest.raises(ValueError, match=r"^jobs: 0 is not between 1 and 1024$"):
        vm.run_batch([], jobs=0)
    # The batch goes on after an error.
    assert vm.run({"code": "0x00"})["status"] == "success"


def test_bytes_are_hex():
    vm = nestedvm.Vm()
    as_hex = {
        "code": "0x5f545f5260205ff3",
        "profile": "evm",
        "calldata": "0x2a",
        "storage": {"0x0": "0x07"},
        "accounts": {OTHER: {"code": "0x00", "balance": "0x10"}},
        "dump": True,
    }
    as_bytes = {
        "code": bytes.fromhex("5f545f5260205ff3"),
        "profile": "evm",
        "calldata": bytearray(b"\x2a"),
        "storage": {b"\x00": b"\x07"},
        "accounts": {bytes.fromhex(OTHER[2:]): {"code": b"\x00", "balance": b"\x10"}},
        "dump": True,
    }
    want = vm.run(as_hex)
    assert want["output"] == word(7)
    assert vm.run(as_bytes) == want
    assert vm.run_batch([as_bytes, as_hex], jobs=2) == [want, want]


def test_worlds_live_across_runs_of_one_vm_only():
    vm = nestedvm.Vm()
    counter = {"world": "w", "code": COUNT, "profile": "evm"}
    assert [vm.run(counter)["output"] for _ in range(3)] == [word(1), word(2), word(3)]
    assert nestedvm.Vm().run(counter)["output"] == word(1)
    # A list is a batch of its own.
    assert vm.run_batch([counter])[0]["output"] == word(1)
    assert vm.run(counter)["output"] == word(4)
    assert repr(nestedvm.Vm("interp")) == "Vm(engine='interp')"


def test_python_threads_share_a_vm():
    import threading

    vm = nestedvm.Vm()
    requests = [r for r in many_requests(80) if "world" not in r]
    want = [run_or_error(vm, r) for r in requests]
    got = {}

    def work(n):
        got[n] = [run_or_error(vm, r) for r in requests]

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(got[n] == want for n in range(4))


def test_compiled_code_serves_later_calls():
    # Two codes, each compiled once by the first call that runs it on "jit", then found by
    # every later run or batch of the same Vm, on any number of threads. (In "evm": a "hyvm"
    # request also runs as a plain contract for `evm_gas_used`, a second compilation.)
    vm = nestedvm.Vm(engine="jit")
    add = {"code": "0x600160020160005260206000f3", "profile": "evm"}
    mul = {"code": "0x600360040260005260206000f3", "profile": "evm"}
    assert vm.compiles == 0
    first = vm.run_batch([add] * 4)
    assert vm.compiles == 1
    assert vm.run_batch([add] * 4, jobs=2) == first
    assert vm.run(add) == first[0]
    assert vm.compiles == 1
    vm.run_batch([mul, add])
    assert vm.compiles == 2
    assert all(r["engine"] == "jit" for r in first)


# Ids the package writes and reads itself (not through json): every kind json.dumps writes,
# each echoed as json.loads reads it back.
ODD_IDS = [
    "é\u00e9\"\\/\n\r\t\b\f\x00\x1f\x7f~ 😀\U0010ffff",
    -5,
    0,
    2**63,
    -(2**63) - 1,
    10**80,
    1.5,
    -0.0,
    1e300,
    True,
    None,
    [],
    {},
    (1, (2, [3])),
    {1: "int key", True: "bool key", None: "none key", "s": {"": []}},
    {2.5: "float key"},
    [[[[[[[[[[1]]]]]]]]]],
]


@needs_bin
def test_ids_are_echoed_as_json_reads_them():
    vm = nestedvm.Vm()
    requests = [{"code": "0x00", "id": i} for i in ODD_IDS]
    want = cli(requests)
    assert [vm.run(r)["id"] for r in requests] == [w["id"] for w in want]
    assert vm.run_batch(requests, jobs=2) == want
    for i, w in zip(ODD_IDS, want):
        assert w["id"] == json.loads(json.dumps(i)), i


def test_bytes_keys_merge_with_their_hex_as_before():
    # {b"\x00": ..., "0x00": ...} is one key once the bytes are hex: the last value wins.
    vm = nestedvm.Vm()
    merged = {"code": COUNT, "profile": "evm", "storage": {b"\x00": "0x1", "0x00": "0x5"}}
    assert vm.run(merged)["output"] == word(6)
    deep = {"code": "0x00", "id": [[[[[[[[[[b"\x01"]]]]]]]]]]}
    assert vm.run(deep)["id"] == [[[[[[[[[["0x01"]]]]]]]]]]


@needs_bin
def test_what_the_batch_refuses_is_refused_as_before():
    # A lone surrogate and NaN are written as json.dumps writes them: the first is an id
    # like any other, the second refused by the batch's JSON reader (the column differs: the
    # command is given json.dumps's spaces); a cycle is refused by json.dumps.
    requests = [{"code": "0x00", "id": "\ud800"}, {"code": "0x00", "id": float("nan")}]
    got = nestedvm.Vm().run_batch(requests)
    want = cli(requests)
    assert got[0] == want[0] and got[0]["id"] == "\ud800"
    assert got[1]["error"].startswith("bad JSON: expected value at line 1 column")
    cycle = {"code": "0x00"}
    cycle["id"] = [cycle]
    with pytest.raises((ValueError, RecursionError)):
        nestedvm.Vm().run(cycle)
