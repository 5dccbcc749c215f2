"""Compose the model config from separate backbone, learner and calibrator
bases.

A leaf config lists one base per axis (``_base_/backbones/*.py``,
``_base_/learners/*.py``, ``_base_/calibrators/*.py``, a dataset, a
schedule). mmengine refuses two bases that set the same top-level key, so
each axis sets its own key (``backbone``, ``learner``, ``loss``,
``calibrators``) and :func:`compose_model` puts them into ``model``: N
learners × M backbones need N + M base files, not N × M.
"""
import copy

from mmengine.config import Config, ConfigDict

#: Top-level keys that fill the model config.
MODEL_PARTS = ('backbone', 'learner', 'loss', 'calibrators')


def compose_model(cfg: Config) -> Config:
    """Move the top-level model parts into ``cfg.model``.

    For each of :data:`MODEL_PARTS` present at the top level, the part
    becomes ``cfg.model[part]``; entries the config already sets under
    ``model`` win (dicts are merged key by key), so both
    ``--cfg-options learner.n_ctx=8`` and ``model.learner.n_ctx=8`` work
    (and ``model.calibrators.0.loss_weight=...`` indexes the list).
    The top-level keys are removed afterwards: ``cfg.model`` is the single
    place the Runner reads. Idempotent.

    Args:
        cfg (Config): a loaded config (after ``--cfg-options``).

    Returns:
        Config: the same object, composed.
    """
    parts = {k: cfg.pop(k) for k in MODEL_PARTS if k in cfg}
    if not parts:
        return cfg
    model = cfg.get('model') or ConfigDict()
    model.setdefault('type', 'PromptClassifier')
    for key, value in parts.items():
        own = model.get(key)
        if own is None:
            model[key] = value
        elif isinstance(own, dict) and own.pop('_delete_', False):
            continue  # the model's own entry replaces the part
        elif isinstance(own, dict):  # overrides, also '0'-style list indices
            model[key] = Config._merge_a_into_b(
                copy.deepcopy(own), copy.deepcopy(value), allow_list_keys=True)
    cfg.model = model
    return cfg


#: A dataset field that names another config entry instead of copying it.
TRAINING_SAMPLE = 'train_dataloader.dataset'
#: A reference-image seed that follows the training sample's seed.
TRAINING_SEED = 'train_dataloader.dataset.seed'


def resolve_references(cfg: Config) -> Config:
    """Replace ``exclude_images_of='train_dataloader.dataset'`` by that
    dataset's config, and ``reference_dataloader.dataset.seed=
    'train_dataloader.dataset.seed'`` by that seed, after
    ``--cfg-options``.

    A domain-generalization test set drops the images of the few-shot
    training sample. Naming the sample (rather than copying it with
    ``_base_.train_dataloader.dataset`` when the file is read) makes
    ``--cfg-options train_dataloader.dataset.seed=3`` reach both.
    """
    for loader in ('val_dataloader', 'test_dataloader'):
        dataset = (cfg.get(loader) or {}).get('dataset') or {}
        if dataset.get('exclude_images_of') == TRAINING_SAMPLE:
            train = (cfg.get('train_dataloader') or {}).get('dataset')
            if train is None:
                raise ValueError(
                    f'{loader}.dataset.exclude_images_of names '
                    f'{TRAINING_SAMPLE!r} but the config has no '
                    'train_dataloader.')
            dataset['exclude_images_of'] = copy.deepcopy(train)
    reference = (cfg.get('reference_dataloader') or {}).get('dataset') or {}
    if reference.get('seed') == TRAINING_SEED:
        # Text-trained learners: the image sample of PIECE and of held-out
        # fitting is drawn with the training run's seed.
        train = (cfg.get('train_dataloader') or {}).get('dataset') or {}
        reference['seed'] = train.get('seed', 1)
    return cfg


def apply_feature_cache(cfg: Config) -> Config:
    """Move the top-level ``feature_cache`` dict into ``FeatureCacheHook``.

    ``feature_cache.enabled=False`` (or ``dtype``, ``cache_dir``) is then
    one ``--cfg-options`` entry instead of a list index into
    ``custom_hooks``. The hook is added when the config has none.
    Idempotent.
    """
    options = cfg.pop('feature_cache', None)
    if options is None:
        return cfg
    hooks = list(cfg.get('custom_hooks') or [])
    hook = next((h for h in hooks if h.get('type') == 'FeatureCacheHook'),
                None)
    if hook is None:
        hook = ConfigDict(type='FeatureCacheHook')
        hooks.append(hook)
    hook.update(options)
    cfg.custom_hooks = hooks
    return cfg


def apply_amp(cfg: Config, cuda: bool) -> str:
    """``--amp``: the frozen towers under autocast, the rest in float32.

    On a GPU the backbone's ``precision`` becomes ``'bf16'`` where the GPU
    supports it, else ``'fp16'``, whose gradients into the prompts also
    get mmengine's dynamic loss scaling (``AmpOptimWrapper``, which
    autocasts the whole forward). On a CPU nothing changes: bf16 sped up
    only the image tower there (1.5x; the text tower 1.0x), which the
    feature cache runs once per image, and its effect on the metrics is
    not established (docs/performance.md).

    Args:
        cfg (Config): a finalized config (``cfg.model.backbone``).
        cuda (bool): whether the run uses a GPU.

    Returns:
        str: the precision chosen (``'fp32'`` on a CPU).
    """
    if not cuda:
        return 'fp32'
    import torch
    precision = 'bf16' if torch.cuda.is_bf16_supported() else 'fp16'
    cfg.model.backbone.precision = precision
    if precision == 'fp16':
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    return precision


def finalize(cfg: Config) -> Config:
    """Everything done to a config after ``--cfg-options``:
    :func:`compose_model`, :func:`resolve_references` and
    :func:`apply_feature_cache`."""
    return apply_feature_cache(resolve_references(compose_model(cfg)))


def load_config(path: str, cfg_options: dict = None) -> Config:
    """``Config.fromfile`` + ``--cfg-options`` + :func:`finalize`."""
    cfg = Config.fromfile(path)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return finalize(cfg)
