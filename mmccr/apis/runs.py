"""Run one config: :func:`seeded_config` loads it for a seed,
:func:`execute` trains (when it trains) and tests.

The grid runner (:mod:`mmccr.apis.grid_runner`) runs every experiment of
mmccr's tools through these two functions; it keeps the results.
"""
from typing import Optional

from mmengine.config import Config
from rich.progress import Progress

from mmccr.config_errors import explain_build_errors
from mmccr.engine import MMCCRRunner as Runner  # brief terminal log
from mmccr.engine.hooks import RichProgressHook
from mmccr.utils.config import finalize

from .stages import prepare_stages


def seeded_config(config: str,
                  work_dir: str,
                  seed: Optional[int] = None,
                  cfg_options: Optional[dict] = None,
                  quiet: bool = True,
                  plot_dir: Optional[str] = None) -> Config:
    """Load ``config`` for one run.

    Args:
        config (str): config file.
        work_dir (str): the run's work directory.
        seed (int, optional): sets the run's random seed and the few-shot
            sample's seed (``train_dataloader.dataset.seed``).
        cfg_options (dict, optional): overrides, as for ``--cfg-options``.
        quiet (bool): log warnings only (the progress bar shows progress).
        plot_dir (str, optional): reliability diagrams of the test go here
            (``EvaluationReportHook``'s ``plot_dir``).
    """
    cfg = Config.fromfile(config)
    cfg.work_dir = work_dir
    if seed is not None:
        cfg.randomness = dict(cfg.get('randomness') or {}, seed=seed)
        if cfg.get('train_dataloader'):
            cfg.train_dataloader.dataset.seed = seed
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    finalize(cfg)
    if quiet:
        cfg.log_level = 'WARNING'
    if plot_dir:
        for hook in cfg.get('custom_hooks', []):
            if hook['type'] == 'EvaluationReportHook':
                hook['plot_dir'] = plot_dir
    return cfg


def execute(cfg: Config,
            progress: Optional[Progress] = None,
            description: str = 'run',
            train: bool = True) -> dict:
    """Build the runner, train (when the config trains and ``train``) and
    test; no caching.

    Args:
        cfg (Config): from :func:`seeded_config`; with ``train=False`` its
            ``load_from`` names the checkpoint to test.
        progress (rich.progress.Progress, optional): shows the run's
            iterations.
        description (str): the run's label on the progress bar.
        train (bool): train first when the config has ``train_cfg``.

    Returns:
        dict: metric name → value (fractions, not ×100).
    """
    prepare_stages(cfg)  # two-stage methods: stage 1 first
    with explain_build_errors(cfg):  # config errors name the key path
        runner = Runner.from_cfg(cfg)
        if progress is not None:
            runner.register_hook(RichProgressHook(progress, description),
                                 priority='LOWEST')
        if train and cfg.get('train_cfg'):
            runner.train()
        return runner.test()
