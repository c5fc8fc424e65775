"""nestedvm: an EVM hypervisor (HyVM) and EVM with a reference interpreter and a JIT.

Requests and results are those of ``nestedvm run --batch`` (docs/run.md, "Batch protocol"),
as dicts::

    import nestedvm
    vm = nestedvm.Vm()
    vm.run({"code": "0x600360040160005260206000f3"})["output"]  # '0x...07'
"""

from ._nestedvm import MAX_WORLDS, Vm

__all__ = ["MAX_WORLDS", "Vm"]
