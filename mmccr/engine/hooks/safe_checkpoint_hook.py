"""Checkpoints that load with ``torch.load(weights_only=True)``."""
from typing import Any

import numpy as np
from mmengine.hooks import Hook
from mmengine.logging import HistoryBuffer

from mmccr.registry import HOOKS

_BUFFER_TAG = '__history_buffer__'


def to_plain(value: Any) -> Any:
    """Turn numpy values and mmengine history buffers into plain types."""
    if isinstance(value, HistoryBuffer):
        log, count = value.data
        return {
            _BUFFER_TAG: True,
            'log_history': log.tolist(),
            'count_history': count.tolist(),
            'max_length': value.max_length
        }
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {k: to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(to_plain(v) for v in value)
    return value


def from_plain(value: Any) -> Any:
    """Inverse of :func:`to_plain` for history buffers."""
    if isinstance(value, dict):
        if value.get(_BUFFER_TAG):
            return HistoryBuffer(value['log_history'], value['count_history'],
                                 value['max_length'])
        return {k: from_plain(v) for k, v in value.items()}
    return value


@HOOKS.register_module()
class SafeCheckpointHook(Hook):
    """Store mmengine's resume state in plain types.

    mmengine 0.10.7 pickles its ``message_hub`` (history buffers, numpy
    scalars), which ``torch.load`` refuses under its default
    ``weights_only=True`` (torch >= 2.6). This hook converts that state to
    lists and numbers before saving and back after loading, so mmccr
    checkpoints need no unsafe unpickling, for resume and for testing.
    """

    priority = 'VERY_HIGH'

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Convert the message hub and meta to plain types."""
        for key in ('message_hub', 'meta'):
            if key in checkpoint:
                checkpoint[key] = to_plain(checkpoint[key])

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Rebuild the history buffers of the message hub."""
        if 'message_hub' in checkpoint:
            checkpoint['message_hub'] = from_plain(checkpoint['message_hub'])
