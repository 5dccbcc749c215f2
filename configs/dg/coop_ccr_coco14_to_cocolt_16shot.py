# Domain generalization: CoOp + BCE + CCR trained 16-shot on COCO-2014 (base
# classes), tested on the COCO-LT test set (val2017, DBL's head / medium /
# tail). Overlapping images of the training sample (whatever its
# seed) are removed. docs/datasets/dg.md.
_base_ = ['../coop_ccr_coco_16shot.py']
test_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='COCOLT',
        data_root=_base_.data_root,
        split='test',
        class_split='all',
        test_mode=True,
        pipeline=_base_.test_pipeline,
        exclude_images_of='train_dataloader.dataset'))
