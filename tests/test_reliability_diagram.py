"""Reliability diagrams: drawn artists, saved PNGs and the CLI."""
import copy
import importlib.util
import json
import os
from pathlib import Path

import matplotlib
import pytest
from PIL import Image

from mmccr.visualization import plot_reliability_diagram, plot_results

ROOT = Path(__file__).resolve().parents[1]
PNG_MAGIC = b'\x89PNG\r\n\x1a\n'

# Five bins of unequal width (widths 0.3, 0.2, 0.1, 0.2, 0.2). Bin 1 is
# empty; bin 4 only holds confidences of exactly 1.0, so it has a count but
# no averages.
STATS = dict(
    edges=[0.0, 0.3, 0.5, 0.6, 0.8, 1.0],
    count=[50, 0, 30, 15, 5],
    acc=[0.1, None, 0.5, 0.9, None],
    conf=[0.2, None, 0.55, 0.7, None],
    ece_pooled=0.0432,
    ece_mean=0.0567,
    n_pairs=100,
    n_classes=3)
FILLED = [0, 2, 3]
LEFT = [0.0, 0.5, 0.6]
WIDTH = [0.3, 0.1, 0.2]


def draw(stats=STATS, mode='binary', binning='mass', **kwargs):
    """Draw ``stats`` as 5 bins with the title 'T'."""
    return plot_reliability_diagram(stats, mode=mode, n_bins=5,
                                    binning=binning, title='T', **kwargs)


def container(ax, label):
    """The bar container of ``ax`` labelled ``label``."""
    (bars, ) = [c for c in ax.containers if c.get_label() == label]
    return bars


def results(groups=('base', 'new')):
    """A results dict whose groups all hold ``STATS``."""
    return dict(accuracy=dict(mAP=50.0),
                reliability=dict(mode='binary', n_bins=5, binning='mass',
                                 groups={g: copy.deepcopy(STATS)
                                         for g in groups}))


def assert_png(path):
    """``path`` is a PNG that PIL opens, of a plausible size."""
    assert Path(path).read_bytes()[:8] == PNG_MAGIC
    with Image.open(path) as img:
        assert img.format == 'PNG'
        width, height = img.size
    assert 200 <= width <= 3000 and 200 <= height <= 3000


def test_accuracy_bars_only_for_filled_bins():
    ax = draw().axes[0]
    bars = container(ax, 'Outputs')
    assert len(bars.patches) == len(FILLED)
    for patch, i, left, width in zip(bars.patches, FILLED, LEFT, WIDTH,
                                     strict=True):
        assert patch.get_y() == 0
        assert patch.get_height() == pytest.approx(STATS['acc'][i])
        assert patch.get_x() == pytest.approx(left)
        assert patch.get_width() == pytest.approx(width)


def test_gap_bars_span_accuracy_to_mean_confidence():
    bars = container(draw().axes[0], 'Gap')
    assert len(bars.patches) == len(FILLED)
    for patch, i, left in zip(bars.patches, FILLED, LEFT, strict=True):
        ends = sorted([patch.get_y(), patch.get_y() + patch.get_height()])
        expected = sorted([STATS['acc'][i], STATS['conf'][i]])
        assert ends == pytest.approx(expected)
        assert patch.get_x() == pytest.approx(left)
        assert patch.get_hatch()


def test_identity_diagonal_is_dashed():
    (line, ) = [ln for ln in draw().axes[0].lines
                if ln.get_label() == 'Perfect calibration']
    assert list(line.get_xdata()) == [0, 1]
    assert list(line.get_ydata()) == [0, 1]
    assert line.get_linestyle() == '--'


def test_text_box_shows_ece_times_100():
    (text, ) = [t.get_text() for t in draw().axes[0].texts]
    assert 'ECE (pooled) 4.32' in text
    assert 'mean class ECE 5.67' in text
    assert '×10⁻²' in text


