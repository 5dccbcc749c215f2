"""Benchmark suite: the peers' (official-style) path vs mmccr's, per learner.

For CoOp, KgCoOp, CoCoOp and DualCoOp one training step (forward, loss,
backward), and for CoOp an evaluation pass, are timed side by side in one
process on the same model, batch and weights:

* **official-style** (as the peers' code does it): the frozen image tower
  runs on every batch, the text transformer on all 77 token positions,
  CoCoOp loops over the images, an evaluation re-encodes the class text
  for every batch;
* **mmccr**: image features from the frozen-feature cache
  (:mod:`mmccr.engine.feature_cache`), prompts truncated at the last
  end-of-text token, CoCoOp's B × C prompts in one batched pass, the class
  text encoded once per evaluation.

Each row gives the median of ``--repeats`` runs (after a warm-up), the
ratio, the largest difference between the two paths' logits and prompt
gradients, and the peak memory the step added (GPU: allocated memory; CPU:
resident-set growth sampled every 2 ms, approximate). Further rows: CCR's
share of a cached CoOp step, the feature cache's build time and size, the
DOR outlier pool's text features (computed, then read back from disk) and,
on CPU, bf16 autocast of the frozen towers against float32.

The weights are random (the architecture sets the cost; no pretrained
weights are needed). The evaluation pass over ``--eval-images`` images is
timed in full for mmccr and extrapolated from the median of one batch for
the official-style path (its cost is linear in the batches); cache build
time and size are measured on ``--cache-images`` images and scaled to
``--eval-images`` (size exactly, time linearly). ``--quick`` shrinks the
batches so that the suite runs in a few minutes on 2 CPU cores.

Usage::

    python benchmarks/run_all.py [--quick] [--out results.json]
"""
import argparse
import contextlib
import functools
import json
import os
import os.path as osp
import sys
import tempfile
import threading
import time

import numpy as np
import torch
from bench_cocoop import official_step as official_cocoop_logits
from rich.console import Console
from rich.table import Table
from timing import median_time

from mmccr.datasets.coco import COCO_CLASSES
from mmccr.models.classifiers.cached_features import CachedFeatures
from mmccr.models.prompt_learners import LearnerOutput
from mmccr.registry import MODELS
from mmccr.utils.io import atomic_write_json

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
VOCAB = osp.join(REPO, 'configs', 'demo', 'dor_vocab_5k.txt')

#: Learner configs of the training rows (the COCO configs' settings).
LEARNERS = {
    'CoOp': dict(type='CoOp', n_ctx=16),
    'KgCoOp': dict(type='KgCoOp'),
    'CoCoOp': dict(type='CoCoOp'),
    'DualCoOp': dict(type='DualCoOp', n_ctx=16),
}


# ---------------------------------------------------------------------- #
# measuring                                                              #
# ---------------------------------------------------------------------- #
def _rss() -> int:
    """Resident set size of this process in bytes (Linux)."""
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE')


@contextlib.contextmanager
def peak_memory(device: str):
    """Peak memory added inside the block, in bytes (``box[0]``)."""
    box = [0]
    if device == 'cuda':
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        yield box
        torch.cuda.synchronize()
        box[0] = torch.cuda.max_memory_allocated() - base
        return
    base, peak, done = _rss(), [0], threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], _rss())
            time.sleep(0.002)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield box
    finally:
        done.set()
        thread.join()
        box[0] = max(peak[0], _rss()) - base


def compare(name: str, official, mmccr, repeats: int, device: str,
            scale: float = 1.) -> dict:
    """Time both paths; compare their outputs.

    Args:
        name (str): the row's label.
        official (Callable): the official-style path; returns
            ``(logits, prompt gradients or None)``.
        mmccr (Callable): mmccr's path, same returns.
        repeats (int): timed runs (after one warm-up).
        device (str): ``'cpu'`` or ``'cuda'``.
        scale (float): multiplies the official time (extrapolation).
    """
    row = dict(case=name)
    outputs = {}
    for label, fn in (('official', official), ('mmccr', mmccr)):
        with peak_memory(device) as peak:
            outputs[label] = fn()
        row[f'{label}_s'] = median_time(fn, repeats, device)
        row[f'{label}_peak_mib'] = peak[0] / 2**20
    row['official_s'] *= scale
    row['ratio'] = row['official_s'] / row['mmccr_s']
    (z_a, g_a), (z_b, g_b) = outputs['official'], outputs['mmccr']
    row['max_abs_logit_diff'] = float((z_a - z_b).abs().max())
    row['logit_scale'] = float(z_a.abs().max())
    if g_a is not None:
        row['max_abs_grad_diff'] = float((g_a - g_b).abs().max())
        row['grad_scale'] = float(g_a.abs().max())
    return row


