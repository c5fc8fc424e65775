"""nestedvm: requests and results of ``nestedvm run --batch`` as dicts."""

from typing import Any, Iterable, Literal, Mapping

__all__ = ["MAX_WORLDS", "Vm"]

MAX_WORLDS: int
"""The most worlds one batch keeps (128): the first ``MAX_WORLDS`` names it meets, in input
order; a request naming another is answered with an error."""

class Vm:
    """A nestedvm engine answering requests of the ``run --batch`` protocol.

    One ``Vm`` keeps one batch: the worlds requests name with ``"world"`` live across calls
    of ``run``, and code analysed or compiled for one request is reused by the next.
    """

    def __init__(
        self, engine: Literal["auto", "interp", "jit"] = "auto", evm_gas: bool = True
    ) -> None:
        """A VM whose requests run on ``engine`` unless they say otherwise.

        ``evm_gas=False`` is ``run --batch --no-evm-gas``: a ``hyvm`` result's
        ``evm_gas_used`` is ``None``, and the second run of the code as a plain contract that
        gives it is skipped. Raises ``ValueError`` for another engine.
        """

    def run(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """Runs one request (the fields of a ``run --batch`` line: ``code``, ``calldata``,
        ``gas``, ``profile``, ``accounts``, ``block``, ``dump``, ``trace``, ``call_trace``,
        ``world``, ``id``, ...) and returns its result (the fields of a result line).

        ``bytes`` are accepted wherever the protocol takes a hex string. A request the
        command would answer with ``{"error": ...}`` raises ``ValueError`` with that message.
        The GIL is released while the request runs.
        """

    @property
    def compiles(self) -> int:
        """How many codes this VM's JIT has compiled, in ``run`` and ``run_batch`` calls
        together: a code compiled once serves every later call."""
        ...

    def run_batch(
        self, requests: Iterable[Mapping[str, Any]], jobs: int = 1
    ) -> list[dict[str, Any]]:
        """Runs the requests on ``jobs`` threads (1 to 1024), the GIL released, and returns
        their results in input order, as one ``nestedvm run --batch --jobs N`` would.

        A bad request does not raise: its result is ``{"error": ...}`` (after ``"id"`` when
        it has one), in place. The list is a batch of its own: its worlds start empty and end
        with it. Code compiled for it stays with the ``Vm`` for later calls.
        """
