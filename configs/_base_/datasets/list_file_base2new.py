# Your own data as list files (docs/datasets/list_file.md): lines
# `relative/path.jpg idx idx ...` in train.txt and test.txt, class names in
# classes.txt, all under $MMCCR_DATA/mydata (override data_root to move it).
# Few-shot training on the first half of the classes (or base_classes=...),
# evaluation on all classes; head/medium/tail counted on train.txt.
_base_ = ['./multilabel_loaders.py']
data_root = '{{$MMCCR_DATA:data}}/mydata'

train_dataloader = dict(
    dataset=dict(
        type='MultiLabelListDataset',
        data_root=data_root,
        ann_file='train.txt',
        classes='classes.txt'))
val_dataloader = dict(
    dataset=dict(
        type='MultiLabelListDataset',
        data_root=data_root,
        ann_file='test.txt',
        classes='classes.txt',
        class_counts='train.txt'))
test_dataloader = val_dataloader