# ---------------------------------------------------------------------- #
# the two paths                                                          #
# ---------------------------------------------------------------------- #
@contextlib.contextmanager
def full_context(backbone):
    """The text transformer on all 77 positions (no truncation)."""
    backbone.encode_token_embeddings = functools.partial(
        type(backbone).encode_token_embeddings, backbone, truncate=False)
    try:
        yield
    finally:
        del backbone.encode_token_embeddings


def gradients(model) -> torch.Tensor:
    return torch.cat([p.grad.flatten() for p in model.learner.parameters()
                      if p.grad is not None])


def official_output(model, images) -> LearnerOutput:
    """The peers' forward: image tower every step, 77-token prompts,
    CoCoOp one image at a time."""
    learner, backbone = model.learner, model.backbone
    with torch.no_grad():
        feats = model.extract_feat(images)
    with full_context(backbone):
        if learner.image_conditioned:
            logits = official_cocoop_logits(backbone, learner, feats.pooled,
                                            None)
            return LearnerOutput(logits, torch.empty(0))
        return learner(backbone, feats)


def official_train(model, images, labels):
    model.zero_grad(set_to_none=True)
    output = official_output(model, images)
    sum(model.loss(output, labels).values()).backward()
    return output.logits.detach(), gradients(model)


def mmccr_train(model, samples, labels):
    """``forward(mode='loss')`` on a cached batch, keeping the logits."""
    model.zero_grad(set_to_none=True)
    output = model.learner(model.backbone, model.cached_features(samples))
    sum(model.loss(output, labels).values()).backward()
    return output.logits.detach(), gradients(model)


def cache_of(model, images) -> CachedFeatures:
    """The batch's frozen features as a (one-view) feature cache."""
    with torch.no_grad():
        feats = model.extract_feat(images)
    tokens = None if feats.tokens is None else \
        feats.tokens.unsqueeze(1).cpu().numpy()
    return CachedFeatures(feats.pooled.unsqueeze(1).cpu().numpy(), tokens)


def samples_for(cache_name: str, num: int) -> dict:
    return dict(feature_cache=[cache_name] * num,
                sample_idx=torch.arange(num),
                feature_view=torch.zeros(num, dtype=torch.long))


def build_model(backbone_cfg: dict, learner: dict, classes, calibrators=(),
                device='cpu'):
    torch.manual_seed(0)
    model = MODELS.build(dict(type='PromptClassifier', backbone=backbone_cfg,
                              learner=learner, calibrators=list(calibrators),
                              classnames=list(classes)))
    return model.to(device)


def batch(model, size: int, classes: int, device: str, seed: int = 1):
    gen = torch.Generator().manual_seed(seed)
    side = model.backbone.clip.visual.image_size
    side = side[0] if isinstance(side, (tuple, list)) else side
    images = torch.randn(size, 3, side, side, generator=gen).to(device)
    labels = (torch.rand(size, classes, generator=gen) < 0.1).float()
    return images, labels.to(device)


def train_row(name, backbone_cfg, learner, size, classes, args) -> dict:
    model = build_model(backbone_cfg, learner, COCO_CLASSES[:classes],
                        device=args.device)
    images, labels = batch(model, size, classes, args.device)
    model.feature_caches['bench'] = cache_of(model, images)
    samples = samples_for('bench', size)
    model.train()
    row = compare(f'{name} train step', lambda: official_train(
        model, images, labels), lambda: mmccr_train(model, samples, labels),
        args.repeats, args.device)
    row.update(batch=size, classes=classes)
    return row


