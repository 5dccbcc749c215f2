# CoOp + BCE + DAC (post-hoc) on MS-COCO 2014, 16 shots of the 40 base classes,
# ViT-B/16; evaluated on all 80 val2014 classes.
_base_ = [
    '_base_/backbones/vit-b16.py',
    '_base_/learners/coop.py',
    '_base_/calibrators/dac.py',
    '_base_/datasets/coco14_base2new.py',
    '_base_/schedules/sgd_cos_10e.py',
    '_base_/default_runtime.py',
]
