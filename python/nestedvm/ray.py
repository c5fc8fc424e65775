"""Scale-out on Ray: one list of requests answered by several ``Vm``s in Ray actors, with the
results ``Vm(engine).run_batch(requests)`` gives on one machine (docs/python.md, "Scale-out
on Ray")::

    import nestedvm.ray
    results = nestedvm.ray.run_batch(requests, shards=4)    # a pool for this one call

    with nestedvm.ray.Pool(shards=4) as pool:               # actors kept between calls
        for requests in stream:
            results = pool.run_batch(requests)

``import nestedvm`` does not import this module, nor Ray: only ``import nestedvm.ray`` does.
Ray is used as ``ray.init()`` left it, or, if nothing called it, as the first use of an actor
starts it (a local cluster, unless ``RAY_ADDRESS`` names one).
"""

from __future__ import annotations

import heapq
import os
from typing import Any, Iterable, Mapping

import ray

from . import MAX_WORLDS, Vm

__all__ = ["Pool", "run_batch"]


class _Shard:
    """The work of one actor: a ``Vm`` answering the sub-batches of a pool's shard."""

    def __init__(self, engine: str) -> None:
        self._vm = Vm(engine)

    def run_batch(self, requests: list[Any], jobs: int) -> list[dict[str, Any]]:
        """``Vm.run_batch`` in the actor: one batch of its own, as on one machine."""
        return self._vm.run_batch(requests, jobs=jobs)

    def compiles(self) -> int:
        """How many codes the actor's ``Vm`` has compiled over all its calls."""
        return self._vm.compiles

    def pid(self) -> int:
        """The actor's process id: which process answers a shard."""
        return os.getpid()


# Ray's defaults for an actor: a CPU to be placed, none held while it runs, so a pool may have
# more shards than the cluster has CPUs (its shards then share them).
_ShardActor = ray.remote(_Shard)


class Pool:
    """``shards`` Ray actors, each holding one ``Vm``, answering lists of requests together.

    A pool is meant to be kept: its actors are started once, and every ``run_batch`` call
    reuses them (their processes, with the extension loaded and a ``Vm`` made). The actors end
    with ``close()``, the end of a ``with`` block, or when the pool is garbage (Ray ends an
    actor no handle refers to).
    """

    def __init__(self, shards: int = 2, engine: str = "auto", **actor_options: Any) -> None:
        """Starts ``shards`` actors (1 or more) whose ``Vm``s run on ``engine`` ("auto",
        "interp" or "jit"), as ``Vm(engine)``.

        ``actor_options`` go to Ray's ``.options()`` for every actor (``num_cpus``,
        ``resources``, ``scheduling_strategy``, ...). Raises ``ValueError`` for a bad number
        of shards or engine, before starting anything.
        """
        if isinstance(shards, bool) or not isinstance(shards, int) or shards < 1:
            raise ValueError(f"shards: {shards!r} is not a whole number of 1 or more")
        # Made here too so that a bad engine (or later a bad `jobs`) raises the local message,
        # not an actor's failure.
        self._local = Vm(engine)
        self._engine = engine
        actor = _ShardActor.options(**actor_options)
        self._actors = [actor.remote(engine) for _ in range(shards)]

    @property
    def shards(self) -> int:
        """How many actors the pool has."""
        return len(self._actors)

    @property
    def actors(self) -> list[Any]:
        """The actors' handles, one a shard (each has ``pid()``, its process id, and
        ``compiles()``, how many codes its ``Vm`` compiled)."""
        return list(self._actors)

    def run_batch(
        self, requests: Iterable[Mapping[str, Any]], jobs: int = 1
    ) -> list[dict[str, Any]]:
        """Answers ``requests`` on the pool's actors and returns the results in input order:
        the list ``Vm(engine).run_batch(requests)`` returns.

        The requests are split in one sub-batch per actor: those naming one world all go to
        the same actor, in input order, and the others spread so that every actor gets about
        as many. Each actor answers its sub-batch with one ``Vm.run_batch`` on ``jobs`` threads
        (1 to 1024): a batch of its own, as the whole list is on one machine, whose worlds
        start empty and end with it. A bad request's result is ``{"error": ...}`` in place. A
        request that cannot be written as JSON raises what the local call raises.
        """
        if not self._actors:
            raise ValueError("the pool is closed")
        requests = list(requests)
        # `jobs` checked as the local call checks it, with its message (an empty batch: its
        # threads, if any, end at once).
        self._local.run_batch([], jobs=jobs)
        plan = _split(requests, self.shards)
        calls = [
            (actor.run_batch.remote(batch, jobs), order, fillers)
            for actor, (batch, order, fillers) in zip(self._actors, plan)
            if order
        ]
        results: list[Any] = [None] * len(requests)
        try:
            answers = ray.get([ref for ref, _, _ in calls])
        except ray.exceptions.RayTaskError as e:
            # A request the actor could not convert: its error as the local call raises it,
            # not wrapped in Ray's (the actor lives on).
            raise e.cause from None
        for (_, order, fillers), answered in zip(calls, answers):
            for i, result in zip(order, answered[fillers:]):
                results[i] = result
        return results

    def close(self) -> None:
        """Ends the actors; ``run_batch`` then raises ``ValueError``."""
        for actor in self._actors:
            ray.kill(actor)
        self._actors = []

    def __enter__(self) -> Pool:
        """The pool, whose actors end with the ``with`` block."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Ends the actors (``close()``)."""
        self.close()

    def __repr__(self) -> str:
        """``Pool(shards=2, engine='auto')``."""
        return f"Pool(shards={self.shards}, engine={self._engine!r})"


