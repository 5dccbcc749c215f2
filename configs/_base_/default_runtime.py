default_scope = 'mmccr'
# mmengine's Runner; environment and full config go to the log file only.
runner_type = 'mmccr.MMCCRRunner'

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=10),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # Checkpoints hold only trained parameters (kilobytes for CoOp).
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=2),
    sampler_seed=dict(type='DistSamplerSeedHook'),
)
custom_hooks = [
    dict(type='ClassSetHook'),  # base classes to train, all to evaluate
    dict(type='SafeCheckpointHook'),  # weights_only-loadable checkpoints
    dict(type='NonFiniteGuardHook'),  # stop on a NaN/inf loss or gradient
    dict(type='RandomStateHook'),  # exact resume of augmentation
    dict(type='ReferenceFeaturesHook'),  # training features for PIECE
    dict(type='CalibratorFitHook'),  # fit post-hoc calibrators (held out)
    dict(type='EvaluationReportHook'),  # table, per-class JSON, diagrams
    dict(type='FeatureCacheHook'),  # frozen image features computed once
]
# The frozen-feature cache (docs/performance.md): 'auto' reads the image
# features from disk where that is exact (deterministic transforms and a
# final flip); --cfg-options feature_cache.enabled=False turns it off.
feature_cache = dict(enabled='auto', dtype='float32', cache_dir=None)

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)
# Works for CUDA (NCCL) and CPU (gloo) processes alike.
model_wrapper_cfg = dict(
    # Scoped name: mmengine looks wrappers up in its root registry.
    type='mmccr.MMCCRDistributedDataParallel',
    broadcast_buffers=False,
    find_unused_parameters=False)

vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='Visualizer', vis_backends=vis_backends)
log_processor = dict(by_epoch=True)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=1, deterministic=False)
