"""Evaluate a model: ``python tools/test.py CONFIG [CHECKPOINT]``.

Results go to the work directory (and ``--out``); configs without trainable
parameters (zero-shot) need no checkpoint.
"""
import argparse
import os
import os.path as osp
from typing import List

import torch
from mmengine.config import Config
from mmengine.model import is_model_wrapper

from mmccr.config_errors import explain_build_errors
from mmccr.engine import build_runner, load_checkpoint_file
from mmccr.utils.cli import (
    add_common_args,
    finish_config,
    parse_args,
    set_work_dir,
    show_progress,
)
from mmccr.utils.io import atomic_write_json

CALIBRATOR_CONFIGS = osp.join(
    osp.dirname(osp.dirname(osp.abspath(__file__))), 'configs', '_base_',
    'calibrators')


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description='Test a mmccr model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument(
        'checkpoint',
        nargs='?',
        help='checkpoint file; none for configs without trainable '
        'parameters (zero-shot)')
    parser.add_argument(
        '--out',
        help='also write the metrics to this JSON file (the full results '
        'are in the work dir)')
    parser.add_argument(
        '--plot-dir', help='write reliability diagrams (PNG) to this folder')
    parser.add_argument(
        '--calibrators',
        nargs='+',
        metavar='NAME|FILE',
        help='replace the model\'s calibrators (applied in this order): '
        'names in configs/_base_/calibrators/ (e.g. dac tempscale, or none) '
        'or config files that define `calibrators`')
    parser.add_argument(
        '--amp', action='store_true', help='mixed-precision inference')
    parser.add_argument(
        '--ignore-reference-provenance',
        action='store_true',
        help='compute PIECE against this config\'s training split even if '
        'the checkpoint was trained on another one')
    add_common_args(parser)
    return parser


def load_calibrators(specs: List[str]) -> List[dict]:
    """Calibrator configs from names or files (``--calibrators``)."""
    calibrators = []
    for spec in specs:
        path = spec if spec.endswith('.py') else osp.join(
            CALIBRATOR_CONFIGS, f'{spec}.py')
        if not osp.isfile(path):
            known = sorted(
                osp.splitext(f)[0] for f in os.listdir(CALIBRATOR_CONFIGS))
            raise FileNotFoundError(
                f'--calibrators {spec!r}: no file {path} (known names: '
                f'{", ".join(known)})')
        calibrators += Config.fromfile(path).get('calibrators', [])
    return calibrators


def merge_args(cfg: Config, args: argparse.Namespace) -> Config:
    """Merge command-line arguments into the config."""
    set_work_dir(cfg, args)
    cfg.load_from = args.checkpoint
    if args.amp:
        cfg.test_cfg = dict(cfg.get('test_cfg') or {}, fp16=True)
    for hook in cfg.get('custom_hooks', []):
        if args.plot_dir and hook['type'] == 'EvaluationReportHook':
            hook['plot_dir'] = args.plot_dir
        if args.ignore_reference_provenance and \
                hook['type'] == 'ReferenceFeaturesHook':
            hook['check_provenance'] = False
    cfg = finish_config(cfg, args)  # composes cfg.model
    if args.calibrators:
        cfg.model.calibrators = load_calibrators(args.calibrators)
    return cfg


def check_needs_no_checkpoint(model, config: str) -> None:
    """Without a checkpoint, refuse a model that has trainable parameters.

    Testing it would evaluate randomly initialised prompts.
    """
    model = model.module if is_model_wrapper(model) else model
    trainable = [name for name, p in model.named_parameters()
                 if p.requires_grad]
    if trainable:
        raise ValueError(
            f'{config} has trainable parameters ({", ".join(trainable)}) and '
            'no checkpoint was given, so it would be tested untrained. Pass '
            f'the checkpoint trained with it: python tools/test.py {config} '
            'work_dirs/<config name>/epoch_<N>.pth. Only configs without '
            'trainable parameters (zero-shot, e.g. '
            'configs/demo/zeroshot_toyworld.py) are tested without one.')


def check_checkpoint(model, path: str) -> None:
    """Fail early when a local checkpoint does not fit the model.

    mmengine loads checkpoints non-strictly and only warns, so a checkpoint
    of another configuration (e.g. another ``n_ctx``) would be tested with
    untrained prompts.
    """
    if not osp.isfile(path):
        return  # URLs and missing files are mmengine's to report
    state = load_checkpoint_file(path)
    state = state.get('state_dict', state)
    model = model.module if is_model_wrapper(model) else model
    problems = [f'missing {key}' for key in model.state_dict()
                if key not in state]
    problems += [
        f'{key}: checkpoint {tuple(state[key].shape)}, model '
        f'{tuple(value.shape)}' for key, value in model.state_dict().items()
        if isinstance(value, torch.Tensor) and key in state
        and state[key].shape != value.shape
    ]
    if problems:
        raise ValueError(f'Checkpoint {path} does not fit the model of this '
                         f'config: {"; ".join(problems)}')


def main() -> None:
    args = parse_args(get_parser())
    cfg = merge_args(Config.fromfile(args.config), args)
    with explain_build_errors(cfg):  # config errors name the key path
        runner = build_runner(cfg, show_progress(args),
                              osp.splitext(osp.basename(args.config))[0])
        if args.checkpoint is None:
            check_needs_no_checkpoint(runner.model, args.config)
        else:
            check_checkpoint(runner.model, args.checkpoint)
        metrics = runner.test()
    if args.out and runner.rank == 0:
        atomic_write_json(args.out, metrics)


if __name__ == '__main__':
    main()
