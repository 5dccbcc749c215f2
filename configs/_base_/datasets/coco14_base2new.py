# MS-COCO 2014: few-shot training on the 40 base classes, evaluation on all
# 80 classes of val2014 (groups base / new / HM). See docs/datasets/coco.md.
dataset_type = 'CocoMultiLabel'
data_root = '{{$MMCCR_DATA:data}}/coco'

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
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/instances_train2014.json',
        data_prefix=dict(img_path='train2014'),
        class_split='base',
        num_shots=16,
        seed=1,
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=64,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/instances_val2014.json',
        data_prefix=dict(img_path='val2014'),
        class_split='all',
        class_counts='annotations/instances_train2014.json',
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader

val_evaluator = [
    dict(type='MultiLabelRecognition', threshold=0.5),
    dict(type='MultiLabelCalibration', mode='binary', n_bins=10),
]
test_evaluator = val_evaluator
