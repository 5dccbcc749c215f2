# The toy world (28 classes, 64 px, generated in memory; docs/toyworld.md):
# 16-shot training on the 14 base classes drawn from the 5000-image training
# pool; evaluation on all 28 classes of the 2000-image test split (groups
# base / new / HM and head / medium / tail by the training pool's counts).
# Images are resized to ToyCLIP's 32 px input as in its pretraining.
_base_ = ['./multilabel_loaders.py']
data_root = 'work_dirs/toyworld'  # names the few-shot split cache folder

train_pipeline = [
    dict(type='LoadImage'),
    dict(type='Resize', size=32, interpolation='bilinear'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImage'),
    dict(type='Resize', size=32, interpolation='bilinear'),
    dict(type='PackInputs'),
]
loader = dict(num_workers=0, persistent_workers=False)

train_dataloader = dict(
    **loader,
    dataset=dict(
        type='ToyWorld',
        data_root=data_root,
        split='train',
        num_images=5000,
        data_seed=0,
        pipeline=train_pipeline))
test_dataloader = dict(
    batch_size=128,
    **loader,
    dataset=dict(
        type='ToyWorld',
        data_root=data_root,
        split='test',
        num_images=2000,
        data_seed=0,
        train_pool_images=5000,  # head/medium/tail from the training pool
        pipeline=test_pipeline))
# Validation: 1000 images of the separate 'val' split.
val_dataloader = dict(
    batch_size=128,
    **loader,
    dataset=dict(test_dataloader['dataset'], split='val', num_images=1000))

val_evaluator = [
    dict(type='MultiLabelRecognition', threshold=0.5),
    dict(type='MultiLabelCalibration', mode='binary', n_bins=10,
         items=('ECE', 'ACE', 'MCE', 'PIECE', 'Gap')),
]
test_evaluator = val_evaluator