def eval_row(backbone_cfg, args) -> dict:
    """CoOp evaluation pass over ``--eval-images`` images, 80 classes."""
    model = build_model(backbone_cfg, LEARNERS['CoOp'], COCO_CLASSES,
                        device=args.device)
    model.eval()
    size, total = args.eval_batch, args.eval_images
    images, _ = batch(model, size, 80, args.device)
    first = cache_of(model, images)
    # the full set's cache: the measured batch, then random features
    rest = np.random.default_rng(0).standard_normal(
        (total - size, 1, first.pooled.shape[-1])).astype(np.float32)
    folder = tempfile.mkdtemp()
    path = osp.join(folder, 'pooled.npy')
    np.save(path, np.concatenate([first.pooled, rest]))
    model.feature_caches['eval'] = CachedFeatures(np.load(path,
                                                          mmap_mode='r'))
    batches = [samples_for('eval', min(size, total - s)) for s in
               range(0, total, size)]
    for i, s in enumerate(batches):
        s['sample_idx'] = s['sample_idx'] + i * size

    def official():
        model.learner.reuse_eval_text = False
        try:
            with torch.no_grad():
                return official_output(model, images).logits, None
        finally:
            model.learner.reuse_eval_text = True

    def mmccr():
        model.train()
        model.eval()  # a new evaluation: the class text is encoded again
        placeholder = torch.zeros(size, 3, 1, 1)
        with torch.no_grad():
            out = [model(placeholder, s, mode='tensor') for s in batches]
        return out[0], None

    row = compare(f'CoOp eval pass ({total} images)', official, mmccr,
                  args.repeats, args.device, scale=len(batches))
    row.update(batch=size, classes=80,
               note=f'official: one batch x {len(batches)} batches')
    os.remove(path)
    return row


def ccr_row(backbone_cfg, args) -> dict:
    """CCR's share of a cached CoOp step (80 classes)."""
    ccr = dict(type='CCR', loss_weight=1e-3, pairs='joint_negative',
               reduction='sum', eps=1e-6, global_batch=False)
    model = build_model(backbone_cfg, LEARNERS['CoOp'], COCO_CLASSES,
                        [ccr], args.device)
    size = args.batch
    images, labels = batch(model, size, 80, args.device)
    model.feature_caches['bench'] = cache_of(model, images)
    samples = samples_for('bench', size)
    model.train()
    step = median_time(lambda: mmccr_train(model, samples, labels),
                       args.repeats, args.device)
    calibrator = model.calibrators[0]
    logits = torch.randn(size, 80, device=args.device)

    def term():
        z = logits.clone().requires_grad_()
        out = LearnerOutput(z, torch.empty(0))
        calibrator.loss(out, labels, model.view)['loss_ccr'].backward()

    alone = median_time(term, args.repeats, args.device)
    return dict(case='CCR share of a cached CoOp step', mmccr_s=step,
                ccr_s=alone, share=alone / step, batch=size, classes=80)


def cache_row(backbone_cfg, args) -> dict:
    """Feature cache build on ``--cache-images`` images (with flips)."""
    from mmengine.registry import DefaultScope

    from mmccr.engine.feature_cache import prepare_cache
    from mmccr.registry import DATASETS
    model = build_model(backbone_cfg, LEARNERS['CoOp'], COCO_CLASSES[:40],
                        device=args.device)
    side = model.backbone.clip.visual.image_size
    side = side[0] if isinstance(side, (tuple, list)) else side
    root = tempfile.mkdtemp()
    with DefaultScope.overwrite_default_scope('mmccr'):
        dataset = DATASETS.build(dict(
            type='SyntheticShapes', num_images=args.cache_images,
            data_root=root, split='train', pipeline=[
                dict(type='LoadImage'), dict(type='Resize', size=side),
                dict(type='RandomFlip', prob=0.5), dict(type='PackInputs')]))
        start = time.perf_counter()
        _, cached, _ = prepare_cache(model, dataset, root,
                                     batch_size=args.eval_batch)
        build = time.perf_counter() - start
        start = time.perf_counter()
        prepare_cache(model, dataset, root)
        reopen = time.perf_counter() - start
    per_image = cached.pooled.nbytes / args.cache_images
    return dict(case=f'feature cache ({args.cache_images} images x 2 views)',
                build_s=build, reopen_s=reopen,
                mib=cached.pooled.nbytes / 2**20,
                mib_at_eval_images=per_image * args.eval_images / 2**20,
                build_s_at_eval_images=build / args.cache_images
                * args.eval_images)


