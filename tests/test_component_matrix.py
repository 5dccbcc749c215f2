"""Every registered learner × calibrator × loss trains and evaluates.

The combinations come from the registries, so a newly registered learner,
calibrator or loss is covered without editing this file. Required
constructor arguments are filled by name from :data:`ARGUMENTS` (a new
component with a new required argument fails here with its name, which is
the cue to add a value).
"""
import inspect
import itertools

import pytest
import torch

import mmccr.calibrators  # noqa: F401  (registers)
import mmccr.losses  # noqa: F401
import mmccr.models  # noqa: F401
from mmccr.registry import CALIBRATORS, LOSSES, MODELS, PROMPT_LEARNERS

BASE = ['cat', 'dog', 'boat']
ALL = BASE + ['traffic light', 'hot dog']
NOUNS = 'apple table chair house river mountain pencil bottle'.split()


@pytest.fixture(scope='module')
def arguments(tmp_path_factory):
    """Values of required constructor arguments, by argument name."""
    vocab = tmp_path_factory.mktemp('vocab') / 'nouns.txt'
    vocab.write_text('\n'.join(NOUNS) + '\n', encoding='utf-8')
    return dict(vocab_file=str(vocab))


def config(registry, name, arguments, skip=('self', 'backbone')):
    """``dict(type=name, ...)`` with every required argument filled."""
    params = inspect.signature(registry.get(name).__init__).parameters
    cfg = dict(type=name)
    for arg, param in params.items():
        if arg in skip or param.kind in (param.VAR_KEYWORD,
                                         param.VAR_POSITIONAL):
            continue
        if param.default is param.empty:
            assert arg in arguments, (
                f'{name} needs {arg!r}: add a value to ARGUMENTS in '
                'tests/test_component_matrix.py')
            cfg[arg] = arguments[arg]
    return cfg


COMBINATIONS = list(itertools.product(
    sorted(PROMPT_LEARNERS.module_dict), sorted(CALIBRATORS.module_dict),
    sorted(LOSSES.module_dict)))


def batch(num, classes, seed):
    gen = torch.Generator().manual_seed(seed)
    images = torch.randn(num, 3, 32, 32, generator=gen)
    labels = (torch.rand(num, classes, generator=gen) < 0.4).long()
    labels[0] = 1  # every class has a positive and a negative
    labels[1] = 0
    return images, dict(gt_label=labels, sample_idx=torch.arange(num))


@pytest.mark.parametrize('learner, calibrator, loss', COMBINATIONS)
def test_learner_calibrator_loss_train_and_evaluate(
        make_tiny_classifier_cfg, arguments, learner, calibrator, loss):
    torch.manual_seed(0)
    cfg = make_tiny_classifier_cfg(
        learner=config(PROMPT_LEARNERS, learner, arguments),
        calibrators=[config(CALIBRATORS, calibrator, arguments)],
        loss=config(LOSSES, loss, arguments))
    model = MODELS.build(cfg)
    model.set_classes(BASE)  # the training classes

    params = {n: p for n, p in model.named_parameters() if p.requires_grad}
    assert all(n.startswith(('learner.', 'calibrators.')) for n in params)
    if params:  # a learner with nothing to train (zero-shot) only tests
        before = {n: p.detach().clone() for n, p in params.items()}
        optimizer = torch.optim.SGD(params.values(), lr=0.05)
        model.train()
        for step in range(2):
            images, samples = batch(8, len(BASE), seed=step)
            losses = model(images, samples, mode='loss')
            total = sum(v for k, v in losses.items() if 'loss' in k)
            assert torch.isfinite(total), losses
            optimizer.zero_grad()
            total.backward()
            optimizer.step()
        assert any(not torch.equal(before[n], p) for n, p in params.items())
        assert all(p.grad is None for p in model.backbone.parameters())

    model.eval()
    with torch.no_grad():
        for cal in model.calibrators:
            if cal.needs_fit:  # held-out images of the training classes
                images, samples = batch(16, len(BASE), seed=7)
                cal.fit(model(images, mode='tensor'), samples['gt_label'],
                        BASE)
        model.set_classes(ALL, BASE)
        images, samples = batch(6, len(ALL), seed=9)
        results = model(images, samples, mode='predict')
    logits = torch.stack([r['logits'] for r in results])
    assert logits.shape == (6, len(ALL))
    assert torch.isfinite(logits).all()
