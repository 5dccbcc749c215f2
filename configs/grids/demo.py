# The demo's four methods (scripts/demo.sh) as a grid: zero-shot ToyCLIP,
# CoOp + BCE, CoOp + BCE + CCR, CoOp + ranking loss; 16 shots, seed 1.
#   python tools/run_grid.py configs/grids/demo.py
#   python tools/analysis_tools/make_tables.py work_dirs/grids/demo \
#       --table 1 --metrics mAP acc ECE ACE PIECE Gap:base,new \
#       --groups base new HM --names zero-shot/none=zero-shot \
#       CoOp/none=CoOp+BCE CoOp/ccr=CoOp+BCE+CCR CoOp/ranking/none=CoOp+ranking
backbone = 'toyclip'
datasets = ['toyworld_base2new']
schedule = 'sgd_cos_toyworld'
learners = [
    dict(name='zero-shot', base='zeroshot'),
    dict(name='CoOp', base='coop',
         cfg_options={'learner.n_ctx': 4, 'learner.ctx_init': 'a photo of a'}),
]
losses = [None,
          dict(name='ranking',
               cfg_options={'loss': dict(type='RankingLoss', margin=1.,
                                         scale=1.)})]
calibrators = ['none', 'ccr']
exclude = [
    dict(learners='zero-shot', calibrators='ccr'),
    dict(learners='zero-shot', losses='ranking'),
    dict(losses='ranking', calibrators='ccr'),
]
seeds = [1]
