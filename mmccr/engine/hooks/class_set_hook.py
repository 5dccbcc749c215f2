"""Tell the model which classes the current loop predicts."""
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import BaseLoop

from mmccr.registry import HOOKS


def _unwrap(runner):
    model = runner.model
    return model.module if is_model_wrapper(model) else model


def set_dataset_classes(runner, dataset, training: bool = False) -> None:
    """Make the model predict the classes of ``dataset``.

    The names are the metainfo's ``prompt_names`` (else ``classes``). The
    base classes (those the prompts were trained on) are the training
    classes: while training they are recorded in the model (and kept in
    its checkpoints' ``meta`` by :class:`ClassSetHook`); a model that
    never trained falls back to the metainfo's ``base_prompt_names``, else
    to the names themselves.
    """
    model = _unwrap(runner)
    meta = dataset.metainfo
    names = meta.get('prompt_names') or meta.get('classes')
    if not names:
        raise ValueError(
            f'{type(dataset).__name__} has no class names in its metainfo '
            "('prompt_names' or 'classes').")
    if training:
        model.train_classnames = list(names)
    base = model.train_classnames or meta.get('base_prompt_names') or names
    model.set_classes(names, base)


def check_optimizer_covers(model, optim_wrapper) -> None:
    """Stop when a trainable parameter is missing from the optimizer.

    The optimizer is built before the classes are set; a parameter that a
    learner creates in ``set_classes`` (or any time after ``__init__``)
    would silently keep its initial value.

    Raises:
        RuntimeError: naming the parameters and the fix.
    """
    optimizers = getattr(optim_wrapper, 'optim_wrappers', None)
    wrappers = optimizers.values() if optimizers else [optim_wrapper]
    known = {id(p) for w in wrappers for group in w.optimizer.param_groups
             for p in group['params']}
    missing = [name for name, p in model.named_parameters()
               if p.requires_grad and id(p) not in known]
    if missing:
        raise RuntimeError(
            f'Trainable parameters {missing} are not in the optimizer, so '
            'they would never change: the optimizer is built before the '
            'classes are set. Create every parameter in the learner\'s '
            '__init__ (take the number of classes from the config, e.g. '
            'num_classes), not in set_classes().')


def set_loop_classes(runner, loop, training: bool = False) -> None:
    """Make the model predict the classes of ``loop``'s dataset."""
    set_dataset_classes(runner, loop.dataloader.dataset, training)


@HOOKS.register_module()
class ClassSetHook(Hook):
    """Switch the model's classes between training and evaluation.

    Training predicts the training dataset's classes (e.g. the base
    classes); validation and testing predict their dataset's classes (e.g.
    base and new). The names come from the dataset metainfo
    (``prompt_names``, else ``classes``) and go to ``model.set_classes``.
    """

    priority = 'VERY_HIGH'

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Keep the training classes in the checkpoint's meta."""
        checkpoint.setdefault('meta', {})['train_classnames'] = list(
            _unwrap(runner).train_classnames)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Restore the training classes of a loaded checkpoint."""
        names = (checkpoint.get('meta') or {}).get('train_classnames')
        if names:
            _unwrap(runner).train_classnames = list(names)

    def before_train(self, runner) -> None:
        """Predict the training classes; every trainable tensor must train."""
        set_loop_classes(runner, runner.train_loop, training=True)
        check_optimizer_covers(_unwrap(runner), runner.optim_wrapper)

    def before_val(self, runner) -> None:
        """Predict the validation classes."""
        set_loop_classes(runner, runner.val_loop)

    def after_val(self, runner) -> None:
        """Back to the training classes when validating during training."""
        if isinstance(runner._train_loop, BaseLoop):
            set_loop_classes(runner, runner.train_loop)

    def before_test(self, runner) -> None:
        """Predict the test classes."""
        set_loop_classes(runner, runner.test_loop)
