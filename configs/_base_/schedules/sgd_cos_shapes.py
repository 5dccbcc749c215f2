# Smoke-run schedule on generated shapes: 4 epochs, validation every 2.
_base_ = ['./sgd_cos_10e.py', '../default_runtime.py']
train_cfg = dict(max_epochs=4, val_interval=2)
default_hooks = dict(logger=dict(interval=5))
