"""Tables from a results store (issue 13): values against hand
computations on a small synthetic store, the paired test on known numbers,
missing cells, conventions, and the LaTeX structure."""
import csv
import io
import json
import math
import os.path as osp
import re
import shutil
import subprocess
from runpy import run_path

import pytest

from mmccr.evaluation.paper_tables import (
    LAYOUTS,
    build_table,
    to_csv,
    to_latex,
    to_markdown,
)
from mmccr.evaluation.stats import average_ranks, wilcoxon_signed_rank

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONVENTIONS = ['calib: p = sigmoid(logit); mode binary',
               'HM = harmonic mean 2bn/(b+n) of the base and new values']
PAPER_NOTE = ("Paper preset: a reconstruction of the CCR paper's evaluation "
              '(its Appendix B is not public).')


def record(dataset, calibrator, seed, conventions=CONVENTIONS, **metrics):
    return dict(run=f'{dataset}/CoOp/{calibrator}/seed{seed}', status='done',
                cell=dict(datasets=dataset, learners='CoOp',
                          calibrators=calibrator),
                seed=seed, conventions=conventions,
                metrics={f'calib/{k}': v for k, v in metrics.items()})


#: ECE base ×100: none 10, 12, 14 (mean 12, sample std 2); ccr 8, 9, 13
#: (mean 10, sample std √7 ≈ 2.6458). ECE new only for seeds 1-2 of ccr.
#: Dataset d2 has only the none run of seed 1.
STORE = [
    record('d1', 'none', 1, ECE_base=0.10, ECE_new=0.20, ECE_HM=0.15),
    record('d1', 'none', 2, ECE_base=0.12, ECE_new=0.22, ECE_HM=0.16),
    record('d1', 'none', 3, ECE_base=0.14, ECE_new=0.24, ECE_HM=0.17),
    record('d1', 'ccr', 1, ECE_base=0.08, ECE_new=0.10, ECE_HM=0.09),
    record('d1', 'ccr', 2, ECE_base=0.09, ECE_new=0.30, ECE_HM=0.14),
    record('d1', 'ccr', 3, ECE_base=0.13, ECE_HM=0.13),
    record('d2', 'none', 1, ECE_base=0.30, ECE_new=0.40, ECE_HM=0.35),
]


def table_one(store=STORE, **kwargs):
    return build_table(store, LAYOUTS[1], metrics=['ECE'], **kwargs)


def test_wilcoxon_exact_p_values_by_hand():
    # all 5 differences positive: W+ = 15, P(W+ >= 15) = 1/32, p = 2/32
    test = wilcoxon_signed_rank([0] * 5, [1, 2, 3, 4, 5])
    assert (test.n, test.w_plus) == (5, 15)
    assert test.p == pytest.approx(0.0625)
    # one negative (rank 2): W+ = 13; sums >= 13 of {1..5}: 15, 14, 13 → 3
    test = wilcoxon_signed_rank([0] * 5, [1, -2, 3, 4, 5])
    assert test.w_plus == 13 and test.p == pytest.approx(2 * 3 / 32)
    # ties: |d| = 2, 2, 2, 1 → ranks 3, 3, 3, 1; W+ = 9; 2 of 16 patterns
    # reach 9 (3+3+3 and 3+3+3+1)
    test = wilcoxon_signed_rank([0] * 4, [2, 2, 2, -1])
    assert test.w_plus == 9 and test.p == pytest.approx(2 * 2 / 16)
    # a zero difference is dropped: n = 3, all negative, p = 2/8
    test = wilcoxon_signed_rank([5, 5, 5, 5], [5, 4, 3, 2])
    assert test.n == 3 and test.w_plus == 0
    assert test.p == pytest.approx(0.25)
    assert test.mean_diff == pytest.approx(-1.5)
    assert math.isnan(wilcoxon_signed_rank([1, 2], [1, 2]).p)
    assert average_ranks([5, 1, 5, 3]) == [3.5, 1, 3.5, 2]


