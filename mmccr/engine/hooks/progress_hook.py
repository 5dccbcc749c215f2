"""A rich progress bar for training, validation and testing."""
import logging
import sys
from typing import List, Optional, Tuple

from mmengine.hooks import Hook
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from mmccr.registry import HOOKS

#: Columns of a progress display the hook starts itself.
COLUMNS = (TextColumn('{task.description}'), BarColumn(),
           MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn())


@HOOKS.register_module()
class RichProgressHook(Hook):
    """Advance a rich progress bar with the training and test iterations.

    One task counts the training iterations, then the test batches; each
    validation adds a second task for its batches while it runs. A display
    the hook starts itself (``progress=None``) stops after the run, and
    while it runs the runner's terminal log is printed above it.

    Args:
        progress (rich.progress.Progress, optional): a running progress
            display to add the tasks to; a new one is started when None.
        description (str): the tasks' label. Defaults to ``'run'``.
    """

    priority = 'LOWEST'

    def __init__(self, progress: Optional[Progress] = None,
                 description: str = 'run') -> None:
        self.own = progress is None
        self.progress = progress or Progress(*COLUMNS)
        self.description = description
        self.task: Optional[TaskID] = None
        self.val_task: Optional[TaskID] = None
        self._log_streams: List[Tuple[logging.StreamHandler, object]] = []

    def _show(self, runner) -> None:
        """Start an own display; route the terminal log above it."""
        if not self.own or self.progress.live.is_started:
            return
        self.progress.start()
        # The log's terminal handler holds the stdout of its creation; what
        # goes to the current stdout (rich's redirection) is printed above
        # the bar.
        for handler in runner.logger.handlers:
            if type(handler) is logging.StreamHandler:
                self._log_streams.append(
                    (handler, handler.setStream(sys.stdout)))

    def _start(self, runner, phase: str, total: int) -> None:
        self._show(runner)
        label = f'{self.description} [dim]{phase}'
        if self.task is None:
            self.task = self.progress.add_task(label, total=total)
        else:
            self.progress.reset(self.task, total=total, description=label)

    def before_train(self, runner) -> None:
        """Count training iterations."""
        self._start(runner, 'train', runner.max_iters - runner.iter)

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        """One training step done."""
        self.progress.advance(self.task)

    def before_val(self, runner) -> None:
        """Count this validation's batches."""
        self._show(runner)
        self.val_task = self.progress.add_task(
            f'{self.description} [dim]val', total=len(runner.val_dataloader))

    def after_val_iter(self, runner, batch_idx, data_batch=None,
                       outputs=None) -> None:
        """One validation batch done."""
        self.progress.advance(self.val_task)

    def after_val(self, runner) -> None:
        """Remove the validation's task."""
        self.progress.remove_task(self.val_task)
        self.val_task = None

    def before_test(self, runner) -> None:
        """Count test iterations."""
        self._start(runner, 'test', len(runner.test_dataloader))

    def after_test_iter(self, runner, batch_idx, data_batch=None,
                        outputs=None) -> None:
        """One test batch done."""
        self.progress.advance(self.task)

    def after_run(self, runner) -> None:
        """Stop a display this hook started; give the log its stream back."""
        if not self.own or not self.progress.live.is_started:
            return
        self.progress.stop()
        for handler, stream in self._log_streams:
            handler.setStream(stream)
        self._log_streams = []
