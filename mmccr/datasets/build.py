"""Build a dataset from its config with another pipeline."""
import copy
from typing import Optional, Sequence

from mmccr.registry import DATASETS

from .transforms import CachedFeatureInputs


def build_eval_dataset(dataset_cfg: dict, pipeline: Sequence):
    """Build ``dataset_cfg`` but run ``pipeline`` on its items.

    Used to pass training images through the evaluation transforms (PIECE
    reference features, held-out fitting data).

    Args:
        dataset_cfg (dict): a dataset config, e.g. the training dataset's.
        pipeline (Sequence): a built pipeline (e.g. an evaluation dataset's
            ``pipeline``) or transform configs.
    """
    dataset_cfg = copy.deepcopy(dataset_cfg)
    dataset_cfg['pipeline'] = []
    dataset = DATASETS.build(dataset_cfg)
    dataset.pipeline = image_pipeline(pipeline)
    return dataset


def image_pipeline(pipeline):
    """The image pipeline behind a cached-feature pipeline, else itself.

    A dataset whose features are cached packs samples without images
    (:class:`~mmccr.datasets.transforms.CachedFeatureInputs`); a pass over
    other images with its transforms needs the pipeline it replaced.
    """
    transforms = getattr(pipeline, 'transforms', None) or []
    if len(transforms) == 1 and isinstance(transforms[0],
                                           CachedFeatureInputs):
        return transforms[0].image_pipeline
    return pipeline


def training_loader_cfg(cfg) -> Optional[dict]:
    """The config of the (few-shot) training *images*.

    ``reference_dataloader`` when the config has one, else
    ``train_dataloader``. Configs that do not train on images name their
    image sample in ``reference_dataloader``: zero-shot CLIP (nothing
    trains) and text-trained learners (TaI-DPT, TaI++, T2I-PAL: their
    ``train_dataloader`` holds captions or generated images). It is the
    sample the image-trained methods use, so PIECE's reference features
    and held-out fitting data are the same for every method.
    """
    return cfg.get('reference_dataloader') or cfg.get('train_dataloader')
