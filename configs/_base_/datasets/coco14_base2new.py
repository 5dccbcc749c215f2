# MS-COCO 2014: few-shot training on the 40 base classes, evaluation on all
# 80 classes of val2014 (groups base / new / HM). See docs/datasets/coco.md.
_base_ = ['./multilabel_loaders.py']
data_root = '{{$MMCCR_DATA:data}}/coco'

train_dataloader = dict(
    dataset=dict(
        type='CocoMultiLabel',
        data_root=data_root,
        ann_file='annotations/instances_train2014.json',
        data_prefix=dict(img_path='train2014')))
val_dataloader = dict(
    dataset=dict(
        type='CocoMultiLabel',
        data_root=data_root,
        ann_file='annotations/instances_val2014.json',
        data_prefix=dict(img_path='val2014'),
        class_counts='annotations/instances_train2014.json'))
test_dataloader = val_dataloader