@pytest.mark.parametrize('missing', [None, float('nan')])
def test_text_box_undefined_ece(missing):
    stats = dict(STATS, ece_mean=missing)
    (text, ) = [t.get_text() for t in draw(stats).axes[0].texts]
    assert 'mean class ECE n/a' in text
    assert 'ECE (pooled) 4.32' in text


@pytest.mark.parametrize('mode,ylabel,yscale',
                         [('binary', 'Accuracy', 'linear'),
                          ('positive', 'Accuracy', 'linear'),
                          ('prob', 'Fraction positive', 'log')])
def test_mode_sets_labels_and_histogram_scale(mode, ylabel, yscale):
    ax, hist = draw(mode=mode).axes
    assert ax.get_ylabel() == ylabel
    assert hist.get_yscale() == yscale
    assert ax.get_xlim() == (0, 1) and ax.get_ylim() == (0, 1)


def test_histogram_is_fraction_of_pairs_per_bin():
    hist = draw().axes[1]
    # Bins 0, 2, 3, 4 hold 50, 30, 15 and 5 of the 100 pairs; bin 1 none.
    heights = [p.get_height() for p in hist.patches]
    assert heights == pytest.approx([0.5, 0.3, 0.15, 0.05])
    assert [p.get_x() for p in hist.patches] == pytest.approx(
        [0.0, 0.5, 0.6, 0.8])


def test_histogram_average_lines():
    lines = {ln.get_label(): ln.get_xdata()[0]
             for ln in draw().axes[1].lines}
    # Count-weighted over the bins with averages (counts 50, 30, 15):
    # accuracy (5 + 15 + 13.5) / 95, confidence (10 + 16.5 + 10.5) / 95.
    assert lines == {'Avg. accuracy': pytest.approx(33.5 / 95),
                     'Avg. confidence': pytest.approx(37 / 95)}


def test_all_bins_empty_draws_no_bars():
    stats = dict(STATS, count=[0] * 5, acc=[None] * 5, conf=[None] * 5)
    ax, hist = draw(stats).axes
    assert len(ax.patches) == len(hist.patches) == len(hist.lines) == 0


@pytest.mark.parametrize('binning,words', [('width', 'equal-width'),
                                           ('mass', 'equal-mass')])
def test_title_states_bins_binning_and_mode(binning, words):
    title = draw(mode='prob', binning=binning).axes[0].get_title()
    assert title == f'T | 5 {words} bins, mode=prob'


@pytest.mark.parametrize('kwargs', [dict(mode='multi'),
                                    dict(binning='quantile'),
                                    dict(stats=dict(STATS, acc=[0.1] * 4))])
def test_invalid_arguments(kwargs):
    with pytest.raises(ValueError):
        draw(**kwargs)


def test_saves_png_atomically(tmp_path):
    out = tmp_path / 'a' / 'b' / 'diagram.png'
    out.parent.mkdir(parents=True)
    out.write_bytes(b'old')
    fig = draw(out_file=str(out))
    assert fig.axes[0].get_title().startswith('T')
    assert_png(out)
    assert os.listdir(out.parent) == ['diagram.png']


def test_creates_parent_folders(tmp_path):
    out = tmp_path / 'new' / 'diagram.png'
    draw(out_file=str(out))
    assert_png(out)


def test_leaves_backend_and_pyplot_alone(monkeypatch):
    import matplotlib.pyplot as plt
    figures = plt.get_fignums()
    monkeypatch.setitem(matplotlib.rcParams, 'backend', 'svg')
    draw()
    assert matplotlib.rcParams['backend'] == 'svg'
    assert plt.get_fignums() == figures


def test_plot_results_one_png_per_group(tmp_path):
    paths = plot_results(results(), str(tmp_path / 'out'), prefix='x_')
    assert paths == [str(tmp_path / 'out' / 'x_reliability_base.png'),
                     str(tmp_path / 'out' / 'x_reliability_new.png')]
    for path in paths:
        assert_png(path)
    assert sorted(os.listdir(tmp_path / 'out')) == [
        'x_reliability_base.png', 'x_reliability_new.png']


