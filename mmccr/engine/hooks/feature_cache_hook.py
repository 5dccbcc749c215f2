"""Use the frozen-feature cache for the datasets of a run."""
from typing import Optional, Union

from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper

from mmccr.datasets.transforms import CachedFeatureInputs
from mmccr.registry import HOOKS

from ..feature_cache import (
    CacheRefused,
    prepare_cache,
    use_cache,
    visual_weights_sha256,
)
from .progress_hook import RichProgressHook


@HOOKS.register_module()
class FeatureCacheHook(Hook):
    """Read frozen image features from the feature cache when it is exact.

    Before training, each validation and testing, the loop's dataset is
    checked (:func:`~mmccr.engine.feature_cache.cache_plan`): when its
    pipeline is deterministic up to a final horizontal flip and the image
    tower is frozen, its features are built once (or read back) and the
    loop's batches skip image loading and the image tower, with the same
    flips, hence the same batches, as without the cache. Otherwise the
    loop runs uncached and the reason is logged (``enabled='auto'``) or
    raised (``enabled=True``).

    Configs set it through the top-level ``feature_cache`` dict, e.g.
    ``--cfg-options feature_cache.enabled=False``
    (``configs/_base_/default_runtime.py``).

    Args:
        enabled (bool | str): ``'auto'`` (cache what can be cached),
            True (refusal is an error) or False (never). Defaults to
            ``'auto'``.
        cache_dir (str, optional): root of the cache folders; defaults to
            ``$MMCCR_CACHE_DIR/features`` (``~/.cache/mmccr/features``).
        dtype (str): ``'float32'`` (exact) or ``'float16'``.
        batch_size (int): images per encoder pass while building.
        max_gib (float): largest store built, in GiB (dense tokens of a
            large test set take tens of GiB); larger ones are refused.
            Defaults to 64.
    """

    priority = 'HIGH'

    def __init__(self,
                 enabled: Union[bool, str] = 'auto',
                 cache_dir: Optional[str] = None,
                 dtype: str = 'float32',
                 batch_size: int = 64,
                 max_gib: float = 64.) -> None:
        if enabled not in (True, False, 'auto'):
            raise ValueError("feature_cache.enabled must be True, False or "
                             f"'auto', got {enabled!r}")
        self.enabled = enabled
        self.cache_dir = cache_dir
        self.dtype = dtype
        self.batch_size = batch_size
        self.max_gib = max_gib
        self._weights = {}  # id(backbone) -> digest of its image tower

    def before_train(self, runner) -> None:
        """Cache the training set."""
        self._prepare(runner, runner.train_dataloader.dataset, 'training')

    def before_val(self, runner) -> None:
        """Cache the validation set."""
        self._prepare(runner, runner.val_dataloader.dataset, 'validation')

    def before_test(self, runner) -> None:
        """Cache the test set."""
        self._prepare(runner, runner.test_dataloader.dataset, 'test')

    def _prepare(self, runner, dataset, phase: str) -> None:
        if not self.enabled or any(
                isinstance(t, CachedFeatureInputs)
                for t in getattr(dataset.pipeline, 'transforms', [])):
            return
        model = runner.model.module if is_model_wrapper(runner.model) \
            else runner.model
        backbone = model.backbone
        if id(backbone) not in self._weights:
            self._weights[id(backbone)] = visual_weights_sha256(backbone)
        progress = next((h.progress for h in runner.hooks
                         if isinstance(h, RichProgressHook)
                         and h.progress.live.is_started), None)
        try:
            name, cached, plan = prepare_cache(
                model, dataset, self.cache_dir, self.dtype, self.batch_size,
                progress, self._weights[id(backbone)], self.max_gib)
        except CacheRefused as err:
            if self.enabled is True:
                raise CacheRefused(
                    f'feature_cache.enabled=True but the {phase} set cannot '
                    f'be cached: {err}') from err
            print_log(f'Feature cache off for the {phase} set: {err}',
                      logger='current')
            return
        use_cache(model, dataset, name, cached, plan)
