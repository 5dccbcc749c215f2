"""Fit post-hoc calibrators (temperature scaling) before evaluation."""
import copy
import json
import logging
import os
import os.path as osp
from typing import Optional, Tuple

from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from torch import Tensor

from mmccr.datasets.build import build_eval_dataset, training_loader_cfg
from mmccr.registry import HOOKS
from mmccr.utils.digest import file_sha256, plain
from mmccr.utils.io import atomic_write_json

from ..dataset_pass import dataset_pass
from .class_set_hook import set_dataset_classes, set_loop_classes


@HOOKS.register_module()
class CalibratorFitHook(Hook):
    """Fit the model's ``needs_fit`` calibrators on held-out images.

    Before every validation and test, each calibrator with ``needs_fit``
    (e.g. :class:`~mmccr.calibrators.TemperatureScaling`) is fitted on the
    logits of held-out images, after the calibrators before it in
    ``model.calibrators``. The held-out set is:

    * ``fit_dataloader.dataset`` of the config, if there is one;
    * otherwise a second few-shot sample of ``train_dataloader``'s dataset
      (``reference_dataloader`` in configs that do not train), drawn
      with ``seed + seed_offset``, with every image of the training sample
      removed. Its classes are the training classes.

    For ``tools/test.py`` (a checkpoint is loaded) the fitted state is
    written beside the checkpoint as
    ``<checkpoint>_calib<i>_<Type>.json`` and reused by later runs when the
    calibrator config, the calibrators before it and the fitting data are
    unchanged and the checkpoint file is the same (SHA-256); otherwise it
    is refitted and the file replaced.

    Args:
        seed_offset (int): few-shot seed offset of the default held-out
            sample. Defaults to 1000.
        batch_size (int): batch size of the logit pass. Defaults to 64.
    """

    priority = 'HIGH'  # after ClassSetHook

    def __init__(self, seed_offset: int = 1000, batch_size: int = 64) -> None:
        self.seed_offset = seed_offset
        self.batch_size = batch_size

    def before_val(self, runner) -> None:
        """Refit for this validation (prompts changed since the last)."""
        self._fit(runner, runner.val_loop, checkpoint=None)

    def before_test(self, runner) -> None:
        """Fit, or load the state stored beside the tested checkpoint."""
        self._fit(runner, runner.test_loop, runner._load_from)

    def _fit(self, runner, loop, checkpoint: Optional[str]) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) \
            else runner.model
        targets = [i for i, c in enumerate(model.calibrators) if c.needs_fit]
        if not targets:
            return
        dataset = self.fit_dataset(runner, loop)
        meta = dataset.metainfo
        fit_data = dict(
            dataset=type(dataset).__name__,
            source=dataset.source_name() if hasattr(dataset, 'source_name')
            else None,
            num_images=len(dataset),
            classes=meta.get('prompt_names') or meta.get('classes'))
        configs = plain(runner.cfg.model.get('calibrators', []))
        weights = file_sha256(checkpoint) if checkpoint and osp.isfile(
            checkpoint) else None
        pending = []
        for i in targets:
            record = dict(calibrator=configs[i], before=configs[:i],
                          fit_data=fit_data, checkpoint_sha256=weights)
            path = None if checkpoint is None else self.state_path(
                runner, checkpoint, i, configs[i]['type'])
            if path and self._load(model.calibrators[i], path, record):
                continue
            pending.append((i, path, record))
        if not pending:
            return
        logits, labels = self.logits(runner, model, dataset)
        for i, path, record in pending:
            inputs = logits
            for previous in model.calibrators[:i]:
                inputs = previous.calibrate(inputs)
            model.calibrators[i].fit(inputs, labels, fit_data['classes'])
            if path and is_main_process():
                record['state'] = model.calibrators[i].fit_state()
                atomic_write_json(path, record)
                print_log(f'Fitted calibrator state written to {path}',
                          logger='current')
        set_loop_classes(runner, loop)  # back to the evaluated classes

    def fit_dataset(self, runner, loop):
        """The held-out dataset, with the evaluation pipeline."""
        pipeline = loop.dataloader.dataset.pipeline
        if runner.cfg.get('fit_dataloader'):
            return build_eval_dataset(runner.cfg.fit_dataloader['dataset'],
                                      pipeline)
        train_cfg = training_loader_cfg(runner.cfg)
        if not train_cfg:
            raise ValueError(
                'Fitting a post-hoc calibrator needs held-out images: add '
                '`fit_dataloader` (or `train_dataloader`) to the config.')
        train = build_eval_dataset(train_cfg['dataset'], pipeline)
        if train_cfg['dataset'].get('num_shots') is None:
            raise ValueError(
                'train_dataloader.dataset has no num_shots, so it uses every '
                'image and none is left for fitting post-hoc calibrators; '
                'add `fit_dataloader` with held-out images to the config.')
        held_cfg = copy.deepcopy(train_cfg['dataset'])
        held_cfg['seed'] = held_cfg.get('seed', 1) + self.seed_offset
        held = build_eval_dataset(held_cfg, pipeline)
        used = {train.get_data_info(i)['img_id'] for i in range(len(train))}
        keep = [i for i in range(len(held))
                if held.get_data_info(i)['img_id'] not in used]
        if not keep:
            raise ValueError(
                'The held-out few-shot sample for fitting post-hoc '
                'calibrators has no image outside the training sample; add '
                '`fit_dataloader` to the config.')
        print_log(
            f'Held-out data for post-hoc calibrators: {len(keep)} images '
            f'(few-shot seed {held_cfg["seed"]}, {len(held) - len(keep)} '
            'training images removed)', logger='current')
        return held.get_subset(keep)

    def logits(self, runner, model, dataset) -> Tuple[Tensor, Tensor]:
        """Raw logits and labels of ``dataset`` over its own classes."""
        set_dataset_classes(runner, dataset)
        out = dataset_pass(
            model, dataset,
            lambda data: dict(
                logits=model(data['inputs'], mode='tensor'),
                labels=data['data_samples']['gt_label']),
            self.batch_size)
        return out['logits'], out['labels'].long()

    @staticmethod
    def state_path(runner, checkpoint: str, index: int, name: str) -> str:
        """``<checkpoint>_calib<i>_<Type>.json``, or in the work dir."""
        path = f'{osp.splitext(checkpoint)[0]}_calib{index}_{name}.json'
        if osp.isfile(checkpoint) and os.access(
                osp.dirname(osp.abspath(path)), os.W_OK):
            return path
        return osp.join(runner.work_dir, osp.basename(path))

    @staticmethod
    def _load(calibrator, path: str, record: dict) -> bool:
        if not osp.isfile(path):
            return False
        try:
            with open(path, encoding='utf-8') as f:
                stored = json.load(f)
        except (OSError, ValueError) as err:
            print_log(f'Ignoring unreadable calibrator state {path}: {err}',
                      logger='current', level=logging.WARNING)
            return False
        if {k: stored.get(k) for k in record} != record:
            print_log(f'Calibrator state {path} was fitted with another '
                      'configuration or data; refitting.', logger='current')
            return False
        calibrator.load_fit_state(stored['state'])
        print_log(f'Loaded fitted calibrator state {path}', logger='current')
        return True
