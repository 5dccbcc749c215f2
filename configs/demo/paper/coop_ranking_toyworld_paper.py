# coop_ranking_toyworld.py under the `paper` preset (a reconstruction of
# the CCR paper's evaluation; docs/metrics.md, Conventions). Training is the
# same as the default leaf's; only the test evaluator changes.
_base_ = ['../coop_ranking_toyworld.py', '../../_base_/evaluation/paper.py']
test_evaluator = {{_base_.paper_evaluator}}
