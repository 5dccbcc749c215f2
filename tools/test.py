"""Evaluate a checkpoint: ``python tools/test.py CONFIG CHECKPOINT``."""
import argparse

from mmengine.config import Config
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

import mmccr  # noqa: F401  (atomic checkpoint writes)
from mmccr.utils.cli import (
    add_common_args,
    finish_config,
    parse_args,
    set_work_dir,
)
from mmccr.utils.io import atomic_write_json


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description='Test a mmccr model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', help='write the metrics to this JSON file')
    parser.add_argument(
        '--plot-dir', help='write reliability diagrams (PNG) to this folder')
    parser.add_argument(
        '--amp', action='store_true', help='mixed-precision inference')
    add_common_args(parser)
    return parser


def merge_args(cfg: Config, args: argparse.Namespace) -> Config:
    """Merge command-line arguments into the config."""
    set_work_dir(cfg, args)
    cfg.load_from = args.checkpoint
    if args.amp:
        cfg.test_cfg = dict(cfg.get('test_cfg') or {}, fp16=True)
    if args.plot_dir:
        for hook in cfg.get('custom_hooks', []):
            if hook['type'] == 'EvaluationReportHook':
                hook['plot_dir'] = args.plot_dir
    return finish_config(cfg, args)


def main() -> None:
    args = parse_args(get_parser())
    cfg = merge_args(Config.fromfile(args.config), args)
    runner = RUNNERS.build(cfg) if 'runner_type' in cfg else \
        Runner.from_cfg(cfg)
    metrics = runner.test()
    if args.out and runner.rank == 0:
        atomic_write_json(args.out, metrics)


if __name__ == '__main__':
    main()