def test_table_values_equal_a_hand_computation():
    table = table_one()
    text = to_markdown(table).splitlines()
    lines = [line for line in text if line.startswith('| ')]
    assert lines[0] == '| Method | ECE base | ECE new | ECE HM |'
    d1 = lines.index('| *d1* | | | |')
    d2 = lines.index('| *d2* | | | |')
    none1, ccr1 = lines[d1 + 1], lines[d1 + 2]
    none2, ccr2 = lines[d2 + 1], lines[d2 + 2]
    # base: none 12.00 ± 2.00; ccr 10.00 ± √7 (best: bold)
    assert none1.startswith('| CoOp/none | 12.00 ± 2.00 | ')
    assert ccr1.startswith(f'| CoOp/ccr | **10.00 ± {math.sqrt(7):.2f}** | ')
    # new: none 22 ± 2 (3 seeds); ccr 20 ± 14.14 (2 seeds, marked n=2),
    # the lower mean: best
    assert '| 22.00 ± 2.00 |' in none1
    assert f'| **20.00 ± {math.sqrt(200):.2f} (n=2)** |' in ccr1
    # d2: one run of none (no ±, fewer seeds than elsewhere: n=1), ccr
    # missing, never filled
    assert none2 == ('| CoOp/none | **30.00 (n=1)** | **40.00 (n=1)** | '
                     '**35.00 (n=1)** |')
    assert ccr2 == '| CoOp/ccr | – | – | – |'


def test_csv_holds_mean_std_n_and_best():
    rows = list(csv.DictReader(io.StringIO(to_csv(table_one()))))
    ccr = next(r for r in rows if r['block'] == 'd1'
               and r['method'] == 'CoOp/ccr')
    assert float(ccr['ECE_base_mean']) == pytest.approx(10.0)
    assert float(ccr['ECE_base_std']) == pytest.approx(math.sqrt(7), abs=1e-4)
    assert ccr['ECE_base_n'] == '3' and ccr['ECE_base_best'] == '1'
    assert ccr['ECE_new_n'] == '2' and ccr['ECE_new_best'] == '1'
    none = next(r for r in rows if r['block'] == 'd1'
                and r['method'] == 'CoOp/none')
    assert none['ECE_new_best'] == '0' and none['ECE_base_best'] == '0'
    missing = next(r for r in rows if r['block'] == 'd2'
                   and r['method'] == 'CoOp/ccr')
    assert missing['ECE_base_mean'] == '' and missing['ECE_base_n'] == '0'


def test_paired_test_over_the_shared_dataset_seed_pairs():
    table = table_one()
    base = next(t for t in table.tests if t['column'] == 'ECE base')
    # d1 pairs (seeds 1-3): ccr − none = −2, −3, −1 → W+ = 0, p = 2/8; d2
    # has no ccr run, so it adds no pair
    assert base['pair'] == 'CoOp: ccr vs none'
    assert base['n_pairs'] == 3 and base['w_plus'] == 0
    assert base['p'] == pytest.approx(0.25)
    assert base['mean_diff'] == pytest.approx(-2.0)
    new = next(t for t in table.tests if t['column'] == 'ECE new')
    # seeds 1-2 only: −10, +8 → ranks 2, 1; W+ = 1; p = 2·P(W+ ≤ 1) = 1
    assert new['n_pairs'] == 2 and new['w_plus'] == 1
    assert new['p'] == pytest.approx(1.0)
    assert any(note.startswith('Paired test: Wilcoxon signed-rank test')
               for note in table.notes)


def test_conventions_and_reconstruction_are_named():
    table = table_one()
    assert table.notes[:2] == CONVENTIONS
    assert 'reconstruction' not in table.title
    assert table.title.startswith('Table 1 layout, chosen columns, ×10⁻²')
    assert build_table(STORE, LAYOUTS[3]).title.startswith(
        'Table 3: Calibration on head / medium / tail / new classes')
    assert [c[1] for c in table.columns] == ['base', 'new', 'HM']
    paper = [dict(r, conventions=[PAPER_NOTE] + CONVENTIONS) for r in STORE]
    for r in paper:
        r['metrics'] = dict(r['metrics'], **{'calib/ECE_Avg': 0.5})
    table = table_one(paper)
    assert 'a reconstruction' in table.title
    assert [c[1] for c in table.columns] == ['base', 'new', 'Avg']
    assert PAPER_NOTE in table.notes
    failed = table_one(failed=['d1/CoOp/ccr/seed4'])
    assert any('1 failed run(s)' in n and 'd1/CoOp/ccr/seed4' in n
               for n in failed.notes)


def test_dg_layout_has_a_column_per_dataset():
    store = [dict(r, metrics={'calib/ECE_all': r['metrics']['calib/ECE_base'],
                              'recog/mAP_all': 0.5}) for r in STORE]
    table = build_table(store, LAYOUTS[5])
    labels = [f'{m} {g} @ {d}' for m, g, d in table.columns]
    assert labels == ['ECE all @ d1', 'ECE all @ d2', 'mAP all @ d1',
                      'mAP all @ d2']
    text = to_markdown(table)
    # one block: d1 (3 seeds) and d2 (1 seed) side by side; the only
    # value of a column is its best; equal means tie
    assert '| CoOp/none | 12.00 ± 2.00 | **30.00 (n=1)** | **50.00 ± 0.00** ' \
        '| **50.00 (n=1)** |' in text
    assert '| CoOp/ccr | **10.00 ± 2.65** | – | **50.00 ± 0.00** | – |' \
        in text


