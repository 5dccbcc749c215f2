# CoOp/Dassl optimiser: SGD 2e-3, one constant warm-up epoch at 1e-5, cosine.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.002, momentum=0.9, weight_decay=5e-4))
# The cosine spans the training epochs (T_max defaults to max_epochs).
param_scheduler = dict(
    type='ConstantWarmupCosineLR', warmup_steps=1, warmup_lr=1e-5)
train_cfg = dict(by_epoch=True, max_epochs=10, val_interval=10)
val_cfg = dict()
test_cfg = dict()
# Linear LR scaling reference (tools/train.py --auto-scale-lr).
auto_scale_lr = dict(base_batch_size=32)
