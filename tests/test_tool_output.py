"""What the tools and runs tell a person: warnings, tables, progress, logs.

Tool runs use the offline shapes demo (tiny random CLIP) with a few images
and epochs; each one checks the output a person sees (stdout) against the
log file that keeps everything.
"""
import logging
from contextlib import contextmanager
from typing import Iterator, List

import torch
from mmengine.logging import MMLogger

from mmccr.calibrators.temperature import T_RANGE, fit_temperature


@contextmanager
def captured_warnings() -> Iterator[List[str]]:
    """Messages logged at WARNING on mmengine's current logger."""
    logger = MMLogger.get_instance('test_tool_output')  # becomes current
    messages: List[str] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = lambda record: messages.append(record.getMessage())
    logger.addHandler(handler)
    try:
        yield messages
    finally:
        logger.removeHandler(handler)


def test_temperature_at_its_clip_bound_warns():
    """A temperature clipped to T_RANGE is reported; a finite one is not.

    Logits +1 and -1 both labelled 1 carry no information: the NLL falls
    as T grows, so the fit runs into the upper bound. Logits 4 x the true
    ones have their optimum near T = 4, well inside the range.
    """
    with captured_warnings() as messages:
        t = fit_temperature(torch.tensor([[1.0, -1.0]]),
                            torch.tensor([[1, 1]]))
    assert t.item() == T_RANGE[1]
    assert len(messages) == 1
    assert 'clip bound' in messages[0] and 'fit_dataloader' in messages[0]

    gen = torch.Generator().manual_seed(0)
    s = 2 * torch.randn(2000, 3, generator=gen, dtype=torch.float64)
    labels = (torch.rand(2000, 3, generator=gen, dtype=torch.float64)
              < torch.sigmoid(s)).long()
    with captured_warnings() as messages:
        t = fit_temperature(4 * s, labels)
    assert 3 < t.item() < 5 and messages == []

    # Per class: only the uninformative column (2) is named.
    logits = torch.cat([4 * s[:, :2], torch.where(
        torch.arange(2000)[:, None] % 2 == 0, 1.0, -1.0).double()], 1)
    labels[:, 2] = 1
    with captured_warnings() as messages:
        t = fit_temperature(logits, labels, per_class=True)
    assert t[2].item() == T_RANGE[1] and 3 < t[0].item() < 5
    assert len(messages) == 1 and 'columns [2]' in messages[0]