def balanced(text: str) -> None:
    """Environments nest properly; braces balance; rows have the header's
    number of cells."""
    stack = []
    for kind, env in re.findall(r'\\(begin|end)\{(\w+)\}', text):
        if kind == 'begin':
            stack.append(env)
        else:
            assert stack and stack.pop() == env, env
    assert stack == []
    plain = re.sub(r'\\[{}]', '', text)
    assert plain.count('{') == plain.count('}')


def test_latex_is_booktabs_and_balanced(tmp_path):
    tex = to_latex(table_one())
    balanced(tex)
    for command in (r'\toprule', r'\midrule', r'\bottomrule',
                    r'\cmidrule(lr){2-4}'):
        assert command in tex
    assert r'\textbf{10.00 $\pm$ 2.65}' in tex
    assert 'CoOp/ccr & -- & -- & -- \\\\' in tex
    body = tex[tex.index(r'\midrule'):tex.index(r'\bottomrule')]
    for line in body.splitlines():
        if line.endswith('\\\\') and 'multicolumn' not in line:
            assert line.count(' & ') == 3, line
    if shutil.which('pdflatex'):  # a real run where LaTeX is installed
        doc = tmp_path / 't.tex'
        doc.write_text('\\documentclass{article}\\usepackage{booktabs}'
                       '\\begin{document}' + tex + '\\end{document}')
        subprocess.run(['pdflatex', '-interaction=nonstopmode', doc.name],
                       cwd=tmp_path, check=True, capture_output=True)


def test_make_tables_tool_reports_corrupt_lines(tmp_path, capsys):
    store = tmp_path / 'results.jsonl'
    lines = [json.dumps(r) for r in STORE]
    store.write_text('\n'.join(lines[:3] + ['{"broken'] + lines[3:]) + '\n')
    main = run_path(osp.join(REPO, 'tools', 'analysis_tools',
                             'make_tables.py'))['main']
    assert main([str(tmp_path), '--table', '1', '--metrics', 'ECE']) == 0
    out = capsys.readouterr().out
    assert f'{store}:4: not JSON' in out
    for ext in ('md', 'csv', 'tex', 'tests.csv'):
        assert (tmp_path / 'tables' / f'table1.{ext}').stat().st_size > 0
    assert (tmp_path / 'tables' / 'table1.md').read_text() == to_markdown(
        table_one())


def test_make_tables_renames_rows_and_limits_metric_groups(tmp_path):
    store = tmp_path / 'results.jsonl'
    store.write_text(''.join(json.dumps(r) + '\n' for r in STORE))
    main = run_path(osp.join(REPO, 'tools', 'analysis_tools',
                             'make_tables.py'))['main']
    assert main([str(store), '--table', '1', '--metrics', 'ECE:base,new',
                 '--names', 'CoOp/none=CoOp+BCE', 'CoOp/ccr=CoOp+CCR',
                 '--datasets', 'd1']) == 0
    lines = [line for line in (tmp_path / 'tables' / 'table1.md')
             .read_text().splitlines() if line.startswith('| ')]
    assert lines[0] == '| Method | ECE base | ECE new |'
    assert lines[1] == '| *d1* | | |'  # d2 left out by --datasets
    assert lines[2].startswith('| CoOp+BCE | 12.00 ± 2.00 |')
    assert lines[3].startswith('| CoOp+CCR | **10.00 ± 2.65** |')
    assert len(lines) == 4


def test_rows_keep_a_learner_together_whatever_the_store_order():
    def run(learner, calibrator):
        return dict(record('d1', calibrator, 1, ECE_base=0.1),
                    cell=dict(datasets='d1', learners=learner,
                              calibrators=calibrator))
    store = [run('CoOp', 'none'), run('KgCoOp', 'none'), run('CoOp', 'dac'),
             run('KgCoOp', 'dac')]  # post-hoc runs are stored last
    table = build_table(store, LAYOUTS[1], metrics=['ECE'])
    assert list(table.blocks['d1']) == ['CoOp/none', 'CoOp/dac',
                                        'KgCoOp/none', 'KgCoOp/dac']
