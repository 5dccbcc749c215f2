# Demo: TaI++ stage 1 on the toy world: pseudo-visual prompts (8 px,
# resized to ToyCLIP's 32) for the 14 base classes, trained on 16 shots per
# base class of the training captions; SGD lr 0.1 (official).
_base_ = [
    '../_base_/backbones/toyclip.py',
    '../_base_/learners/taiplusplus_pretrain.py',
    '../_base_/calibrators/none.py',
    '../_base_/datasets/toyworld_captions_base2new.py',
    '../_base_/schedules/sgd_cos_toyworld.py',
]
learner = dict(num_classes=14, prompt_size=8)
optim_wrapper = dict(optimizer=dict(lr=0.1))
