# Open Images V6 on mmccr's class subset (annotations/classes.csv, written by
# tools/dataset_converters/openimages.py): few-shot training on the first
# half of the classes, evaluation on all of them on the human-verified test
# labels (unverified = ignored). See docs/datasets/openimages.md.
_base_ = ['./multilabel_loaders.py']
data_root = '{{$MMCCR_DATA:data}}/openimages'

train_dataloader = dict(
    dataset=dict(type='OpenImagesV6', data_root=data_root, split='train'))
val_dataloader = dict(
    dataset=dict(
        type='OpenImagesV6',
        data_root=data_root,
        split='test',
        class_counts='annotations/'
        'oidv6-train-annotations-human-imagelabels.csv'))
test_dataloader = val_dataloader
