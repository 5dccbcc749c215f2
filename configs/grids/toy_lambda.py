# λ sensitivity (Fig. 4) as a grid on the toy world: CoOp + BCE + CCR at
# λ in {1e-3, 1e-2, 1e-1, 1, 10} and λ = 0 (no calibrator), 3 seeds.
# Tested on the test split like every grid; tools/analysis_tools/
# lambda_sweep.py runs the same sweep on the val split (to choose λ) and
# draws sweep.png. Render: make_tables.py work_dirs/grids/toy_lambda
#   --table 1 --metrics acc ECE --groups base new HM
backbone = 'toyclip'
datasets = ['toyworld_base2new']
schedule = 'sgd_cos_toyworld'
learners = [dict(name='CoOp', base='coop',
                 cfg_options={'learner.n_ctx': 4,
                              'learner.ctx_init': 'a photo of a'})]
calibrators = ['ccr']
options = dict(
    lambda0={'calibrators': []},  # the baseline: no calibrator
    **{f'lambda{lam:g}': {'calibrators.0.loss_weight': lam}
       for lam in (1e-3, 1e-2, 1e-1, 1.0, 10.0)})
seeds = [1, 2, 3]
