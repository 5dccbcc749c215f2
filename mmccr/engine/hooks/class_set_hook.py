"""Tell the model which classes the current loop predicts."""
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import BaseLoop

from mmccr.registry import HOOKS


def _set_classes(runner, loop) -> None:
    model = runner.model.module if is_model_wrapper(runner.model) \
        else runner.model
    meta = loop.dataloader.dataset.metainfo
    names = meta.get('prompt_names') or meta.get('classes')
    if not names:
        raise ValueError(
            f'{type(loop.dataloader.dataset).__name__} has no class names in '
            "its metainfo ('prompt_names' or 'classes').")
    model.set_classes(names)


@HOOKS.register_module()
class ClassSetHook(Hook):
    """Switch the model's classes between training and evaluation.

    Training predicts the training dataset's classes (e.g. the base
    classes); validation and testing predict their dataset's classes (e.g.
    base and new). The names come from the dataset metainfo
    (``prompt_names``, else ``classes``) and go to ``model.set_classes``.
    """

    priority = 'VERY_HIGH'

    def before_train(self, runner) -> None:
        """Predict the training classes."""
        _set_classes(runner, runner.train_loop)

    def before_val(self, runner) -> None:
        """Predict the validation classes."""
        _set_classes(runner, runner.val_loop)

    def after_val(self, runner) -> None:
        """Back to the training classes when validating during training."""
        if isinstance(runner._train_loop, BaseLoop):
            _set_classes(runner, runner.train_loop)

    def before_test(self, runner) -> None:
        """Predict the test classes."""
        _set_classes(runner, runner.test_loop)
