# Generated coloured shapes (12 classes, 32 px): offline demo and tests.
# Base classes: the first 6; evaluation on all 12 (base / new / HM).
_base_ = ['./multilabel_loaders.py']
data_root = 'work_dirs/demo_data'  # names the few-shot split cache folder

train_pipeline = [
    dict(type='LoadImage'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackInputs'),
]
test_pipeline = [dict(type='LoadImage'), dict(type='PackInputs')]
loader = dict(num_workers=0, persistent_workers=False)

train_dataloader = dict(
    batch_size=16,
    **loader,
    dataset=dict(
        type='SyntheticShapes',
        data_root=data_root,
        num_images=512,
        split='train',
        pipeline=train_pipeline))
val_dataloader = dict(
    **loader,
    dataset=dict(
        type='SyntheticShapes',
        data_root=data_root,
        num_images=256,
        split='test',
        pipeline=test_pipeline))
test_dataloader = val_dataloader
