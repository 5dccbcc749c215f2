# PASCAL VOC 2007: few-shot training on the 10 base classes of trainval,
# evaluation on all 20 classes of test (difficult-only pairs ignored).
# See docs/datasets/voc2007.md.
_base_ = ['./multilabel_loaders.py']
data_root = '{{$MMCCR_DATA:data}}/VOCdevkit/VOC2007'

train_dataloader = dict(
    dataset=dict(type='VOC2007', data_root=data_root, split='trainval'))
val_dataloader = dict(
    dataset=dict(
        type='VOC2007',
        data_root=data_root,
        split='test',
        class_counts='ImageSets/Main/trainval.txt'))
test_dataloader = val_dataloader
