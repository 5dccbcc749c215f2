# COCO-LT (DBL): few-shot training on the 40 base classes of the 1,909-image
# long-tailed train2017 subset, evaluation on all 80 classes of val2017 with
# DBL's head / medium / tail groups. See docs/datasets/longtail.md.
_base_ = ['./multilabel_loaders.py']
data_root = '{{$MMCCR_DATA:data}}/coco'

train_dataloader = dict(
    dataset=dict(type='COCOLT', data_root=data_root, split='train'))
val_dataloader = dict(
    dataset=dict(type='COCOLT', data_root=data_root, split='test'))
test_dataloader = val_dataloader
