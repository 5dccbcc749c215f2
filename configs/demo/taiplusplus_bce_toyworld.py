# Demo: TaI++ stage 2 + BCE per branch on the toy world: text
# prompts, pseudo-visual prompts and dual adapters co-learned on 16 shots
# per base class of the training captions; tested on the test images.
# Starts from stage 1 (trained first into <work_dir>/stage1 unless
# load_from names a stage-1 checkpoint). Adapters: lr × 20 (official ratio).
_base_ = [
    '../_base_/backbones/toyclip.py',
    '../_base_/learners/taiplusplus.py',
    '../_base_/calibrators/none.py',
    '../_base_/datasets/toyworld_captions_base2new.py',
    '../_base_/schedules/sgd_cos_toyworld.py',
]
# Toy sizes (prompt_size as in stage 1), so checkpoints stay small.
learner = dict(num_classes=14, prompt_size=8, adapter_hidden=32)
load_from_config = 'configs/demo/taiplusplus_pretrain_toyworld.py'
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={'adapter': dict(lr_mult=20.)}))
loss = dict(type='BCELoss')
