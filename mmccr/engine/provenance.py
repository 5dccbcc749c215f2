"""Which training images a checkpoint was trained on, and checking it.

PIECE's reference features are the training images' features. When a
checkpoint is tested, the reference set is rebuilt from the test config;
if that config's training split differs from the one the checkpoint was
trained on (another K, seed, annotation file or split file), PIECE would
silently be computed against other images. The checkpoint therefore records
:func:`split_provenance` of its training set, and the rebuilt set is
compared with it by :func:`check_split_provenance`.
"""
import hashlib
import os.path as osp
from typing import Optional

from mmccr.utils.digest import file_sha256

#: Keys compared between the recorded and the rebuilt training split.
COMPARED = ('dataset', 'ann_file', 'class_split', 'num_shots', 'seed',
            'num_images', 'img_ids_sha256', 'split_file_sha256')


class ReferenceProvenanceError(ValueError):
    """The rebuilt reference set is not the checkpoint's training split."""


def split_provenance(dataset) -> dict:
    """Identity of a (few-shot) training split, in plain types.

    Args:
        dataset: a built mmccr dataset (``MultiLabelDataset`` or any
            mmengine ``BaseDataset`` whose items have ``img_id``).

    Returns:
        dict: ``dataset`` (class name), ``ann_file``, ``class_split``,
        ``num_shots``, ``seed``, ``num_images``, ``img_ids_sha256`` (of the
        image ids in order) and, when the split was read from or written
        to a split file, ``split_file`` and ``split_file_sha256``.
    """
    ids = [str(dataset.get_data_info(i).get('img_id', i))
           for i in range(len(dataset))]
    record = dict(
        dataset=type(dataset).__name__,
        ann_file=osp.basename(getattr(dataset, 'ann_file', '') or ''),
        class_split=getattr(dataset, 'class_split', None),
        num_shots=getattr(dataset, 'num_shots', None),
        seed=getattr(dataset, 'seed', None),
        num_images=len(ids),
        img_ids_sha256=hashlib.sha256('\n'.join(ids).encode()).hexdigest(),
        split_file=None,
        split_file_sha256=None)
    split_file = getattr(dataset, '_split_file', None)
    if record['num_shots'] and callable(split_file):
        path = split_file()
        if osp.isfile(path):
            record['split_file'] = path
            record['split_file_sha256'] = file_sha256(path)
    return record


def check_split_provenance(recorded: Optional[dict], built: dict,
                           source: str = 'the checkpoint') -> None:
    """Stop when the rebuilt training split is not the recorded one.

    Args:
        recorded (dict, optional): :func:`split_provenance` saved in the
            checkpoint (None for checkpoints without it: nothing to check).
        built (dict): :func:`split_provenance` of the rebuilt set.
        source (str): names the checkpoint in the message.

    Raises:
        ReferenceProvenanceError: naming every differing key.
    """
    if not recorded:
        return
    # A split file only counts when both sides have one.
    keys = [k for k in COMPARED
            if k != 'split_file_sha256' or (recorded.get(k) and built.get(k))]
    diff = {k: (recorded.get(k), built.get(k)) for k in keys
            if recorded.get(k) != built.get(k)}
    if not diff:
        return
    lines = '; '.join(f'{k}: trained on {a!r}, config gives {b!r}'
                      for k, (a, b) in diff.items())
    raise ReferenceProvenanceError(
        f'PIECE reference set: the training split in this config is not '
        f'the one {source} was trained on ({lines}). PIECE would be '
        'computed against other images. Test with the training config '
        'of the checkpoint (same dataset, num_shots, seed and split file), '
        'or pass --ignore-reference-provenance to tools/test.py '
        '(ReferenceFeaturesHook(check_provenance=False)) to use this '
        'config\'s set anyway.')
