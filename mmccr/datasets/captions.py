"""Caption corpora: captions with multi-hot labels, for text-trained learners.

An item is one caption (``text``) and its labels over the dataset's classes;
everything else (base/new classes, the greedy "at least K" few-shot
sample of captions per class, split files, metainfo, loaders, samplers,
DDP) is the image machinery of :class:`MultiLabelDataset`. Labels come
from :class:`~mmccr.datasets.caption_matcher.CaptionLabelMatcher` unless a
text file gives them.

**Leak guard.** A training corpus must not describe the test images:
caption files whose name marks them as validation or test data are refused
unless ``allow_eval_captions=True``, and :class:`CocoCaptions` accepts only
``captions_train2014.json`` (``captions_train2017.json`` holds about 35k
images of the val2014 test set).
"""
import json
import os.path as osp
import re
from typing import Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np

from mmccr.registry import DATASETS

from .base import MultiLabelDataset
from .caption_matcher import CaptionLabelMatcher
from .coco import COCO_CLASSES
from .files import name_indices, numbered_lines, require_file, resolve
from .list_file import read_class_names
from .toyworld.captions import COLOUR_SYNONYMS, SHAPE_SYNONYMS, caption
from .toyworld.world import (
    CLASS_NAMES,
    CLASSES,
    DEFAULT_NUM_IMAGES,
    WORLD_VERSION,
    check_split,
    sample_objects,
    scene_rng,
)

#: A file name that marks evaluation data (``val``, ``valid``, ``test``...).
_EVAL_NAME = re.compile(r'(^|[^a-z])(val|valid|validation|test|dev)'
                        r'($|[^a-z])')

#: Further phrases for the COCO classes (written for mmccr; lower case).
COCO_SYNONYMS: Dict[str, Tuple[str, ...]] = {
    'person': ('man', 'woman', 'boy', 'girl', 'child', 'kid', 'baby',
               'guy', 'lady', 'player', 'skier', 'surfer', 'skateboarder',
               'snowboarder', 'rider', 'people', 'adult', 'teenager'),
    'bicycle': ('bike', ),
    'motorcycle': ('motorbike', 'motor bike', 'scooter'),
    'airplane': ('plane', 'aeroplane', 'jet', 'aircraft', 'airliner'),
    'boat': ('ship', 'sailboat', 'canoe', 'kayak', 'yacht'),
    'fire hydrant': ('hydrant', ),
    'stop sign': (),
    'parking meter': ('meter', ),
    'bench': (),
    'bird': ('pigeon', 'seagull', 'duck', 'parrot'),
    'cat': ('kitten', 'kitty'),
    'dog': ('puppy', ),
    'horse': ('pony', ),
    'sheep': ('lamb', ),
    'cow': ('cattle', 'bull', 'calf'),
    'handbag': ('purse', ),
    'tie': ('necktie', ),
    'suitcase': ('luggage', ),
    'skis': ('ski', ),
    'sports ball': ('ball', 'soccer ball', 'football', 'baseball',
                    'tennis ball', 'basketball'),
    'baseball glove': ('glove', 'mitt'),
    'tennis racket': ('racket', 'racquet'),
    'wine glass': (),
    'cup': ('mug', ),
    'donut': ('doughnut', ),
    'couch': ('sofa', ),
    'potted plant': ('houseplant', 'plant'),
    'dining table': ('table', ),
    'tv': ('television', 'tv set'),
    'laptop': ('notebook computer', ),
    'remote': ('remote control', 'controller'),
    'cell phone': ('phone', 'cellphone', 'smartphone', 'mobile phone'),
    'refrigerator': ('fridge', ),
    'teddy bear': ('teddy', ),
    'hair drier': ('hair dryer', 'hairdryer', 'blow dryer'),
}


#: Named class sets: ``classes='coco'`` gives the 80 COCO classes and
#: :data:`COCO_SYNONYMS`.
CLASS_PRESETS = {'coco': (COCO_CLASSES, COCO_SYNONYMS)}


def check_training_captions(path: str, allow: bool, what: str) -> None:
    """Refuse a validation or test caption file as training data.

    Args:
        path (str): the caption file.
        allow (bool): the user's override (``allow_eval_captions``).
        what (str): the dataset type, for the message.
    """
    name = osp.basename(path).lower()
    if allow or not _EVAL_NAME.search(osp.splitext(name)[0]):
        return
    raise ValueError(
        f'{what}: {path!r} looks like a validation/test caption file '
        f'({name!r}). Training on captions of the evaluation images leaks '
        'the test set into the prompts; use training captions (for COCO: '
        'annotations/captions_train2014.json). Set allow_eval_captions=True '
        'only if this file really holds no evaluation image.')


def toyworld_synonyms() -> Dict[str, Tuple[str, ...]]:
    """Every colour-synonym × shape-synonym phrase of each toy class."""
    return {
        toy.name: tuple(f'{c} {s}' for c in COLOUR_SYNONYMS[toy.colour]
                        for s in SHAPE_SYNONYMS[toy.shape])
        for toy in CLASSES
    }


