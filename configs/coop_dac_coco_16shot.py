# CoOp + BCE + DAC (post-hoc) on MS-COCO 2014, 16-shot base, ViT-B/16.
_base_ = [
    '_base_/models/coop_vit-b16.py',
    '_base_/calibrators/dac.py',
    '_base_/datasets/coco14_base2new.py',
    '_base_/schedules/sgd_cos_10e.py',
    '_base_/default_runtime.py',
]
model = dict(calibrators=_base_.calibrators)
