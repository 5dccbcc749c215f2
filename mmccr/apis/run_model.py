"""A finished grid run's model, rebuilt for analysis (figures).

A store record names the run's config, overrides, checkpoint and test
results file; :func:`load_run_model` builds the model with the trained
prompts and the test classes, :func:`text_features` and
:func:`image_features` give the embeddings the geometry figures plot.
"""
import json
from typing import Dict, List, Optional, Tuple

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from torch import Tensor
from torch.utils.data import Subset

from mmccr.engine import load_checkpoint_file
from mmccr.engine.dataset_pass import dataset_pass
from mmccr.registry import DATASETS, MODELS

from .runs import seeded_config


def run_config_of_record(record: dict, work_dir: str) -> Config:
    """The config a stored run used (seed and every override)."""
    options = dict(record.get('cfg_options') or {})
    options.update(record.get('extra_options') or {})
    return seeded_config(record['config'], work_dir, record['seed'], options)


def load_run_model(record: dict, work_dir: str) -> Tuple[object, Config,
                                                          dict]:
    """Build a stored run's model with its trained prompts.

    Args:
        record (dict): a ``done`` record of a grid results store.
        work_dir (str): scratch folder (nothing is trained).

    Returns:
        tuple: the model in eval mode with the test classes set, its
        config, and the run's test results (``classes``, ``groups``,
        ``per_class``, ``metrics``).

    Raises:
        ValueError: the record is not a finished run, or the checkpoint
            lacks a trainable parameter of the model.
    """
    if record.get('status') != 'done' or not record.get('results_file'):
        raise ValueError(f'run {record.get("run")} has no finished test '
                         '(status done, results_file); rerun it with '
                         'tools/run_grid.py')
    cfg = run_config_of_record(record, work_dir)
    init_default_scope(cfg.get('default_scope', 'mmccr'))
    model = MODELS.build(cfg.model)
    if record.get('checkpoint'):
        state = load_checkpoint_file(record['checkpoint'])
        state = state.get('state_dict', state)
        trainable = [n for n, p in model.named_parameters()
                     if p.requires_grad]
        missing = [n for n in trainable if n not in state]
        if missing:
            raise ValueError(f'{record["checkpoint"]} (run {record["run"]}) '
                             f'lacks {", ".join(missing)}: it is not the '
                             'checkpoint of this config')
        model.load_state_dict(state, strict=False)
    with open(record['results_file'], encoding='utf-8') as f:
        results = json.load(f)
    classes = results['classes']
    base = [classes[i] for i in results['groups']['base']] \
        if 'base' in (results.get('groups') or {}) else classes
    model.set_classes(classes, base)
    model.eval()
    return model, cfg, results


@torch.no_grad()
def text_features(model, names: Optional[List[str]] = None) -> \
        Dict[str, Tensor]:
    """Zero-shot and tuned text embeddings ``(C, D)`` of ``names`` (the
    model's classes by default).

    Raises:
        ValueError: the learner has no prompt for arbitrary names
            (class-specific context).
    """
    names = model.classnames if names is None else list(names)
    if not model.learner.can_encode_names:
        raise ValueError(f'{type(model.learner).__name__} with this config '
                         'cannot encode class names through its prompts '
                         '(class-specific context); the text geometry needs '
                         'a unified context')
    return dict(zero_shot=model.view.zero_shot_features(names).float(),
                tuned=model.view.tuned_features(names).float())


def image_features(model, cfg: Config, max_images: int,
                   batch_size: int = 64) -> Dict[str, Tensor]:
    """Image embeddings ``(N, D)`` and labels ``(N, C)`` of the first
    ``max_images`` test images."""
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    subset = Subset(dataset, range(min(max_images, len(dataset))))
    return dataset_pass(
        model, subset, lambda data: dict(
            images=model.extract_feat(data['inputs']).pooled,
            labels=data['data_samples']['gt_label']), batch_size)