@DATASETS.register_module()
class CaptionDataset(MultiLabelDataset):
    """Captions of a text file, labelled by the offline matcher.

    The file has one caption per line. A line may give its labels after a
    tab, as comma-separated class names (``a dog on a sofa\\tdog,couch``);
    with ``labels='auto'`` such lines keep their labels and the others are
    matched. Captions are ``img_id``-ed by their line number.

    Args:
        ann_file (str): the caption file (relative to ``data_root``).
        classes (Sequence[str] | str): class names, a class-name file (see
            :func:`read_class_names`) or a preset of :data:`CLASS_PRESETS`
            (``'coco'``). Subclasses fix their classes.
        synonyms (dict | str, optional): class → further phrases, or a
            JSON file with that mapping; a preset's by default.
        labels (str): ``'matcher'`` (ignore file labels), ``'file'``
            (every line must carry labels) or ``'auto'``. Defaults to
            ``'auto'``.
        use_wordnet (bool | str): see :class:`CaptionLabelMatcher`.
        drop_empty (bool): drop captions that name no class (they never
            enter a few-shot sample anyway). Defaults to True.
        allow_eval_captions (bool): accept a caption file named like
            validation/test data. Defaults to False (leak guard).
        **kwargs: see :class:`MultiLabelDataset`.
    """

    def __init__(self,
                 classes: Optional[Union[str, Sequence[str]]] = None,
                 synonyms: Optional[Union[str, Dict[str,
                                                    Iterable[str]]]] = None,
                 labels: str = 'auto',
                 use_wordnet='auto',
                 drop_empty: bool = True,
                 allow_eval_captions: bool = False,
                 **kwargs) -> None:
        if labels not in ('matcher', 'file', 'auto'):
            raise ValueError("labels must be 'matcher', 'file' or 'auto', "
                             f'got {labels!r}')
        self.caption_classes = classes
        self.synonyms = synonyms
        self.label_source = labels
        self.use_wordnet = use_wordnet
        self.drop_empty = drop_empty
        self.allow_eval_captions = allow_eval_captions
        super().__init__(**kwargs)

    @property
    def preset(self) -> Optional[tuple]:
        """``(classes, synonyms)`` of a named class set, if ``classes`` is
        one."""
        name = self.caption_classes
        return CLASS_PRESETS.get(name) if isinstance(name, str) else None

    def class_names(self) -> List[str]:
        """The classes of the corpus."""
        if self.preset is not None:
            return list(self.preset[0])
        if self.caption_classes is None:
            raise ValueError(
                f'{type(self).__name__} needs `classes` (a list of names or '
                'a class-name file) to label its captions.')
        source = self.caption_classes
        if isinstance(source, str):
            source = resolve(self.data_root, source)
        return read_class_names(source)

    def class_synonyms(self) -> Dict[str, Iterable[str]]:
        """Synonyms given by the config (a dict or a JSON file)."""
        source = self.synonyms
        if source is None and self.preset is not None:
            source = self.preset[1]
        if isinstance(source, str):
            with open(require_file(source, 'synonym file (JSON)'),
                      encoding='utf-8') as f:
                source = json.load(f)
        return dict(source or {})

    def matcher(self, classes: List[str]) -> CaptionLabelMatcher:
        """The label matcher of this corpus."""
        return CaptionLabelMatcher(classes, self.class_synonyms(),
                                   self.use_wordnet)

    def parse_line(self, text: str, lineno: int, ann_file: str,
                   classes: List[str]) -> dict:
        """``caption[<TAB>name,name]`` → ``text`` and given ``labels``."""
        text, _, names = text.partition('\t')
        given = None
        if names.strip() and self.label_source != 'matcher':
            listed = [n.strip() for n in names.split(',') if n.strip()]
            given = np.zeros(len(classes), np.int8)
            given[name_indices(listed, classes, f'{ann_file}:{lineno}')] = 1
        elif self.label_source == 'file':
            raise ValueError(
                f"{ann_file}:{lineno}: labels='file' but the line has no "
                'labels after a tab (`caption<TAB>name,name`).')
        return dict(text=text.strip(), labels=given)

    def read_captions(self, ann_file: str, classes: List[str]) -> List[dict]:
        """One dict per caption: ``img_id``, ``text``, ``labels`` (None:
        to be matched) and any further item keys."""
        return [
            dict(img_id=f'line{lineno:07d}',
                 **self.parse_line(line, lineno, ann_file, classes))
            for lineno, line in numbered_lines(ann_file, 'caption file')
        ]

    def load_annotations(self, ann_file: str) -> Tuple[List[str], List[dict]]:
        """Read, label and filter the captions.

        Returns:
            tuple: the class names and one record per caption with
            ``img_id``, ``text`` and ``labels``.
        """
        if not self.test_mode:
            check_training_captions(ann_file, self.allow_eval_captions,
                                    type(self).__name__)
        classes = self.class_names()
        matcher = self.matcher(classes)
        records = []
        for record in self.read_captions(ann_file, classes):
            if record['labels'] is None:
                record['labels'] = matcher.labels(record['text'])
            if self.drop_empty and not record['labels'].any():
                continue
            records.append(record)
        return classes, records


