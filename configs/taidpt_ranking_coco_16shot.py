# TaI-DPT + ranking loss on each branch (official) on MS-COCO 2014: prompts
# trained on 16 shots per base class of the train2014 captions (no training
# image), ViT-B/16; evaluated on all 80 classes of the val2014 images.
_base_ = [
    '_base_/backbones/vit-b16.py',
    '_base_/learners/taidpt.py',
    '_base_/calibrators/none.py',
    '_base_/datasets/coco14_captions_base2new.py',
    '_base_/schedules/sgd_cos_10e.py',
    '_base_/default_runtime.py',
]
