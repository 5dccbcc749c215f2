# Domain generalization: CoOp + BCE trained 16-shot on COCO-2014,
# tested on COCO-2015 test. Its labels are NOT public: provide your own
# instances-style file as annotations/instances_test2015_labels.json
# (docs/datasets/dg.md).
_base_ = ['../coop_bce_coco_16shot.py']
test_dataloader = dict(
    dataset=dict(
        ann_file='annotations/instances_test2015_labels.json',
        data_prefix=dict(img_path='test2015'),
        exclude_images_of='train_dataloader.dataset'))