@DATASETS.register_module()
class CocoCaptions(CaptionDataset):
    """MS-COCO training captions (``captions_train2014.json``) as a corpus.

    One item per caption (about five per image), labelled over the 80 COCO
    classes with :data:`COCO_SYNONYMS`. Only ``captions_train2014.json`` is
    accepted for training: ``captions_val2014.json`` describes the val2014
    test images, and ``captions_train2017.json`` contains about 35k of them
    (train2017 = train2014 + val2014 − val2017), as TaI-DPT's corpus does.

    Args:
        ann_file (str): defaults to
            ``'annotations/captions_train2014.json'``.
        synonyms (dict, optional): defaults to :data:`COCO_SYNONYMS`.
        **kwargs: see :class:`CaptionDataset`.
    """

    METAINFO = dict(classes=COCO_CLASSES)
    #: The only caption file accepted for training.
    TRAIN_FILE = 'captions_train2014.json'

    def __init__(self,
                 ann_file: str = 'annotations/captions_train2014.json',
                 synonyms=COCO_SYNONYMS,
                 **kwargs) -> None:
        super().__init__(ann_file=ann_file, synonyms=synonyms, **kwargs)

    def class_names(self) -> List[str]:
        """The 80 COCO classes."""
        return list(COCO_CLASSES)

    def read_captions(self, ann_file: str, classes: List[str]):
        """Captions of a COCO captions JSON file."""
        name = osp.basename(ann_file)
        if not self.test_mode and name != self.TRAIN_FILE and \
                not self.allow_eval_captions:
            raise ValueError(
                f'CocoCaptions: {ann_file!r} is not {self.TRAIN_FILE}. Only '
                'the train2014 captions are free of the val2014 test images '
                '(captions_train2017.json holds ~35k of them, '
                'captions_val2014.json all). Set allow_eval_captions=True '
                'to use another file anyway.')
        require_file(
            ann_file, 'COCO caption file',
            f'Download annotations_trainval2014.zip from cocodataset.org and '
            f'unpack it so that {self.TRAIN_FILE} is under '
            '<data_root>/annotations (docs/datasets/coco.md). Text-trained '
            'configs also need instances_train2014.json with the train2014 '
            'images (PIECE reference and held-out calibration images) and '
            'instances_val2014.json with the val2014 images (evaluation).')
        with open(ann_file, encoding='utf-8') as f:
            annotations = json.load(f)['annotations']
        return [dict(img_id=str(a['id']), text=a['caption'].strip(),
                     labels=None)
                for a in sorted(annotations, key=lambda a: a['id'])]


@DATASETS.register_module()
class ToyWorldCaptions(CaptionDataset):
    """Captions of toy-world scenes (offline text-trained demos).

    Caption ``i`` describes scene ``i`` of ``split`` (the objects of
    :class:`~mmccr.datasets.ToyWorld`'s image ``i``), in the words of
    :func:`~mmccr.datasets.toyworld.caption` (templates, random order,
    colour and shape synonyms). Labels come from the matcher with every
    synonym phrase (:func:`toyworld_synonyms`), as for real corpora; no
    image is drawn.

    Args:
        split (str): toy-world split; ``'train'`` by default (evaluation
            splits are refused unless ``allow_eval_captions``).
        num_captions (int, optional): corpus size; defaults to the split's
            image count.
        data_seed (int): seed of the world. Defaults to 0.
        **kwargs: see :class:`CaptionDataset`.
    """

    METAINFO = dict(classes=CLASS_NAMES)

    def __init__(self,
                 split: str = 'train',
                 num_captions: Optional[int] = None,
                 data_seed: int = 0,
                 **kwargs) -> None:
        check_split(split)
        self.split = split
        self.num_captions = DEFAULT_NUM_IMAGES[split] \
            if num_captions is None else num_captions
        self.data_seed = data_seed
        kwargs.setdefault('synonyms', toyworld_synonyms())
        super().__init__(**kwargs)

    def class_names(self) -> List[str]:
        """The 28 toy classes."""
        return list(CLASS_NAMES)

    def source_name(self) -> str:
        """World version, split, size and seed."""
        return (f'captions-v{WORLD_VERSION}-{self.split}{self.num_captions}'
                f'-seed{self.data_seed}')

    def read_captions(self, ann_file: str, classes: List[str]):
        """Generate the captions of the split's scenes."""
        if not self.test_mode:
            check_training_captions(self.split, self.allow_eval_captions,
                                    type(self).__name__)
        return [dict(img_id=f'{self.split}_{i:05d}', scene=i, labels=None,
                     text=caption(scene_objects(self.data_seed, self.split, i),
                                  scene_rng(self.data_seed, self.split, i,
                                            'caption')))
                for i in range(self.num_captions)]


def scene_objects(data_seed: int, split: str, index: int) -> List[int]:
    """The classes of toy scene ``index`` (those its image shows)."""
    return sample_objects(scene_rng(data_seed, split, index), split)
