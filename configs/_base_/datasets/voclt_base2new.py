# VOC-LT (DBL): few-shot training on the 10 base classes of the 1,142-image
# long-tailed VOC2012 subset, evaluation on all 20 classes of VOC2007 test
# with DBL's head / medium / tail groups. See docs/datasets/longtail.md.
_base_ = ['./multilabel_loaders.py']
data_root = '{{$MMCCR_DATA:data}}/VOCdevkit'

train_dataloader = dict(
    dataset=dict(type='VOCLT', data_root=data_root, split='train'))
val_dataloader = dict(
    dataset=dict(type='VOCLT', data_root=data_root, split='test'))
test_dataloader = val_dataloader
