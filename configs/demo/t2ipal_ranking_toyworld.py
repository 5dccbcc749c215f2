# Demo: T2I-PAL + ranking loss per branch on the toy world: prompts, visual
# adapter and prototypes trained on images the renderer generates from 16
# shots per base class of the training captions; tested on the test images.
_base_ = [
    '../_base_/backbones/toyclip.py',
    '../_base_/learners/t2ipal.py',
    '../_base_/calibrators/none.py',
    '../_base_/datasets/toyworld_generated_base2new.py',
    '../_base_/schedules/sgd_cos_toyworld.py',
]
learner = dict(num_classes=14)
