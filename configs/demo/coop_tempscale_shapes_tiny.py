# Smoke run: CoOp + BCE + temperature scaling on shapes, tiny random CLIP.
_base_ = [
    '../_base_/models/coop_tiny-clip.py',
    '../_base_/calibrators/tempscale.py',
    '../_base_/datasets/shapes_base2new.py',
    '../_base_/schedules/sgd_cos_10e.py',
    '../_base_/default_runtime.py',
]
model = dict(calibrators=_base_.calibrators)
train_cfg = dict(max_epochs=4, val_interval=2)
default_hooks = dict(logger=dict(interval=5))
