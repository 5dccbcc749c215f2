# Domain generalization: CoOp + BCE trained 16-shot on COCO-2014 (base
# classes), tested on COCO-2017 val (all 80 classes). val2017 images that are
# in the training sample are removed (logged).
# The excluded sample follows --cfg-options on train_dataloader (seed,
# shots). docs/datasets/dg.md.
_base_ = ['../coop_bce_coco_16shot.py']
test_dataloader = dict(
    dataset=dict(
        ann_file='annotations/instances_val2017.json',
        data_prefix=dict(img_path='val2017'),
        exclude_images_of='train_dataloader.dataset'))
