"""PIECE reference provenance: checkpoints record their training split and
testing with another split stops."""
import hashlib
import importlib.util
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner
from test_runner import DEMO, REPO, demo_cfg

from mmccr.engine.provenance import (
    ReferenceProvenanceError,
    check_split_provenance,
)


def set_reference_check(cfg, enabled: bool) -> None:
    for hook in cfg.custom_hooks:
        if hook['type'] == 'ReferenceFeaturesHook':
            hook['check_provenance'] = enabled


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """A 1-epoch demo run (4 shots, seed 1) and its checkpoint."""
    work = tmp_path_factory.mktemp('prov')
    runner = Runner.from_cfg(
        demo_cfg(work, 'train', **{'train_cfg.max_epochs': 1}))
    runner.train()
    return work, str(work / 'epoch_1.pth'), runner.train_dataloader.dataset


def test_checkpoint_records_the_training_split(trained):
    work, ckpt, dataset = trained
    split = torch.load(ckpt, weights_only=True)['meta']['train_split']
    assert split['dataset'] == 'SyntheticShapes'
    assert (split['num_shots'], split['seed']) == (4, 1)
    assert split['num_images'] == len(dataset)
    ids = '\n'.join(str(dataset.get_data_info(i)['img_id'])
                    for i in range(len(dataset)))
    assert split['img_ids_sha256'] == hashlib.sha256(
        ids.encode()).hexdigest()
    with open(split['split_file'], 'rb') as f:
        assert split['split_file_sha256'] == hashlib.sha256(
            f.read()).hexdigest()


def run_test(trained, tmp_path, check: bool = True, **options) -> dict:
    work, ckpt, _ = trained
    cfg = demo_cfg(work, 'test', load_from=ckpt, **options)
    cfg.work_dir = str(tmp_path)
    set_reference_check(cfg, check)
    return Runner.from_cfg(cfg).test()


def test_same_split_passes(trained, tmp_path):
    metrics = run_test(trained, tmp_path)
    assert 0.0 <= metrics['calib/PIECE_all'] <= 1.0


@pytest.mark.parametrize('key,value', [
    ('train_dataloader.dataset.num_shots', 2),
    ('train_dataloader.dataset.seed', 7),
])
def test_other_split_stops_with_the_difference(trained, tmp_path, key,
                                               value):
    with pytest.raises(ReferenceProvenanceError) as info:
        run_test(trained, tmp_path, **{key: value})
    msg = str(info.value)
    field = key.rsplit('.', 1)[1]
    assert f'{field}: trained on' in msg and f'config gives {value!r}' in msg
    assert 'img_ids_sha256' in msg
    assert '--ignore-reference-provenance' in msg


def test_override_uses_the_config_split(trained, tmp_path):
    metrics = run_test(trained, tmp_path, False,
                       **{'train_dataloader.dataset.seed': 7})
    assert 0.0 <= metrics['calib/PIECE_all'] <= 1.0


def test_test_tool_flag_turns_the_check_off():
    spec = importlib.util.spec_from_file_location(
        'mmccr_test_tool', osp.join(REPO, 'tools', 'test.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    args = tool.get_parser().parse_args(
        [DEMO, 'x.pth', '--ignore-reference-provenance'])
    cfg = tool.merge_args(Config.fromfile(DEMO), args)
    hook = next(h for h in cfg.custom_hooks
                if h['type'] == 'ReferenceFeaturesHook')
    assert hook['check_provenance'] is False


def test_checkpoints_without_a_record_are_not_checked():
    check_split_provenance(None, {'num_shots': 4})
    check_split_provenance({}, {'num_shots': 4})
