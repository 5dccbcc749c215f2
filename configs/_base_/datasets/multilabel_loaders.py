# Skeleton shared by every dataset base: few-shot (16 shots, seed 1) training
# on the base classes, evaluation on all classes, the metric suite. A dataset
# base inherits it and fills in `type`, `data_root`, files and pipelines.
train_pipeline = [
    dict(type='LoadImage'),
    dict(type='Resize', size=224),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImage'),
    dict(type='Resize', size=224),
    dict(type='PackInputs'),
]

train_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='SeededSampler', shuffle=True),  # exact resume
    collate_fn=dict(type='default_collate'),
    drop_last=True,  # CCR's batch statistics need full batches
    dataset=dict(
        class_split='base',
        num_shots=16,  # K in {1, 2, 4, 8, 16}: --cfg-options ...num_shots=8
        seed=1,  # seeds 1-5: --cfg-options train_dataloader.dataset.seed=3
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=64,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(class_split='all', test_mode=True, pipeline=test_pipeline))
test_dataloader = val_dataloader

val_evaluator = [
    dict(type='MultiLabelRecognition', threshold=0.5),
    dict(type='MultiLabelCalibration', mode='binary', n_bins=10),
]
test_evaluator = val_evaluator
