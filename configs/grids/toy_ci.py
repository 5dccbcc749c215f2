# CI-size toy grid: 2 learners x 2 calibrators x 2 seeds on the toy world,
# shortened (4 shots, 2 epochs, 300 test images) so it runs in a test.
backbone = 'toyclip'
datasets = ['toyworld_base2new']
schedule = 'sgd_cos_toyworld'
learners = [
    dict(name='CoOp', base='coop',
         cfg_options={'learner.n_ctx': 4, 'learner.ctx_init': 'a photo of a'}),
    dict(name='KgCoOp', base='kgcoop'),
]
calibrators = ['none', 'dac']
seeds = [1, 2]
cfg_options = {
    'train_dataloader.dataset.num_shots': 4,
    'train_cfg.max_epochs': 2,
    'train_cfg.val_interval': 2,
    'val_dataloader.dataset.num_images': 100,
    'test_dataloader.dataset.num_images': 300,
}
