"""Plot reliability diagrams from a results JSON written by the evaluation.

``python tools/analysis_tools/reliability_diagram.py RESULTS.json`` writes
one PNG per class group, by default to ``reliability/`` next to the JSON,
and prints the written paths.
"""
import argparse
import json
import os.path as osp
from typing import List, Optional

from mmccr.visualization import plot_results


def build_parser() -> argparse.ArgumentParser:
    """The command-line parser."""
    parser = argparse.ArgumentParser(
        description='Plot reliability diagrams (one PNG per class group) '
        "from the 'reliability' entry of an evaluation results JSON")
    parser.add_argument('results', help='results JSON written by the test')
    parser.add_argument(
        '--out-dir',
        help='folder of the PNGs (default: reliability/ next to the JSON)')
    parser.add_argument(
        '--groups', nargs='+',
        help='class groups to plot, e.g. base new (default: all stored)')
    parser.add_argument(
        '--title', help="start of each title, e.g. 'CoOp+CCR'")
    return parser


def main(argv: Optional[List[str]] = None) -> List[str]:
    """Write the diagrams and print their paths.

    Args:
        argv (List[str], optional): Arguments without the program name.
            Defaults to None (``sys.argv[1:]``).

    Returns:
        List[str]: The written paths.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        with open(args.results, encoding='utf-8') as f:
            results = json.load(f)
    except (OSError, ValueError) as e:
        parser.error(f'cannot read results JSON {args.results}: {e}')
    if not isinstance(results, dict) or 'reliability' not in results:
        parser.error(f"{args.results} has no 'reliability' entry; write it "
                     'with an evaluation that reports calibration')
    out_dir = args.out_dir or osp.join(
        osp.dirname(osp.abspath(args.results)), 'reliability')
    try:
        paths = plot_results(results, out_dir, groups=args.groups,
                             title=args.title)
    except ValueError as e:
        parser.error(f'{args.results}: {e}')
    for path in paths:
        print(path)
    return paths


if __name__ == '__main__':
    main()
