"""Training-image features for proximity-aware metrics (PIECE)."""
import numpy as np
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper

from mmccr.datasets.build import build_eval_dataset, training_loader_cfg
from mmccr.engine.provenance import check_split_provenance, split_provenance
from mmccr.registry import HOOKS

from ..dataset_pass import dataset_pass


@HOOKS.register_module()
class ReferenceFeaturesHook(Hook):
    """Give PIECE the frozen image features of the training images.

    Before validation or testing, when an evaluator metric has
    ``needs_reference_features``, the images of ``train_dataloader``'s
    dataset (the few-shot sample; ``reference_dataloader`` in configs that
    do not train on images: zero-shot CLIP and text-trained learners, see
    :func:`~mmccr.datasets.build.training_loader_cfg`) are run through the
    frozen image encoder
    with the evaluation pipeline, and the features are stored on the
    metric as ``reference_features`` ``(M, D)``. The pass is sharded over
    the ranks and gathered, so every rank holds the same features.
    Without a training dataloader in the config, metrics fall back to the
    evaluation set itself.

    Checkpoints record the reference split (``meta['train_split']``: the
    training images, or the ``reference_dataloader`` sample; see
    :mod:`mmccr.engine.provenance`); a loaded checkpoint's record is checked
    against the set rebuilt from the config, which stops on a mismatch.

    Args:
        batch_size (int): batch size of the feature pass. Defaults to 64.
        check_provenance (bool): stop when the rebuilt reference set is not
            the loaded checkpoint's training split. Defaults to True.
    """

    priority = 'HIGH'

    def __init__(self,
                 batch_size: int = 64,
                 check_provenance: bool = True) -> None:
        self.batch_size = batch_size
        self.check_provenance = check_provenance
        self._cache = None
        self._reference = None  # the built reference dataset
        self._train_split = None  # provenance of the reference split

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Record the reference split in the checkpoint's meta."""
        if self._train_split is None:
            reference = runner.train_dataloader.dataset
            if runner.cfg.get('reference_dataloader'):
                reference = self._reference_set(
                    runner.cfg.reference_dataloader, [])
            self._train_split = split_provenance(reference)
        checkpoint.setdefault('meta', {})['train_split'] = self._train_split

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Keep the loaded checkpoint's training split for the check."""
        self._train_split = (checkpoint.get('meta') or {}).get('train_split')

    def before_val(self, runner) -> None:
        """Features for the validation metrics."""
        self._provide(runner, runner.val_loop)

    def before_test(self, runner) -> None:
        """Features for the test metrics."""
        self._provide(runner, runner.test_loop)

    def _provide(self, runner, loop) -> None:
        metrics = [
            m for m in loop.evaluator.metrics
            if getattr(m, 'needs_reference_features', False)
        ]
        train_cfg = training_loader_cfg(runner.cfg)
        if not metrics or not train_cfg:
            return
        feats = self._features(runner, train_cfg,
                               loop.dataloader.dataset.pipeline)
        for metric in metrics:
            metric.reference_features = feats

    def _reference_set(self, loader_cfg, pipeline):
        """The reference dataset (built once) with ``pipeline``."""
        if self._reference is None:
            self._reference = build_eval_dataset(loader_cfg['dataset'], [])
        self._reference.pipeline = pipeline
        return self._reference

    def _features(self, runner, train_cfg, eval_pipeline) -> np.ndarray:
        # Frozen encoder: the features never change, so compute them once.
        if self._cache is not None:
            return self._cache
        dataset = self._reference_set(train_cfg, eval_pipeline)
        if self.check_provenance:
            check_split_provenance(self._train_split,
                                   split_provenance(dataset))
        model = runner.model.module if is_model_wrapper(runner.model) \
            else runner.model
        out = dataset_pass(
            model, dataset,
            lambda data: dict(
                feats=model.extract_feat(data['inputs']).pooled),
            self.batch_size)
        self._cache = out['feats'].numpy().astype(np.float64)
        self._reference = None  # the features are all that is needed
        print_log(
            f'Reference features for PIECE: {len(self._cache)} training '
            'images', logger='current')
        return self._cache
