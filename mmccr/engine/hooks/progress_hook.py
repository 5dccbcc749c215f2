"""A rich progress bar for training and testing."""
from typing import Optional

from mmengine.hooks import Hook
from rich.progress import Progress, TaskID

from mmccr.registry import HOOKS


@HOOKS.register_module()
class RichProgressHook(Hook):
    """Advance a rich progress bar with the training and test iterations.

    Args:
        progress (rich.progress.Progress, optional): a running progress
            display to add the task to; a new one is started when None.
        description (str): the task's label. Defaults to ``'run'``.
    """

    priority = 'LOWEST'

    def __init__(self, progress: Optional[Progress] = None,
                 description: str = 'run') -> None:
        self.own = progress is None
        self.progress = progress or Progress()
        self.description = description
        self.task: Optional[TaskID] = None

    def _start(self, phase: str, total: int) -> None:
        if self.own and not self.progress.live.is_started:
            self.progress.start()
        label = f'{self.description} [dim]{phase}'
        if self.task is None:
            self.task = self.progress.add_task(label, total=total)
        else:
            self.progress.reset(self.task, total=total, description=label)

    def before_train(self, runner) -> None:
        """Count training iterations."""
        self._start('train', runner.max_iters - runner.iter)

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        """One training step done."""
        self.progress.advance(self.task)

    def before_test(self, runner) -> None:
        """Count test iterations."""
        self._start('test', len(runner.test_dataloader))

    def after_test_iter(self, runner, batch_idx, data_batch=None,
                        outputs=None) -> None:
        """One test batch done."""
        self.progress.advance(self.task)

    def after_test(self, runner) -> None:
        """Stop a progress display this hook started."""
        if self.own:
            self.progress.stop()