def test_plot_results_groups_and_title(tmp_path, monkeypatch):
    from mmccr.visualization import reliability
    calls = []
    monkeypatch.setattr(reliability, 'plot_reliability_diagram',
                        lambda stats, **kw: calls.append(kw))
    paths = plot_results(results(('base', 'new', 'all')), str(tmp_path),
                         groups=['new', 'base'], title='CoOp+CCR')
    assert paths == [str(tmp_path / 'reliability_new.png'),
                     str(tmp_path / 'reliability_base.png')]
    assert [c['title'] for c in calls] == ['CoOp+CCR — new classes',
                                           'CoOp+CCR — base classes']
    assert calls[0]['mode'] == 'binary' and calls[0]['n_bins'] == 5
    assert calls[0]['binning'] == 'mass'
    assert calls[0]['out_file'] == paths[0]


def test_plot_results_errors(tmp_path):
    with pytest.raises(ValueError, match="'reliability'"):
        plot_results(dict(accuracy={}), str(tmp_path))
    with pytest.raises(ValueError, match='tail'):
        plot_results(results(), str(tmp_path), groups=['base', 'tail'])
    assert os.listdir(tmp_path) == []


@pytest.fixture(scope='module')
def cli():
    """``main`` of ``tools/analysis_tools/reliability_diagram.py``."""
    path = ROOT / 'tools' / 'analysis_tools' / 'reliability_diagram.py'
    spec = importlib.util.spec_from_file_location('reliability_cli', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


def write_json(path, obj):
    path.write_text(json.dumps(obj))
    return str(path)


def test_cli_default_out_dir(cli, tmp_path, capsys):
    src = write_json(tmp_path / 'results.json', results())
    paths = cli([src])
    folder = tmp_path / 'reliability'
    assert sorted(os.listdir(folder)) == ['reliability_base.png',
                                          'reliability_new.png']
    for path in paths:
        assert_png(path)
    assert capsys.readouterr().out.split() == paths


def test_cli_groups_and_out_dir(cli, tmp_path):
    src = write_json(tmp_path / 'results.json', results())
    cli([src, '--out-dir', str(tmp_path / 'd'), '--groups', 'new',
         '--title', 'CoOp'])
    assert os.listdir(tmp_path / 'd') == ['reliability_new.png']


@pytest.mark.parametrize('content', [json.dumps(dict(accuracy={})),
                                     '{"reliability": ',
                                     json.dumps([1, 2]),
                                     None])
def test_cli_bad_json_names_file(cli, tmp_path, capsys, content):
    src = tmp_path / 'results.json'
    if content is not None:
        src.write_text(content)
    with pytest.raises(SystemExit) as exc:
        cli([str(src)])
    assert exc.value.code == 2
    assert str(src) in capsys.readouterr().err
    assert not (tmp_path / 'reliability').exists()


def test_cli_unknown_group(cli, tmp_path, capsys):
    src = write_json(tmp_path / 'results.json', results())
    with pytest.raises(SystemExit):
        cli([src, '--groups', 'tail'])
    err = capsys.readouterr().err
    assert 'tail' in err and src in err


def test_a_long_title_stays_inside_the_saved_figure(tmp_path):
    """Issue 13: the title of a grid run was cut off at both edges."""
    title = 'toyworld_base2new/DualCoOp/tempscale/seed1 — base classes'
    path = tmp_path / 'long.png'
    fig = plot_reliability_diagram(STATS, mode='binary', n_bins=5,
                                   binning='width', title=title,
                                   out_file=str(path))
    renderer = fig.canvas.get_renderer()
    box = fig.axes[0].title.get_window_extent(renderer)
    width = fig.get_figwidth() * fig.dpi
    assert 0 <= box.x0 and box.x1 <= width, (box, width)
    text = fig.axes[0].get_title()
    # every word is kept, over several lines
    assert text.replace('\n', ' ') == (f'{title} 5 equal-width bins, '
                                       'mode=binary')
    assert text.count('\n') >= 2
    assert path.read_bytes()[:8] == PNG_MAGIC
