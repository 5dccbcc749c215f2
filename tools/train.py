"""Train a model: ``python tools/train.py CONFIG [options]``.

HF_HUB_OFFLINE is left as the user set it; open_clip (and so
huggingface_hub) is imported only when the backbone is built.
"""
import argparse
import logging
import os.path as osp

import torch
from mmengine.config import Config
from mmengine.logging import print_log

from mmccr.apis import prepare_stages
from mmccr.config_errors import explain_build_errors
from mmccr.engine import build_runner
from mmccr.utils.cli import (
    add_common_args,
    finish_config,
    parse_args,
    set_work_dir,
    show_progress,
)
from mmccr.utils.config import apply_amp


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description='Train a mmccr model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from PATH, or from the latest checkpoint in the work '
        'dir when no PATH is given')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='frozen CLIP towers in bf16/fp16 autocast on GPU (prompts, '
        'losses and metrics stay float32); ignored on CPU')
    parser.add_argument(
        '--no-validate',
        action='store_true',
        help='do not evaluate during training')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the learning rate with the total batch size')
    add_common_args(parser)
    return parser


def merge_args(cfg: Config, args: argparse.Namespace) -> Config:
    """Merge command-line arguments into the config."""
    set_work_dir(cfg, args)
    if args.no_validate:
        cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume is not None:
        cfg.resume, cfg.load_from = True, args.resume
    if args.auto_scale_lr:
        cfg.auto_scale_lr.enable = True
    cfg = finish_config(cfg, args)
    if args.amp and apply_amp(cfg, torch.cuda.is_available()) == 'fp32':
        print_log('--amp is ignored on CPU: bf16 autocast sped up only the '
                  'image tower (which the feature cache runs once) and its '
                  'effect on the metrics is not established '
                  '(docs/performance.md).',
                  logger='current', level=logging.WARNING)
    return cfg


def main() -> None:
    args = parse_args(get_parser())
    cfg = prepare_stages(merge_args(Config.fromfile(args.config), args))
    with explain_build_errors(cfg):  # config errors name the key path
        runner = build_runner(cfg, show_progress(args),
                              osp.splitext(osp.basename(args.config))[0])
        runner.train()


if __name__ == '__main__':
    main()
