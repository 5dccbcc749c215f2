"""Command-line arguments shared by the train and test tools."""
import argparse
import os
import os.path as osp
import sys

from mmengine.config import Config, DictAction

from .config import finalize
from .dist import init_cpu_distributed
from .imports import import_custom_modules


def add_common_args(parser: argparse.ArgumentParser) -> None:
    """Add ``--work-dir``, ``--cfg-options``, ``--no-progress``,
    ``--launcher`` and ``--local-rank``."""
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config entries, e.g. '
        'train_dataloader.dataset.num_shots=4')
    parser.add_argument(
        '--no-progress',
        action='store_true',
        help='no progress bar (there is none when stdout is not a terminal)')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def parse_args(parser: argparse.ArgumentParser) -> argparse.Namespace:
    """Parse, exporting ``LOCAL_RANK`` for old-style launchers."""
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def show_progress(args: argparse.Namespace) -> bool:
    """A progress bar unless ``--no-progress`` or stdout is not a terminal.
    """
    return not args.no_progress and sys.stdout.isatty()


def set_work_dir(cfg: Config, args: argparse.Namespace) -> None:
    """Command line > config's ``work_dir`` > ``work_dirs/<config name>``."""
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])


def finish_config(cfg: Config, args: argparse.Namespace) -> Config:
    """Apply ``--cfg-options`` last, finalize the config
    (:func:`~mmccr.utils.config.finalize`), then start gloo for CPU
    launches.

    ``custom_imports`` are imported again after the options are merged, so
    that ``--cfg-options custom_imports.imports=[...]`` takes effect.
    """
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    import_custom_modules(cfg.get('custom_imports'))
    finalize(cfg)
    if init_cpu_distributed(cfg.launcher):
        cfg.env_cfg.dist_cfg = dict(backend='gloo')
    return cfg
