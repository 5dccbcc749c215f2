"""The shared dataset pass: 1 process vs 2 gloo processes.

Held-out logits (calibrator fitting) and PIECE's reference features come
from :func:`mmccr.engine.dataset_pass.dataset_pass`; with 2 processes each
rank encodes half the images and both must end with exactly the
single-process result, in dataset order.
"""
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from mmccr.engine.dataset_pass import dataset_pass


class Items(torch.utils.data.Dataset):
    """``num`` items: a 3-vector image and its index as label."""

    def __init__(self, num):
        gen = torch.Generator().manual_seed(0)
        self.images = torch.randn(num, 3, generator=gen)

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        return dict(inputs=self.images[i], data_samples=dict(index=i))


class Doubler(torch.nn.Module):
    """A model whose pre-processor passes the batch and doubles inputs."""

    def __init__(self):
        super().__init__()
        self.data_preprocessor = lambda batch, training: batch
        self.seen = []

    def forward(self, x):
        return 2 * x


def step_of(model):
    def step(data):
        model.seen.append(model.training)
        model.items = getattr(model, 'items', 0) + len(data['inputs'])
        return dict(out=model(data['inputs']),
                    index=data['data_samples']['index'])
    return step


def single(num):
    model = Doubler().train()
    out = dataset_pass(model, Items(num), step_of(model), batch_size=2)
    return model, out


def test_single_process_pass_in_order_and_in_eval_mode():
    model, out = single(7)
    torch.testing.assert_close(out['out'], 2 * Items(7).images)
    assert out['index'].tolist() == list(range(7))
    assert model.seen and not any(model.seen)  # eval during the pass
    assert model.training  # and back afterwards


def _worker(rank, init_file, num, queue):
    dist.init_process_group('gloo', init_method=f'file://{init_file}',
                            rank=rank, world_size=2)
    try:
        model = Doubler()
        out = dataset_pass(model, Items(num), step_of(model), batch_size=2)
        queue.put((rank, out['out'].tolist(), out['index'].tolist(),
                   getattr(model, 'items', 0)))
    finally:
        dist.destroy_process_group()


def test_two_processes_give_the_single_process_result(tmp_path):
    for num in (7, 1):  # uneven shards; one rank with no item at all
        _, expected = single(num)
        ctx = mp.get_context('spawn')
        queue = ctx.Queue()
        procs = [ctx.Process(target=_worker, args=(
            r, str(tmp_path / f'init{num}'), num, queue)) for r in range(2)]
        for proc in procs:
            proc.start()
        results = [queue.get(timeout=300) for _ in procs]
        for proc in procs:
            proc.join(timeout=60)
            assert proc.exitcode == 0
        for _, out, index, _ in results:
            assert index == list(range(num))
            torch.testing.assert_close(torch.tensor(out), expected['out'])
        # each image was encoded once, by one rank
        assert sorted(r[3] for r in results) == [num // 2, num - num // 2]