def dor_row(backbone_cfg, args) -> dict:
    """DOR's vocabulary features: computed and stored, then read back."""
    from mmccr.calibrators.dor import load_vocabulary
    from mmccr.models.backbones.stored_text import stored_zero_shot_features
    model = build_model(backbone_cfg, LEARNERS['CoOp'], COCO_CLASSES[:40],
                        device=args.device)
    words = load_vocabulary(VOCAB)[:args.dor_words]
    root = tempfile.mkdtemp()
    start = time.perf_counter()
    stored_zero_shot_features(model.backbone, words, cache_dir=root)
    built = time.perf_counter() - start
    start = time.perf_counter()
    stored_zero_shot_features(model.backbone, words, cache_dir=root)
    read = time.perf_counter() - start
    return dict(case=f'DOR pool text features ({len(words)} words)',
                build_s=built, reopen_s=read)


def bf16_row(backbone_cfg, args) -> dict:
    """bf16 autocast of the frozen towers vs float32 (CoOp step parts)."""
    model = build_model(backbone_cfg, LEARNERS['CoOp'], COCO_CLASSES[:40],
                        device=args.device)
    images, labels = batch(model, args.eval_batch, 40, args.device)
    backbone = model.backbone

    def image():
        return backbone.encode_image(images), None

    def text():
        model.zero_grad(set_to_none=True)
        feats = model.learner.class_features(backbone, None)
        feats.pow(2).sum().backward()
        return feats.detach(), gradients(model)

    rows = []
    for part, fn in (('image tower', image), ('text fwd+bwd', text)):
        outputs, times = {}, {}
        for precision in ('fp32', 'bf16'):
            backbone.precision = precision
            outputs[precision] = fn()
            times[precision] = median_time(fn, args.repeats, args.device)
        backbone.precision = 'fp32'
        ref, out = outputs['fp32'][0], outputs['bf16'][0]
        rows.append(dict(
            case=f'bf16 autocast: {part}', fp32_s=times['fp32'],
            bf16_s=times['bf16'], ratio=times['fp32'] / times['bf16'],
            max_rel_diff=float((ref - out).abs().max() / ref.abs().max())))
    return rows


# ---------------------------------------------------------------------- #
# output                                                                 #
# ---------------------------------------------------------------------- #
def table(rows) -> Table:
    out = Table(title='mmccr benchmark (medians; ratio = official / mmccr)')
    for col in ('case', 'official s', 'mmccr s', 'ratio', 'max |Δ logit|',
                'max |Δ grad|', 'peak MiB off/mm'):
        out.add_column(col, justify='left' if col == 'case' else 'right')
    for r in rows:
        if 'official_s' not in r:
            continue
        grad = r.get('max_abs_grad_diff')
        out.add_row(
            r['case'], f'{r["official_s"]:.3f}', f'{r["mmccr_s"]:.3f}',
            f'{r["ratio"]:.1f}x', f'{r["max_abs_logit_diff"]:.1e}',
            '-' if grad is None else f'{grad:.1e}',
            f'{r["official_peak_mib"]:.0f} / {r["mmccr_peak_mib"]:.0f}')
    return out


def others(rows) -> Table:
    out = Table(title='Other measurements')
    out.add_column('case')
    out.add_column('result', justify='left')
    for r in rows:
        if 'official_s' in r:
            continue
        facts = ', '.join(f'{k} {v:.3g}' if isinstance(v, float) else
                          f'{k} {v}' for k, v in r.items() if k != 'case')
        out.add_row(r['case'], facts)
    return out


