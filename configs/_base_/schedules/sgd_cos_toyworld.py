# Demo schedule and runtime: CoOp's SGD recipe (lr 2e-3, batch 32, one
# warm-up epoch at 1e-5, cosine), 50 epochs (CoOp's count for 1 shot; 16
# shots get 200 there) so that the demo fits in 5 minutes on 2 CPU cores.
# An epoch is 4 iterations here, so checkpoints every 10 epochs.
_base_ = ['./sgd_cos_10e.py', '../default_runtime.py']
train_cfg = dict(max_epochs=50, val_interval=50)
default_hooks = dict(checkpoint=dict(interval=10))
