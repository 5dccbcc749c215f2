# TaI++ stage 2 + BCE per branch on MS-COCO 2014: text prompts,
# pseudo-visual prompts and dual adapters co-learned on 16 shots per base
# class of the train2014 captions, ViT-B/16; tested on the val2014 images.
# Starts from stage 1 (trained first into <work_dir>/stage1 unless
# load_from names a stage-1 checkpoint). Adapters: lr × 20 (official ratio).
_base_ = [
    '_base_/backbones/vit-b16.py',
    '_base_/learners/taiplusplus.py',
    '_base_/calibrators/none.py',
    '_base_/datasets/coco14_captions_base2new.py',
    '_base_/schedules/sgd_cos_10e.py',
    '_base_/default_runtime.py',
]
learner = dict(num_classes=40)
load_from_config = 'configs/taiplusplus_pretrain_coco_16shot.py'
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={'adapter': dict(lr_mult=20.)}))
loss = dict(type='BCELoss')
