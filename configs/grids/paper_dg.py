# The CCR paper's domain-generalization grid (Table 5): CoOp + BCE and
# CoOp + BCE + CCR trained 16-shot on COCO-2014, tested on COCO-2014 val (the
# source) and on the targets COCO-2017, COCO-2015 (labels not public: bring
# your own, docs/datasets/dg.md) and COCO-LT. 5 seeds. Needs the CLIP
# weights and the data. Render with
#   make_tables.py work_dirs/grids/paper_dg --table 5 --column-axis target
config_axes = ('learners', 'calibrators', 'target')
configs = {
    'CoOp/none/coco14': 'configs/coop_bce_coco_16shot.py',
    'CoOp/none/coco17': 'configs/dg/coop_bce_coco14_to_coco17_16shot.py',
    'CoOp/none/coco15': 'configs/dg/coop_bce_coco14_to_coco15_16shot.py',
    'CoOp/none/cocolt': 'configs/dg/coop_bce_coco14_to_cocolt_16shot.py',
    'CoOp/ccr/coco14': 'configs/coop_ccr_coco_16shot.py',
    'CoOp/ccr/coco17': 'configs/dg/coop_ccr_coco14_to_coco17_16shot.py',
    'CoOp/ccr/coco15': 'configs/dg/coop_ccr_coco14_to_coco15_16shot.py',
    'CoOp/ccr/cocolt': 'configs/dg/coop_ccr_coco14_to_cocolt_16shot.py',
}
seeds = [1, 2, 3, 4, 5]
