"""mmccr's runner: mmengine's, with a terminal log a person reads.

The log file keeps every record; the terminal leaves out what only a
record of the run needs (environment, full config, hook order, the
one-line metrics that :class:`~mmccr.engine.hooks.EvaluationReportHook`
prints as a table) and mmengine's own deprecation notices.
"""
import logging
from typing import Optional, Union

from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.runner import Runner

from mmccr.registry import RUNNERS

from .hooks import EvaluationReportHook, RichProgressHook

#: Warnings mmengine 0.10.7 logs about itself, not about mmccr: its
#: ``CheckpointHook.before_train`` and ``runner.checkpoint.save_checkpoint``
#: call the deprecated ``FileClient.infer_client`` whatever the config says
#: (``backend_args`` included), and ``FileClient`` builds a
#: ``HardDiskBackend`` for local paths. mmccr never uses ``FileClient``; no
#: setting short of not saving checkpoints avoids them, so they are dropped.
MMENGINE_DEPRECATIONS = (
    '"FileClient" will be deprecated in future.',
    '"HardDiskBackend" is the alias of "LocalBackend"',
)

#: Terminal-only messages whose start marks them as log-file material.
_FILE_ONLY_STARTS = ('Hooks will be executed in the following order',
                     'Exp name: ')


class DropMMEngineDeprecations(logging.Filter):
    """Drop exactly the warnings of :data:`MMENGINE_DEPRECATIONS`."""

    def filter(self, record: logging.LogRecord) -> bool:
        """False for those two warnings."""
        return not (record.levelno == logging.WARNING
                    and record.getMessage().startswith(MMENGINE_DEPRECATIONS))


class BriefTerminal(logging.Filter):
    """Keep log-file material off the terminal; warnings always pass.

    Left to the log file: the environment and the full config
    (``Runner._log_env``), the hook order, ``Exp name`` lines and, when
    the runner has an :class:`EvaluationReportHook` (which prints the
    metrics as a table), ``LoggerHook``'s one-line metrics of each
    validation and test.

    Args:
        runner (Runner): the runner whose hooks are checked for the table.
    """

    def __init__(self, runner: Runner) -> None:
        super().__init__()
        self.runner = runner

    def filter(self, record: logging.LogRecord) -> bool:
        """False for records only the log file needs."""
        if record.levelno >= logging.WARNING:
            return True
        if record.funcName == '_log_env':
            return False
        if record.module == 'logger_hook' and record.funcName in (
                'after_val_epoch', 'after_test_epoch'):
            return not any(
                isinstance(hook, EvaluationReportHook)
                for hook in self.runner.hooks)
        return not record.getMessage().startswith(_FILE_ONLY_STARTS)


@RUNNERS.register_module()
class MMCCRRunner(Runner):
    """mmengine's ``Runner`` with a brief terminal log.

    Selected by ``runner_type = 'mmccr.MMCCRRunner'`` (set in
    ``configs/_base_/default_runtime.py``); everything but the logger is
    mmengine's. The log file (``<work_dir>/<timestamp>/<timestamp>.log``)
    keeps every record except :data:`MMENGINE_DEPRECATIONS`.
    """

    def build_logger(self,
                     log_level: Union[int, str] = 'INFO',
                     log_file: Optional[str] = None,
                     **kwargs) -> MMLogger:
        """mmengine's logger, with :class:`BriefTerminal` on the terminal."""
        logger = super().build_logger(log_level, log_file, **kwargs)
        if not any(isinstance(f, DropMMEngineDeprecations)
                   for f in logger.filters):
            logger.addFilter(DropMMEngineDeprecations())
        for handler in logger.handlers:
            if type(handler) is logging.StreamHandler:  # not the file's
                handler.addFilter(BriefTerminal(self))
        return logger


def build_runner(cfg: Config,
                 progress: bool = False,
                 description: str = 'run') -> Runner:
    """Build the config's runner (``runner_type``), optionally with a bar.

    Args:
        cfg (Config): a complete config.
        progress (bool): show a :class:`RichProgressHook` bar on the main
            process.
        description (str): the bar's label.

    Returns:
        Runner: the runner.
    """
    runner = RUNNERS.build(cfg)
    if progress and runner.rank == 0:
        runner.register_hook(RichProgressHook(description=description))
    return runner
