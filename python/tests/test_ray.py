"""nestedvm.ray answers a list as ``Vm.run_batch`` does on one machine: the same results in the
same order, whatever the number of shards, on a local Ray cluster the tests start and end.

Ray is imported plainly: scripts/test-python.sh installs it, and without it these tests fail.
"""

import random
import subprocess
import sys

import pytest
import ray

import nestedvm
import nestedvm.ray
from test_batch import COUNT, REQUESTS, many_requests, word


@pytest.fixture(scope="module")
def cluster():
    """A local cluster of 2 CPUs for the module's tests (not one RAY_ADDRESS names)."""
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def pools(cluster):
    """A pool for 1, 2 and 3 shards, kept for the module: the tests reuse their actors."""
    made = {shards: nestedvm.ray.Pool(shards) for shards in (1, 2, 3)}
    yield made
    for pool in made.values():
        pool.close()


def interleaved_worlds(worlds, calls):
    """``calls`` counter calls in each of ``worlds`` worlds, the worlds taking turns, in evm
    and hyvm, some with ids and some world names as bytes (the same worlds as their hex)."""
    out = []
    for call in range(calls):
        for w in range(worlds):
            request = {"world": "counter-%d" % w, "code": COUNT}
            if w % 2:
                request["profile"] = "evm"
            if w % 3 == 0:
                request["world"] = bytes([w]) if call % 2 else "0x%02x" % w
            if call % 4 == 0:
                request["id"] = [w, call]
            out.append(request)
    return out


def mixed():
    """Requests of every kind the local tests send and world sequences, shuffled together.

    None names an engine: under "auto" a result's `engine` says whether compiled code ran,
    which for a code the batch also ran on "jit" depends on which ran first, on which thread
    or shard (the same code on "auto" finds it compiled). The Vm's engine is tested below.
    """
    requests = [r for r in REQUESTS + many_requests(200) if "engine" not in r]
    requests += interleaved_worlds(10, 6)
    random.Random(7).shuffle(requests)
    return requests


def world_of(request):
    """The name of the world a request of ``interleaved_worlds`` runs in."""
    name = request["world"]
    return "0x" + name.hex() if isinstance(name, bytes) else name


def test_shards_answer_as_one_machine(pools):
    requests = mixed()
    want = nestedvm.Vm().run_batch(requests)
    assert any("error" in r for r in want) and any("world" in r for r in requests)
    for shards, pool in pools.items():
        assert pool.run_batch(requests) == want, shards
    assert pools[2].run_batch(requests, jobs=2) == want
    assert nestedvm.ray.run_batch(requests, shards=2) == want


def test_the_engine_is_the_pools(cluster):
    requests = mixed()
    for engine in ["interp", "jit"]:
        want = nestedvm.Vm(engine).run_batch(requests)
        assert nestedvm.ray.run_batch(requests, shards=3, engine=engine) == want
        assert any(r.get("engine") == "jit" for r in want) == (engine == "jit")


def test_actors_keep_their_compiled_code(cluster):
    # On "jit" every code is compiled by the actor that first runs it, once: a second call
    # finds them all.
    requests = mixed()
    with nestedvm.ray.Pool(2, engine="jit") as pool:
        first = pool.run_batch(requests)
        compiled = ray.get([actor.compiles.remote() for actor in pool.actors])
        assert all(n > 0 for n in compiled)
        assert pool.run_batch(requests) == first
        assert ray.get([actor.compiles.remote() for actor in pool.actors]) == compiled


def test_a_worlds_requests_run_in_order(pools):
    requests = interleaved_worlds(12, 8)
    outputs = {}
    for request, result in zip(requests, pools[3].run_batch(requests)):
        outputs.setdefault(world_of(request), []).append(result["output"])
    assert len(outputs) == 12
    for name, counted in outputs.items():
        assert counted == [word(n) for n in range(1, 9)], name


def test_actors_are_kept_between_calls(pools):
    pool = pools[2]
    pids = ray.get([actor.pid.remote() for actor in pool.actors])
    assert len(set(pids)) == 2
    requests = interleaved_worlds(4, 3)
    first = pool.run_batch(requests)
    # A call is a batch of its own: its worlds start empty, as on one machine.
    assert pool.run_batch(requests) == first == nestedvm.Vm().run_batch(requests)
    assert ray.get([actor.pid.remote() for actor in pool.actors]) == pids
    assert repr(pool) == "Pool(shards=2, engine='auto')"


def test_worlds_past_the_limit_are_refused_as_on_one_machine(pools):
    names = nestedvm.MAX_WORLDS + 3
    requests = interleaved_worlds(names, 2)
    requests[5:5] = [{"code": "0x00"}] * 40
    want = nestedvm.Vm().run_batch(requests)
    refused = [r for r in want if "already keeps" in r.get("error", "")]
    assert len(refused) == 3 * 2
    for pool in pools.values():
        assert pool.run_batch(requests) == want


def test_bad_input_raises_as_on_one_machine(pools):
    pool = pools[2]
    vm = nestedvm.Vm()
    assert pool.run_batch([]) == []
    for bad in ([{"code": {1, 2}}], 5):
        with pytest.raises(TypeError) as local:
            vm.run_batch(bad)
        with pytest.raises(TypeError) as sharded:
            pool.run_batch(bad)
        assert str(sharded.value) == str(local.value)
    with pytest.raises(ValueError, match=r"^jobs: 0 is not between 1 and 1024$"):
        pool.run_batch([{"code": "0x00"}], jobs=0)
    with pytest.raises(ValueError, match=r"^unknown engine `evm`"):
        nestedvm.ray.Pool(2, engine="evm")
    with pytest.raises(ValueError, match=r"^shards: 0 is not"):
        nestedvm.ray.Pool(0)
    # The pool goes on after an error.
    assert pool.run_batch([{"code": "0x00"}])[0]["status"] == "success"


def test_a_closed_pool_refuses_work(cluster):
    with nestedvm.ray.Pool(1) as pool:
        assert pool.run_batch([{"code": "0x00"}])[0]["status"] == "success"
    with pytest.raises(ValueError, match=r"^the pool is closed$"):
        pool.run_batch([{"code": "0x00"}])


def test_import_nestedvm_does_not_import_ray(tmp_path):
    # Run elsewhere than the repository root, whose python/ holds no extension module.
    check = "import sys, nestedvm; assert not {'ray', 'nestedvm.ray'} & set(sys.modules)"
    subprocess.run([sys.executable, "-c", check], cwd=tmp_path, check=True)
