"""Two-stage methods: a config that starts from another config's result.

TaI++ pre-trains pseudo-visual prompts (stage 1) and co-learns everything
else from them (stage 2). A stage-2 config names its stage-1 config in
``load_from_config``. With ``load_from`` set, that checkpoint is loaded
as usual; with ``load_from=None``, stage 1 is trained first, with the
same seed, into ``<work_dir>/stage1``, and its last checkpoint becomes
``load_from``. Each seed of a comparison thus chains its own two stages.
"""
import os
import os.path as osp

from mmengine.config import Config
from mmengine.logging import print_log

from mmccr.config_errors import explain_build_errors
from mmccr.engine import MMCCRRunner as Runner
from mmccr.utils.config import finalize

#: Sub-folder of a stage-2 work dir that holds its stage-1 run.
STAGE1_DIR = 'stage1'


def stage1_config(cfg: Config) -> Config:
    """The stage-1 config of a stage-2 ``cfg``, with its seed and folder."""
    path = cfg.load_from_config
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'load_from_config {path!r} (the stage-1 config of this '
            'two-stage method) does not exist; give the path from the '
            'repository root, or set load_from to a stage-1 checkpoint.')
    stage1 = Config.fromfile(path)
    stage1.work_dir = osp.join(cfg.work_dir, STAGE1_DIR)
    seed = (cfg.get('randomness') or {}).get('seed')
    if seed is not None:
        stage1.randomness = dict(stage1.get('randomness') or {}, seed=seed)
    train_seed = cfg.train_dataloader.dataset.get('seed')
    if train_seed is not None:
        stage1.train_dataloader.dataset.seed = train_seed
    stage1.log_level = cfg.get('log_level', 'INFO')
    return finalize(stage1)


def prepare_stages(cfg: Config) -> Config:
    """Train stage 1 when a stage-2 ``cfg`` has no ``load_from`` yet.

    Args:
        cfg (Config): a finalized config with ``work_dir``.

    Returns:
        Config: ``cfg``, its ``load_from`` set to stage 1's last checkpoint
        when it was empty.
    """
    if not cfg.get('load_from_config') or cfg.get('load_from') or \
            cfg.get('resume'):
        return cfg
    stage1 = stage1_config(cfg)
    last = osp.join(stage1.work_dir, 'last_checkpoint')
    if not osp.isfile(last):
        if int(os.environ.get('WORLD_SIZE', '1')) > 1:
            raise RuntimeError(
                f'Stage 1 ({cfg.load_from_config}) must be trained before a '
                f'distributed stage-2 run: python tools/train.py '
                f'{cfg.load_from_config} --work-dir {stage1.work_dir}, then '
                f'set load_from to its last checkpoint.')
        print_log(f'Training stage 1 ({cfg.load_from_config}) into '
                  f'{stage1.work_dir}', logger='current')
        with explain_build_errors(stage1):
            Runner.from_cfg(stage1).train()
    with open(last, encoding='utf-8') as f:
        cfg.load_from = f.read().strip()
    print_log(f'Stage 2 starts from {cfg.load_from}', logger='current')
    return cfg
