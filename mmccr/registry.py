"""Registries of mmccr.

Every registry below is a child of the mmengine root registry of the same
name, so a config with ``default_scope='mmccr'`` finds mmccr's classes first
and mmengine's built-ins (optimizers, hooks, samplers, ...) second. Each
child names the subpackage that holds its implementations in ``locations``;
on the first lookup every module under that subpackage is imported (see
:class:`MMCCRRegistry`), so a decorated class in a new file anywhere under
it is all it takes to make it available from a config. Classes outside the
mmccr source tree come in through the config's ``custom_imports`` (see
``docs/adding_components.md``, "Out-of-tree components").

``PROMPT_LEARNERS``, ``LOSSES`` and ``CALIBRATORS`` have no parent: they are
not looked up by the Runner but by :class:`mmccr.models.PromptClassifier`,
which builds its nested components from them.
"""
from mmengine.registry import DATA_SAMPLERS as MMENGINE_DATA_SAMPLERS
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import EVALUATOR as MMENGINE_EVALUATOR
from mmengine.registry import FUNCTIONS as MMENGINE_FUNCTIONS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import INFERENCERS as MMENGINE_INFERENCERS
from mmengine.registry import LOG_PROCESSORS as MMENGINE_LOG_PROCESSORS
from mmengine.registry import LOOPS as MMENGINE_LOOPS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODEL_WRAPPERS as MMENGINE_MODEL_WRAPPERS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import (
    OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS,
)
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import OPTIMIZERS as MMENGINE_OPTIMIZERS
from mmengine.registry import PARAM_SCHEDULERS as MMENGINE_PARAM_SCHEDULERS
from mmengine.registry import (
    RUNNER_CONSTRUCTORS as MMENGINE_RUNNER_CONSTRUCTORS,
)
from mmengine.registry import RUNNERS as MMENGINE_RUNNERS
from mmengine.registry import TASK_UTILS as MMENGINE_TASK_UTILS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import VISBACKENDS as MMENGINE_VISBACKENDS
from mmengine.registry import VISUALIZERS as MMENGINE_VISUALIZERS
from mmengine.registry import (
    WEIGHT_INITIALIZERS as MMENGINE_WEIGHT_INITIALIZERS,
)
from mmengine.registry import Registry

from mmccr.utils.imports import import_package_modules

__all__ = [
    'RUNNERS', 'RUNNER_CONSTRUCTORS', 'LOOPS', 'HOOKS', 'LOG_PROCESSORS',
    'OPTIMIZERS', 'OPTIM_WRAPPERS', 'OPTIM_WRAPPER_CONSTRUCTORS',
    'PARAM_SCHEDULERS', 'DATASETS', 'DATA_SAMPLERS', 'TRANSFORMS',
    'FUNCTIONS', 'MODELS', 'MODEL_WRAPPERS', 'WEIGHT_INITIALIZERS',
    'TASK_UTILS', 'METRICS', 'EVALUATORS', 'VISUALIZERS', 'VISBACKENDS',
    'INFERENCERS', 'PROMPT_LEARNERS', 'LOSSES', 'CALIBRATORS'
]



class MMCCRRegistry(Registry):
    """A registry that imports every module under its ``locations``.

    mmengine imports only the location packages themselves; here the
    modules inside them (recursively) are imported as well, so a new file
    needs no import line in its package's ``__init__.py``.
    """

    def import_from_location(self) -> None:
        """Import the location packages and every module below them."""
        if self._imported:
            return
        super().import_from_location()
        for location in self._locations:
            import_package_modules(location)


_ENGINE = ['mmccr.engine']

#######################################################################
#                            engine                                   #
#######################################################################
# Runners such as `Runner`.
RUNNERS = MMCCRRegistry(
    'runner', parent=MMENGINE_RUNNERS, locations=_ENGINE)
# Constructors that build runners.
RUNNER_CONSTRUCTORS = MMCCRRegistry(
    'runner constructor',
    parent=MMENGINE_RUNNER_CONSTRUCTORS,
    locations=_ENGINE)
# Training, validation and test loops.
LOOPS = MMCCRRegistry('loop', parent=MMENGINE_LOOPS, locations=_ENGINE)
# Hooks such as `CheckpointHook` and mmccr's `TrainableCheckpointHook`.
HOOKS = MMCCRRegistry('hook', parent=MMENGINE_HOOKS, locations=_ENGINE)
# Log processors that turn logged scalars into log lines.
LOG_PROCESSORS = MMCCRRegistry(
    'log processor', parent=MMENGINE_LOG_PROCESSORS, locations=_ENGINE)
