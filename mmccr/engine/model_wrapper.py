"""Distributed wrapper that also works on CPU (gloo)."""
import torch
from mmengine.model import MMDistributedDataParallel

from mmccr.registry import MODEL_WRAPPERS


@MODEL_WRAPPERS.register_module()
class MMCCRDistributedDataParallel(MMDistributedDataParallel):
    """``MMDistributedDataParallel`` that drops ``device_ids`` on CPU.

    mmengine passes ``device_ids=[LOCAL_RANK]``, which DDP rejects for a CPU
    module; CPU (gloo) runs need ``device_ids=None``.
    """

    def __init__(self, module: torch.nn.Module, **kwargs) -> None:
        if not any(p.is_cuda for p in module.parameters()):
            kwargs['device_ids'] = None
            kwargs.pop('output_device', None)
        super().__init__(module=module, **kwargs)
