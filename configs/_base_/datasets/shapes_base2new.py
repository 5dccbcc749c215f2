# Generated coloured shapes (12 classes, 32 px): offline demo and tests.
# Base classes: the first 6; evaluation on all 12 (base / new / HM).
dataset_type = 'SyntheticShapes'
data_root = 'work_dirs/demo_data'  # only few-shot split files are written

train_pipeline = [
    dict(type='LoadImage'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackInputs'),
]
test_pipeline = [dict(type='LoadImage'), dict(type='PackInputs')]

train_dataloader = dict(
    batch_size=16,
    num_workers=0,
    sampler=dict(type='SeededSampler', shuffle=True),  # exact resume
    collate_fn=dict(type='default_collate'),
    drop_last=True,  # CCR's batch statistics need full batches
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        num_images=512,
        split='train',
        class_split='base',
        num_shots=16,
        seed=1,
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=64,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        num_images=256,
        split='test',
        class_split='all',
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader

val_evaluator = [
    dict(type='MultiLabelRecognition', threshold=0.5),
    dict(type='MultiLabelCalibration', mode='binary', n_bins=10),
]
test_evaluator = val_evaluator
