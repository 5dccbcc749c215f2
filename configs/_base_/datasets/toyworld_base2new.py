# The toy world (28 classes, 64 px, generated in memory; docs/toyworld.md):
# 16-shot training on the 14 base classes drawn from the 5000-image training
# pool; evaluation on all 28 classes of the 2000-image test split (groups
# base / new / HM and head / medium / tail by the training pool's counts).
# Images are resized to ToyCLIP's 32 px input as in its pretraining.
dataset_type = 'ToyWorld'
data_root = 'work_dirs/toyworld'  # only few-shot split files are written

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

train_dataloader = dict(
    batch_size=32,
    num_workers=0,
    sampler=dict(type='SeededSampler', shuffle=True),  # exact resume
    collate_fn=dict(type='default_collate'),
    drop_last=True,  # CCR's batch statistics need full batches
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
        num_images=5000,
        data_seed=0,
        class_split='base',
        num_shots=16,
        seed=1,
        pipeline=train_pipeline))
test_dataloader = dict(
    batch_size=128,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='test',
        num_images=2000,
        data_seed=0,
        train_pool_images=5000,  # head/medium/tail from the training pool
        class_split='all',
        test_mode=True,
        pipeline=test_pipeline))
# Validation: 1000 images of the separate 'val' split.
val_dataloader = dict(
    test_dataloader, dataset=dict(test_dataloader['dataset'], split='val',
                                  num_images=1000))

val_evaluator = [
    dict(type='MultiLabelRecognition', threshold=0.5),
    dict(type='MultiLabelCalibration', mode='binary', n_bins=10,
         items=('ECE', 'ACE', 'MCE', 'PIECE', 'Gap')),
]
test_evaluator = val_evaluator