# Optimizers such as `SGD`.
OPTIMIZERS = MMCCRRegistry(
    'optimizer', parent=MMENGINE_OPTIMIZERS, locations=_ENGINE)
# Optimizer wrappers such as `OptimWrapper` and `AmpOptimWrapper`.
OPTIM_WRAPPERS = MMCCRRegistry(
    'optim_wrapper', parent=MMENGINE_OPTIM_WRAPPERS, locations=_ENGINE)
# Constructors that build optimizer wrappers.
OPTIM_WRAPPER_CONSTRUCTORS = MMCCRRegistry(
    'optimizer wrapper constructor',
    parent=MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS,
    locations=_ENGINE)
# Learning-rate and momentum schedulers.
PARAM_SCHEDULERS = MMCCRRegistry(
    'parameter scheduler',
    parent=MMENGINE_PARAM_SCHEDULERS,
    locations=_ENGINE)

#######################################################################
#                            datasets                                 #
#######################################################################
# Multi-label datasets such as `CocoMultiLabel`.
DATASETS = MMCCRRegistry(
    'dataset', parent=MMENGINE_DATASETS, locations=['mmccr.datasets'])
# Samplers such as `DefaultSampler`.
DATA_SAMPLERS = MMCCRRegistry(
    'data sampler',
    parent=MMENGINE_DATA_SAMPLERS,
    locations=['mmccr.datasets'])
# Data transforms such as `LoadImage` and `PackInputs`.
TRANSFORMS = MMCCRRegistry(
    'transform',
    parent=MMENGINE_TRANSFORMS,
    locations=['mmccr.datasets.transforms'])
# Functions such as the collate functions.
FUNCTIONS = MMCCRRegistry(
    'function', parent=MMENGINE_FUNCTIONS, locations=['mmccr.datasets'])

#######################################################################
#                             models                                  #
#######################################################################
# Top-level models (`PromptClassifier`), backbones and data preprocessors.
MODELS = MMCCRRegistry(
    'model', parent=MMENGINE_MODELS, locations=['mmccr.models'])
# Model wrappers such as the distributed wrappers.
MODEL_WRAPPERS = MMCCRRegistry(
    'model_wrapper', parent=MMENGINE_MODEL_WRAPPERS, locations=_ENGINE)
# Weight initializers.
WEIGHT_INITIALIZERS = MMCCRRegistry(
    'weight initializer',
    parent=MMENGINE_WEIGHT_INITIALIZERS,
    locations=['mmccr.models'])
# Task-specific helpers.
TASK_UTILS = MMCCRRegistry(
    'task util', parent=MMENGINE_TASK_UTILS, locations=['mmccr.models'])
# Prompt learners such as `CoOp` (built by the classifier, no parent).
PROMPT_LEARNERS = MMCCRRegistry(
    'prompt learner', locations=['mmccr.models.prompt_learners'])
# Base losses such as `BCELoss` (built by the classifier, no parent).
LOSSES = MMCCRRegistry('loss', locations=['mmccr.losses'])
# Calibrators such as `CCR` (built by the classifier, no parent).
CALIBRATORS = MMCCRRegistry('calibrator', locations=['mmccr.calibrators'])

#######################################################################
#                           evaluation                                #
#######################################################################
# Metrics such as `MultiLabelRecognition` and `MultiLabelCalibration`.
METRICS = MMCCRRegistry(
    'metric', parent=MMENGINE_METRICS, locations=['mmccr.evaluation'])
# Evaluators that run several metrics.
EVALUATORS = MMCCRRegistry(
    'evaluator', parent=MMENGINE_EVALUATOR, locations=['mmccr.evaluation'])

#######################################################################
#                          visualization                              #
#######################################################################
# Visualizers.
VISUALIZERS = MMCCRRegistry(
    'visualizer', parent=MMENGINE_VISUALIZERS, locations=_ENGINE)
# Visualization backends such as `LocalVisBackend`.
VISBACKENDS = MMCCRRegistry(
    'vis_backend', parent=MMENGINE_VISBACKENDS, locations=_ENGINE)
# Inferencers.
INFERENCERS = MMCCRRegistry(
    'inferencer', parent=MMENGINE_INFERENCERS, locations=['mmccr.models'])
