"""Measure what the CCR term does to a prompt-tuning step.

``python tools/analysis_tools/ccr_mechanics.py [CONFIG] [--batches N]``

On the first ``N`` training batches of ``CONFIG`` (default: the toy-world
CoOp + CCR demo, at its initial prompt ``'a photo of a'``, or at a trained
prompt with ``--checkpoint``) it measures, per batch and then averaged:

* the gradient norm, with respect to the learnable prompt, of the base loss
  (BCE) and of the unweighted CCR term, and their ratio at each λ of
  ``--lambdas`` (λ · ‖∇CCR‖ / ‖∇BCE‖);
* the share of class pairs (i ≠ j) whose variance over the pair's sample
  set S_ij falls below each ``--eps`` (those pairs' correlations are
  flattened towards 0 by ε), the share of classes whose own variance
  C(i, i) does, and the share of empty S_ij;
* the CCR loss and its gradient norm for every combination of ``--eps``,
  ``pairs`` ('joint_negative' / 'all'), ``normalise`` ('pairwise' /
  'diagonal') and float32 / float64 σ.

Prints the table and writes it as ``mechanics.md`` and ``mechanics.csv``
under ``--out-dir``. Try ``--cfg-options
learner.logit_scale=100`` for CoOp's scale on OpenAI CLIP.
"""
import argparse
import itertools
import os.path as osp
from typing import Dict, List

import torch
from mmengine.config import DictAction
from mmengine.runner import Runner, load_checkpoint
from rich.console import Console

from mmccr.calibrators import ccr_loss
from mmccr.calibrators.ccr import pair_statistics
from mmccr.engine.hooks.class_set_hook import set_dataset_classes
from mmccr.utils.config import load_config
from mmccr.utils.io import atomic_write_bytes

DEFAULT_CONFIG = 'configs/demo/coop_ccr_toyworld.py'