def markdown(rows) -> str:
    """The rows as the Markdown tables of docs/performance.md."""
    lines = ['| case | official-style | mmccr | ratio | max abs logit '
             'diff (logit scale) | max abs grad diff (grad scale) | '
             'peak MiB official / mmccr |', '|---|---|---|---|---|---|---|']
    for r in rows:
        if 'official_s' not in r:
            continue
        grad = '-' if 'max_abs_grad_diff' not in r else \
            f'{r["max_abs_grad_diff"]:.1e} ({r["grad_scale"]:.1e})'
        lines.append(
            f'| {r["case"]} | {r["official_s"]:.2f} s | '
            f'{r["mmccr_s"]:.2f} s | **{r["ratio"]:.1f}x** | '
            f'{r["max_abs_logit_diff"]:.1e} ({r["logit_scale"]:.1e}) | '
            f'{grad} | {r["official_peak_mib"]:.0f} / '
            f'{r["mmccr_peak_mib"]:.0f} |')
    lines += ['', '| measurement | result |', '|---|---|']
    for r in rows:
        if 'official_s' in r:
            continue
        facts = ', '.join(f'{k} {v:.3g}' if isinstance(v, float) else
                          f'{k} {v}' for k, v in r.items() if k != 'case')
        lines.append(f'| {r["case"]} | {facts} |')
    return '\n'.join(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--quick', action='store_true',
                        help='small batches: a few minutes on 2 CPU cores')
    parser.add_argument('--model', default='ViT-B-16-quickgelu',
                        help='open_clip architecture (random weights)')
    parser.add_argument('--backbone-config',
                        help='a backbone base config instead of --model, '
                        'e.g. configs/_base_/backbones/tiny-clip.py')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--repeats', type=int, default=None)
    parser.add_argument('--out', default='benchmarks/results.json')
    parser.add_argument('--learners', nargs='+', default=list(LEARNERS))
    parser.add_argument('--markdown', metavar='JSON',
                        help='print the Markdown tables of a results file '
                        'and exit (nothing is run)')
    args = parser.parse_args(argv)
    full = dict(repeats=3, batch=32, cocoop_batch=4, classes=40,
                eval_batch=64, eval_images=2000, cache_images=64,
                dor_words=5000)
    quick = dict(repeats=2, batch=8, cocoop_batch=2, classes=40,
                 eval_batch=16, eval_images=2000, cache_images=16,
                 dor_words=500)
    for key, value in (quick if args.quick else full).items():
        if getattr(args, key, None) is None:
            setattr(args, key, value)
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    console = Console()
    if args.markdown:
        with open(args.markdown, encoding='utf-8') as f:
            print(markdown(json.load(f)['rows']))
        return
    backbone_cfg = dict(type='CLIPBackbone', model_name=args.model,
                        pretrained=None)
    if args.backbone_config:
        from mmengine.config import Config
        backbone_cfg = Config.fromfile(args.backbone_config).backbone
        args.model = osp.basename(args.backbone_config)
    load = [os.getloadavg()[0]]
    start = time.perf_counter()
    rows = []

    def save() -> dict:
        """Write the rows so far (a stopped run keeps what it measured)."""
        settings = dict(
            model=f'{args.model} (random weights)', device=args.device,
            threads=torch.get_num_threads(), cpus=os.cpu_count(),
            quick=args.quick, repeats=args.repeats, torch=torch.__version__,
            load_average_start_end=load + [os.getloadavg()[0]],
            seconds=round(time.perf_counter() - start, 1),
            command=' '.join([osp.basename(sys.argv[0])] + (
                argv or sys.argv[1:])))
        atomic_write_json(args.out, dict(settings=settings, rows=rows))
        return settings

    steps = [functools.partial(
        train_row, name, backbone_cfg, LEARNERS[name],
        args.cocoop_batch if name == 'CoCoOp' else args.batch, args.classes,
        args) for name in args.learners]
    steps += [functools.partial(fn, backbone_cfg, args) for fn in (
        eval_row, ccr_row, cache_row, dor_row)]
    if args.device == 'cpu':
        steps.append(functools.partial(bf16_row, backbone_cfg, args))
    for step in steps:
        out = step()
        rows.extend(out if isinstance(out, list) else [out])
        save()
        console.print(f'done: {rows[-1]["case"]}')
    settings = save()
    console.print(table(rows))
    console.print(others(rows))
    console.print(f'{settings}')
    console.print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
