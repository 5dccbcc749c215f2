"""CCR over the global batch with 2 gloo processes."""
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from mmccr.calibrators import CCR
from mmccr.models import LearnerOutput


class ZeroShotStub:
    """Stands in for the classifier: classes and their zero-shot features."""

    def __init__(self, classnames, feats):
        self.classnames = list(classnames)
        self.feats = feats

    def zero_shot_features(self, names=None, cache=True):
        return self.feats


def _batch():
    """A fixed global batch of 8 samples and 3 classes, and Σ_text."""
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(8, 3, generator=gen) * 3
    labels = (torch.rand(8, 3, generator=gen) < 0.3).float()
    feats = torch.nn.functional.normalize(torch.randn(3, 4, generator=gen),
                                          dim=-1)
    return logits, labels, feats


def _worker(rank: int, init_file: str, queue) -> None:
    dist.init_process_group('gloo', init_method=f'file://{init_file}',
                            rank=rank, world_size=2)
    logits, labels, feats = _batch()
    local = logits[rank * 4:(rank + 1) * 4].clone().requires_grad_(True)
    ccr = CCR(loss_weight=1., global_batch=True)
    model = ZeroShotStub(['a', 'b', 'c'], feats)
    ccr.set_classes(model)
    local_labels = labels[rank * 4:(rank + 1) * 4]
    loss = ccr.loss(LearnerOutput(local, None), local_labels,
                    model)['loss_ccr']
    loss.backward()
    queue.put((rank, loss.item(), local.grad.tolist()))
    dist.destroy_process_group()


def test_global_batch_matches_single_process(tmp_path):
    """Each rank's loss is the full-batch loss; gradients reach its slice.

    The all-gather's backward sums the gradients of every rank's copy of the
    loss, so a rank's slice gets world_size times the full-batch gradient;
    DDP's gradient averaging then restores the full-batch gradient.
    """
    logits, labels, feats = _batch()
    full_logits = logits.clone().requires_grad_(True)
    ccr = CCR(loss_weight=1., global_batch=True)  # no process group: local
    model = ZeroShotStub(['a', 'b', 'c'], feats)
    ccr.set_classes(model)
    full = ccr.loss(LearnerOutput(full_logits, None), labels,
                    model)['loss_ccr']
    full.backward()

    ctx = mp.get_context('spawn')
    queue = ctx.Queue()
    procs = [
        ctx.Process(target=_worker,
                    args=(rank, str(tmp_path / 'init'), queue))
        for rank in range(2)
    ]
    for proc in procs:
        proc.start()
    results = dict((r, (loss, grad))
                   for r, loss, grad in (queue.get(timeout=300)
                                         for _ in procs))
    for proc in procs:
        proc.join(timeout=60)
        assert proc.exitcode == 0
    for rank, (loss, grad) in results.items():
        assert abs(loss - full.item()) < 1e-5
        expected = 2 * full_logits.grad[rank * 4:(rank + 1) * 4]
        assert torch.allclose(torch.tensor(grad), expected, atol=1e-5)
