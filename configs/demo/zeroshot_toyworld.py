# Demo: zero-shot ToyCLIP ("a photo of a {}.") on the toy world's 28 classes.
# Nothing trains; the 16-shot base sample is kept as `reference_dataloader`
# so PIECE's reference images match those of the tuned models.
_base_ = [
    '../_base_/backbones/toyclip.py',
    '../_base_/learners/zeroshot.py',
    '../_base_/datasets/toyworld_base2new.py',
    '../_base_/default_runtime.py',
]
reference_dataloader = _base_.train_dataloader
train_dataloader = None
train_cfg = None
val_dataloader = None
val_evaluator = None
test_cfg = dict()
