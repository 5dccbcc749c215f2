# Domain generalization: CoOp + BCE + CCR trained 16-shot on COCO-2014 (base
# classes), tested on the COCO-LT test set (val2017, DBL's head / medium /
# tail). Overlapping images are removed; with another seed set it on both
# train_dataloader.dataset.seed and ...exclude_images_of.seed.
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
        exclude_images_of=_base_.train_dataloader.dataset))
