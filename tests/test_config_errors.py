"""Registration without edits elsewhere, custom_imports, config errors.

Building the demo config with one wrong entry must fail with a message that
names the config key path, the registry or component, the known names or
accepted arguments and the closest match -- for every registry, through
the one translation in :mod:`mmccr.config_errors`.
"""
import argparse
import glob
import importlib.util
import os
import os.path as osp
import subprocess
import sys
import uuid

import pytest
from mmengine.config import Config
from mmengine.runner import Runner

import mmccr.losses
from mmccr.config_errors import (
    ConfigArgumentError,
    UnknownTypeError,
    check_value_types,
    explain_build_errors,
)
from mmccr.registry import PROMPT_LEARNERS
from mmccr.utils.cli import finish_config
from mmccr.utils.config import finalize, load_config

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEMO = osp.join(REPO, 'configs', 'demo', 'coop_ccr_shapes_tiny.py')

LOSS_MODULE = '''
from torch import nn
from mmccr.registry import LOSSES


@LOSSES.register_module()
class {name}(nn.Module):
    def __init__(self, gamma: float = 2.0) -> None:
        super().__init__()
        self.gamma = gamma

    def forward(self, logits, labels):
        return logits.sum() * 0
'''


def build_error(tmp_path, **options) -> Exception:
    """The error of building the demo config with ``options`` merged."""
    cfg = Config.fromfile(DEMO)
    cfg.work_dir = str(tmp_path)
    cfg.merge_from_dict(options)
    finalize(cfg)
    with pytest.raises(Exception) as info:
        with explain_build_errors(cfg):
            Runner.from_cfg(cfg)
    return info.value


def test_unknown_type_names_key_registry_known_and_closest(tmp_path):
    err = build_error(tmp_path, **{'model.learner.type': 'CoOpX'})
    assert isinstance(err, UnknownTypeError) and isinstance(err, KeyError)
    msg = str(err)
    first = msg.splitlines()[0]
    assert first.startswith("model.learner.type = 'CoOpX'")
    assert 'mmccr::prompt learner registry' in first
    assert "Did you mean 'CoOp'" in first
    # every registered learner (the text-trained ones included), sorted
    known = ', '.join(sorted(PROMPT_LEARNERS.module_dict))
    assert 'T2IPAL, TaIDPT, TaIPlusPlus' in known
    assert f'Known names: {known}.' in msg
    # Where mmccr looked, and how to bring in an out-of-tree module.
    assert 'every module under mmccr.models.prompt_learners' in msg
    assert 'custom_imports = dict(imports=' in msg
    assert 'PYTHONPATH' in msg and 'pip install -e' in msg


def test_unknown_type_in_a_list_entry(tmp_path):
    err = build_error(
        tmp_path, **{'model.calibrators': [dict(type='CCRR')]})
    assert isinstance(err, UnknownTypeError)
    first = str(err).splitlines()[0]
    assert first.startswith("model.calibrators[0].type = 'CCRR'")
    assert 'mmccr::calibrator registry' in first
    assert "'CCR'" in first


def test_unexpected_argument_names_component_key_accepted_closest(tmp_path):
    err = build_error(tmp_path, **{'model.learner.n_ctxx': 4})
    assert isinstance(err, ConfigArgumentError) and isinstance(err, TypeError)
    msg = str(err)
    assert msg.startswith('model.learner (CoOp, mmccr::prompt '
                          'learner registry): unexpected argument '
                          "model.learner.n_ctxx. Did you mean "
                          "'n_ctx'?")
    assert 'CoOp accepts: backbone, n_ctx=16, ctx_init=None' in msg


def test_wrong_value_type_names_the_argument(tmp_path):
    err = build_error(tmp_path, **{'model.learner.n_ctx': '4'})
    assert isinstance(err, ConfigArgumentError)
    msg = str(err)
    assert msg.startswith('model.learner (CoOp, mmccr::prompt '
                          "learner registry): model.learner.n_ctx = "
                          "'4' is a str, CoOp expects int.")
    assert 'CoOp accepts: backbone, n_ctx=16' in msg


def test_wrong_value_type_that_would_build_is_stopped_before(tmp_path):
    """BCELoss would accept loss_weight='one' and fail in the first step;
    the check of value types stops it before anything is built."""
    err = build_error(tmp_path, **{'model.loss.loss_weight': 'one'})
    assert isinstance(err, ConfigArgumentError)
    msg = str(err)
    assert msg.startswith('model.loss (BCELoss, mmccr::loss registry): '
                          "model.loss.loss_weight = 'one' is a str, "
                          'BCELoss expects float.')
    assert "BCELoss accepts: reduction='mean', loss_weight=1.0." in msg


def test_every_shipped_config_passes_the_value_type_check():
    """No false alarms: the configs in configs/ are all well typed."""
    paths = glob.glob(osp.join(REPO, 'configs', '**', '*.py'),
                      recursive=True)
    assert len(paths) > 20
    for path in paths:
        check_value_types(Config.fromfile(path))


def test_runner_built_component_gets_its_key(tmp_path):
    """Entries the Runner builds through mmengine's root registries too."""
    cfg = Config.fromfile(DEMO)
    hooks = [h['type'] for h in cfg.custom_hooks]
    index = hooks.index('SafeCheckpointHook')
    hooks = [dict(h) for h in cfg.custom_hooks]
    hooks[index]['type'] = 'SafeCheckpointHok'
    err = build_error(tmp_path, custom_hooks=hooks)
    assert isinstance(err, UnknownTypeError)
    first = str(err).splitlines()[0]
    assert first.startswith(
        f"custom_hooks[{index}].type = 'SafeCheckpointHok': no such name "
        "in the mmccr::hook registry. Did you mean 'SafeCheckpointHook'")
    # mmengine's hooks are known through the parent registry.
    assert 'CheckpointHook' in str(err).splitlines()[2]


