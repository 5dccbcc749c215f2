# The full toy grid: every learner x {vanilla, +DAC, +DOR, +CCR} x 5 seeds on
# the toy world (docs/toyworld.md), plus zero-shot ToyCLIP. DAC runs test the
# checkpoint of the vanilla run of their seed (no retraining).
#   python tools/run_grid.py configs/grids/toy_full.py
#   python tools/analysis_tools/make_tables.py work_dirs/grids/toy_full \
#       --table 1 3 4
backbone = 'toyclip'
datasets = ['toyworld_base2new']
schedule = 'sgd_cos_toyworld'
learners = [
    dict(name='zero-shot', base='zeroshot'),
    dict(name='CoOp', base='coop',
         cfg_options={'learner.n_ctx': 4, 'learner.ctx_init': 'a photo of a'}),
    dict(name='CoCoOp', base='cocoop'),
    dict(name='KgCoOp', base='kgcoop'),
    dict(name='DualCoOp', base='dualcoop'),
]
calibrators = [
    'none', 'dac', 'ccr',
    dict(name='dor', base='dor',
         cfg_options={'calibrators.0.vocab_file':
                      'configs/demo/dor_vocab_5k.txt',
                      'calibrators.0.pool_size': 1000}),
]
exclude = [dict(learners='zero-shot', calibrators=['dac', 'ccr', 'dor'])]
seeds = [1, 2, 3, 4, 5]
