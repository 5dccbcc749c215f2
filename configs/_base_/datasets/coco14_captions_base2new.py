# MS-COCO 2014 for text-trained learners (TaI-DPT, TaI++): training on 16
# shots per base class of the train2014 captions (CocoCaptions; never the
# val2014 captions, which describe the test images), evaluation on all 80
# classes of the val2014 images. `reference_dataloader` is the 16-shot
# train2014 *image* sample of the image-trained learners (same seed): PIECE's
# reference features and the held-out images of post-hoc calibrators.
# Needs annotations/captions_train2014.json, instances_{train,val}2014.json
# and the train2014 + val2014 images (docs/datasets/coco.md).
_base_ = ['./coco14_base2new.py']
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='CocoCaptions',
        data_root=_base_.data_root,
        ann_file='annotations/captions_train2014.json',
        class_split='base',
        num_shots=16,
        seed=1,
        pipeline=[dict(type='PackCaption')]))
reference_dataloader = dict(
    dataset=dict(
        type='CocoMultiLabel',
        data_root=_base_.data_root,
        ann_file='annotations/instances_train2014.json',
        data_prefix=dict(img_path='train2014'),
        class_split='base',
        num_shots=16,
        seed='train_dataloader.dataset.seed',  # follows the run's seed
        pipeline=_base_.test_pipeline))