def build_parser() -> argparse.ArgumentParser:
    """The command-line parser."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', nargs='?', default=DEFAULT_CONFIG,
                        help=f'a training config (default: {DEFAULT_CONFIG})')
    parser.add_argument('--checkpoint', help='a trained prompt to load')
    parser.add_argument('--batches', type=int, default=4,
                        help='training batches to measure (default: 4, one '
                        'toy-world epoch)')
    parser.add_argument('--lambdas', nargs='+', type=float,
                        default=[1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0],
                        help='CCR weights for the gradient ratio')
    parser.add_argument('--eps', nargs='+', type=float,
                        default=[1e-8, 1e-6, 1e-4],
                        help='variance epsilons to compare')
    parser.add_argument('--seed', type=int, default=1,
                        help='few-shot sample and batch order (default: 1)')
    parser.add_argument('--out-dir', default='work_dirs/ccr_mechanics')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='config overrides')
    return parser


def prepare(args: argparse.Namespace):
    """The model (training classes set) and its training batches."""
    cfg = load_config(args.config, args.cfg_options)
    cfg.work_dir = osp.join(args.out_dir, 'runner')
    cfg.log_level = 'WARNING'
    cfg.randomness = dict(seed=args.seed)
    cfg.train_dataloader.dataset.seed = args.seed
    runner = Runner.from_cfg(cfg)
    model = runner.model
    if args.checkpoint:
        load_checkpoint(model, args.checkpoint, map_location='cpu')
    set_dataset_classes(runner, runner.train_dataloader.dataset,
                        training=True)
    batches = []
    for batch in runner.train_dataloader:
        batches.append(model.data_preprocessor(batch, True))
        if len(batches) == args.batches:
            break
    if not batches:
        raise SystemExit(f'{args.config}: the training loader yields no '
                         'batch (too few shots for a full batch with '
                         'drop_last?)')
    return model, batches


def grad_norm(loss: torch.Tensor, params: List[torch.Tensor]) -> float:
    """‖∇loss‖ over ``params`` (0 when the loss does not depend on them)."""
    grads = torch.autograd.grad(loss, params, retain_graph=True,
                                allow_unused=True)
    return float(torch.sqrt(sum((g.double()**2).sum() for g in grads
                                if g is not None)))


def measure_batch(model, data: dict, text_sim: torch.Tensor,
                  args: argparse.Namespace) -> Dict[str, float]:
    """Every measurement of one batch, by name."""
    params = [p for p in model.parameters() if p.requires_grad]
    logits = model(data['inputs'], data['data_samples'], mode='tensor')
    labels = data['data_samples']['gt_label'].to(logits.device)
    out = {'grad_bce': grad_norm(model.loss_fn(logits, labels), params)}
    for float64 in (False, True):
        probs = torch.sigmoid(logits.double() if float64 else logits.float())
        for pairs in ('joint_negative', 'all'):
            _, var_i, _ = pair_statistics(probs, labels, pairs)
            mask = (labels == 0) if pairs == 'joint_negative' else \
                torch.ones_like(labels, dtype=torch.bool)
            joint = mask.float().t() @ mask.float()  # |S_ij|
            off = ~torch.eye(len(joint), dtype=torch.bool)
            tag = f'{pairs},{"f64" if float64 else "f32"}'
            out[f'empty[{tag}]'] = float((joint[off] == 0).float().mean())
            for eps in args.eps:
                out[f'low_pair[{tag},{eps:g}]'] = float(
                    (var_i[off] < eps).float().mean())
                out[f'low_diag[{tag},{eps:g}]'] = float(
                    (torch.diagonal(var_i) < eps).float().mean())
                for normalise in ('pairwise', 'diagonal'):
                    loss = ccr_loss(probs, labels, text_sim, pairs=pairs,
                                    eps=eps, normalise=normalise)
                    key = f'{tag},{eps:g},{normalise}'
                    out[f'ccr[{key}]'] = float(loss.detach())
                    out[f'grad_ccr[{key}]'] = grad_norm(loss, params)
    return out


def variant_rows(mean: Dict[str, float], args: argparse.Namespace) -> list:
    """One row per (pairs, precision, eps, normalise) variant."""
    rows = []
    for pairs, prec, eps, normalise in itertools.product(
            ('joint_negative', 'all'), ('f32', 'f64'), args.eps,
            ('pairwise', 'diagonal')):
        key = f'{pairs},{prec},{eps:g},{normalise}'
        tag = f'{pairs},{prec}'
        grad = mean[f'grad_ccr[{key}]']
        rows.append([pairs, prec, f'{eps:g}', normalise,
                     f'{mean[f"empty[{tag}]"]:.3f}',
                     f'{mean[f"low_pair[{tag},{eps:g}]"]:.3f}',
                     f'{mean[f"low_diag[{tag},{eps:g}]"]:.3f}',
                     f'{mean[f"ccr[{key}]"]:.4g}', f'{grad:.3g}'] +
                    [f'{lam * grad / mean["grad_bce"]:.3g}'
                     for lam in args.lambdas])
    return rows


def markdown(header: List[str], rows: List[List[str]]) -> str:
    """A Markdown table."""
    lines = ['| ' + ' | '.join(header) + ' |',
             '|' + '---|' * len(header)]
    lines += ['| ' + ' | '.join(r) + ' |' for r in rows]
    return '\n'.join(lines) + '\n'


def main() -> None:
    args = build_parser().parse_args()
    console = Console()
    model, batches = prepare(args)
    feats = model.view.zero_shot_features().detach().double()
    text_sim = feats @ feats.t()  # Σ_text, (C, C)
    per_batch = [measure_batch(model, data, text_sim, args)
                 for data in batches]
    mean = {k: sum(b[k] for b in per_batch) / len(per_batch)
            for k in per_batch[0]}
    header = (['pairs', 'σ', 'ε', 'normalise', 'empty S_ij',
               'var_ij<ε', 'C_ii<ε', 'L_ccr', '‖∇L_ccr‖'] +
              [f'λ={lam:g}' for lam in args.lambdas])
    rows = variant_rows(mean, args)
    text = (f'{len(batches)} batches of `{args.config}`, seed {args.seed}'
            f'{", checkpoint " + args.checkpoint if args.checkpoint else ""}'
            f'; mean ‖∇L_bce‖ = {mean["grad_bce"]:.4g} (gradients with '
            'respect to the learnable prompt); λ columns: '
            'λ·‖∇L_ccr‖/‖∇L_bce‖.\n\n' + markdown(header, rows))
    console.print(text, markup=False, highlight=False, soft_wrap=True)
    csv = ','.join(header) + '\n' + '\n'.join(','.join(r) for r in rows)
    for name, content in (('mechanics.md', text), ('mechanics.csv', csv)):
        path = osp.join(args.out_dir, name)
        atomic_write_bytes(path, content.encode('utf-8'))
        console.print(f'written {path}')


if __name__ == '__main__':
    main()