def test_unknown_optimizer_gets_its_key(tmp_path):
    """The optimizer wrapper constructor looks the optimizer up itself."""
    cfg = load_config(DEMO)
    cfg.work_dir = str(tmp_path)
    cfg.merge_from_dict({'optim_wrapper.optimizer.type': 'SDG'})
    runner = Runner.from_cfg(cfg)
    with pytest.raises(UnknownTypeError) as info:
        with explain_build_errors(cfg):
            runner.build_optim_wrapper(runner.cfg.optim_wrapper)
    first = str(info.value).splitlines()[0]
    assert first.startswith("optim_wrapper.optimizer.type = 'SDG': no such "
                            'name in the mmccr::optimizer registry.')
    assert "'SGD'" in first


def test_other_errors_pass_unchanged(tmp_path):
    """A failure that is not a config mistake keeps its own type."""
    err = build_error(tmp_path,
                      **{'model.learner.class_token_position': 'up'})
    assert type(err) is ValueError
    assert 'class_token_position' in str(err)


def test_train_tool_reports_the_key_path(tmp_path):
    proc = subprocess.run([
        sys.executable, 'tools/train.py', DEMO, '--work-dir',
        str(tmp_path), '--cfg-options', 'model.loss.type=BCELos'
    ], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert proc.returncode != 0
    assert "model.loss.type = 'BCELos': no such name in the mmccr::loss " \
        "registry. Did you mean 'BCELoss'?" in proc.stderr


def test_new_module_under_losses_needs_no_other_edit(tmp_path):
    """A new file in mmccr/losses/ is found from a config by its name."""
    name = f'ProbeLoss{uuid.uuid4().hex[:8]}'
    path = osp.join(osp.dirname(mmccr.losses.__file__), f'{name.lower()}.py')
    script = (
        'from mmengine.config import Config\n'
        'from mmengine.runner import Runner\n'
        'from mmccr.utils.config import load_config\n'
        f'cfg = load_config({DEMO!r})\n'
        f'cfg.work_dir = {str(tmp_path)!r}\n'
        f"cfg.model.loss = dict(type={name!r}, gamma=3.0)\n"
        'loss = Runner.from_cfg(cfg).model.loss_fn\n'
        'print(type(loss).__module__, loss.gamma)\n')
    try:
        with open(path, 'w') as f:
            f.write(LOSS_MODULE.format(name=name))
        proc = subprocess.run([sys.executable, '-c', script], cwd=REPO,
                              capture_output=True, text=True, timeout=600)
    finally:
        for leftover in (path, importlib.util.cache_from_source(path)):
            if osp.exists(leftover):
                os.remove(leftover)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split()[-2:] == [f'mmccr.losses.{name.lower()}', '3.0']


def out_of_tree_package(tmp_path, monkeypatch) -> tuple:
    """A package outside the repository with a registered loss."""
    package = f'my_ext_{uuid.uuid4().hex[:8]}'
    name = f'FocalProbe{uuid.uuid4().hex[:8]}'
    (tmp_path / package).mkdir()
    (tmp_path / package / '__init__.py').write_text('')
    (tmp_path / package / 'focal.py').write_text(
        LOSS_MODULE.format(name=name))
    monkeypatch.syspath_prepend(str(tmp_path))
    return f'{package}.focal', name


def test_out_of_tree_module_through_custom_imports(tmp_path, monkeypatch):
    module, name = out_of_tree_package(tmp_path, monkeypatch)
    config = tmp_path / 'my_config.py'
    config.write_text(
        f"_base_ = [{DEMO!r}]\n"
        f"custom_imports = dict(imports=[{module!r}], "
        'allow_failed_imports=False)\n'
        f"loss = dict(type={name!r}, gamma=0.5)\n")
    cfg = load_config(str(config))
    cfg.work_dir = str(tmp_path / 'work')
    loss = Runner.from_cfg(cfg).model.loss_fn
    assert type(loss).__name__ == name and loss.gamma == 0.5


def cli_args(**options) -> argparse.Namespace:
    return argparse.Namespace(cfg_options=options)


def test_custom_imports_from_cfg_options_take_effect(tmp_path, monkeypatch):
    module, name = out_of_tree_package(tmp_path, monkeypatch)
    cfg = Config.fromfile(DEMO)
    cfg.work_dir = str(tmp_path / 'work')
    cfg.launcher = 'none'
    assert module not in sys.modules
    finish_config(cfg, cli_args(**{
        'custom_imports.imports': [module],
        'model.loss.type': name
    }))
    assert module in sys.modules
    assert type(Runner.from_cfg(cfg).model.loss_fn).__name__ == name


def test_custom_imports_that_fail_are_loud(tmp_path):
    cfg = Config.fromfile(DEMO)
    cfg.launcher = 'none'
    with pytest.raises(ImportError) as info:
        finish_config(cfg, cli_args(
            **{'custom_imports.imports': ['no_such_package_xyz.focal']}))
    msg = str(info.value)
    assert "cannot import 'no_such_package_xyz.focal'" in msg
    assert 'PYTHONPATH' in msg and 'pip install -e' in msg
