# TaI++ stage 1 on MS-COCO 2014: pseudo-visual prompts (224 px) for the 40
# base classes, trained on 16 shots per base class of the train2014
# captions, ViT-B/16; SGD lr 0.1 (official).
_base_ = [
    '_base_/backbones/vit-b16.py',
    '_base_/learners/taiplusplus_pretrain.py',
    '_base_/calibrators/none.py',
    '_base_/datasets/coco14_captions_base2new.py',
    '_base_/schedules/sgd_cos_10e.py',
    '_base_/default_runtime.py',
]
learner = dict(num_classes=40)
optim_wrapper = dict(optimizer=dict(lr=0.1))
