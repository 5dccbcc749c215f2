"""Distributed helpers."""
import torch
import torch.distributed as dist
from torch import Tensor


def all_gather_with_grad(tensor: Tensor) -> Tensor:
    """Concatenate ``tensor`` from every rank along dim 0, keeping gradients.

    Gradients flow back to this rank's slice (through
    ``torch.distributed.nn.functional.all_gather``). Without an initialised
    process group, or with one process, returns ``tensor`` unchanged.

    Args:
        tensor (Tensor): local tensor ``(B, ...)``; ``B`` must be equal on
            every rank.

    Returns:
        Tensor: global tensor ``(world_size * B, ...)``.
    """
    if not (dist.is_available() and dist.is_initialized()) or \
            dist.get_world_size() == 1:
        return tensor
    from torch.distributed.nn.functional import all_gather
    return torch.cat(all_gather(tensor.contiguous()), dim=0)


def init_cpu_distributed(launcher: str) -> bool:
    """Start a gloo process group for a CPU-only distributed launch.

    mmengine's own initialisation calls ``torch.cuda.set_device`` and so
    fails without CUDA. When ``launcher`` is not ``'none'`` and no GPU is
    visible, this initialises gloo from the torchrun environment first; the
    Runner then reuses the existing group.

    Returns:
        bool: whether a CPU process group was started here.
    """
    if launcher == 'none' or torch.cuda.is_available() or \
            dist.is_initialized():
        return False
    dist.init_process_group(backend='gloo')
    return True