def run_batch(
    requests: Iterable[Mapping[str, Any]],
    shards: int = 2,
    engine: str = "auto",
    jobs: int = 1,
    **actor_options: Any,
) -> list[dict[str, Any]]:
    """``Vm(engine).run_batch(requests, jobs)``'s results, answered by a ``Pool`` of
    ``shards`` actors made for this call and ended after it (see ``Pool.run_batch``).

    For several calls keep a ``Pool``: its actors are started once.
    """
    with Pool(shards, engine, **actor_options) as pool:
        return pool.run_batch(requests, jobs=jobs)


def _world(request: Any) -> str | None:
    """The world ``request`` names as the batch reads it: a ``world`` written as a JSON string
    (``bytes`` are written as hex), else none (absent, ``null``, or a bad one the batch answers
    with an error)."""
    if not isinstance(request, dict):
        return None
    world = request.get("world")
    if isinstance(world, str):
        # The text json.dumps writes for a str subclass, whatever its own str() says.
        return str.__str__(world)
    if isinstance(world, (bytes, bytearray)):
        return "0x" + bytes(world).hex()
    return None


def _split(requests: list[Any], shards: int) -> list[tuple[list[Any], list[int], int]]:
    """The sub-batch of every shard: ``(requests, places, fillers)``, where the shard's
    requests after its first ``fillers`` are those of ``requests`` at ``places``, in input
    order.

    A world's requests all go to one shard, worlds placed largest first on the shard with the
    fewest requests so far; then each request naming none goes to the shard with the fewest.
    The batch keeps only the first ``MAX_WORLDS`` names it meets and refuses the others'
    requests; so that the shards refuse the same ones, all refused worlds go to one shard,
    whose sub-batch starts with requests naming unused worlds (and answered with an error,
    dropped) until it has met ``MAX_WORLDS`` names before the first refused one.
    """
    worlds: dict[str, list[int]] = {}  # in order of first appearance
    open_places: list[int] = []
    for i, request in enumerate(requests):
        world = _world(request)
        if world is None:
            open_places.append(i)
        else:
            worlds.setdefault(world, []).append(i)
    names = list(worlds)
    kept, refused = names[:MAX_WORLDS], names[MAX_WORLDS:]

    places: list[list[int]] = [[] for _ in range(shards)]
    kept_on = [0] * shards
    load = [(0, s) for s in range(shards)]  # a heap of (requests, shard)
    for name in sorted(kept, key=lambda n: -len(worlds[n])):  # stable: ties in input order
        count, s = heapq.heappop(load)
        places[s].extend(worlds[name])
        kept_on[s] += 1
        heapq.heappush(load, (count + len(worlds[name]), s))

    fillers = [0] * shards
    if refused:
        s = max(range(shards), key=lambda s: (kept_on[s], -s))
        for name in refused:
            places[s].extend(worlds[name])
        fillers[s] = MAX_WORLDS - kept_on[s]
        load = [(len(p), t) for t, p in enumerate(places)]
        heapq.heapify(load)

    for i in open_places:
        count, s = heapq.heappop(load)
        places[s].append(i)
        heapq.heappush(load, (count + 1, s))

    taken = set(names)
    plan = []
    for s in range(shards):
        places[s].sort()
        # An unknown field: the batch counts the name, then answers with an error.
        batch = [{"world": n, "nestedvm.ray": "a filler"} for n in _unused(taken, fillers[s])]
        batch.extend(requests[i] for i in places[s])
        plan.append((batch, places[s], fillers[s]))
    return plan


def _unused(taken: set[str], count: int) -> list[str]:
    """``count`` world names not in ``taken``."""
    names: list[str] = []
    n = 0
    while len(names) < count:
        name = f"nestedvm.ray filler {n}"
        if name not in taken:
            names.append(name)
        n += 1
    return names
