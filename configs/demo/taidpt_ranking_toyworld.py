# Demo: TaI-DPT + ranking loss on each branch (official) on the toy world:
# prompts trained on 16 shots per base class of the training scenes'
# captions (no training image), tested on the test images.
_base_ = [
    '../_base_/backbones/toyclip.py',
    '../_base_/learners/taidpt.py',
    '../_base_/calibrators/none.py',
    '../_base_/datasets/toyworld_captions_base2new.py',
    '../_base_/schedules/sgd_cos_toyworld.py',
]
