"""A diagnostic after addendum 5, in no pick: the val and test mIoU of
four arms block by block of the scene (the preparation tool deals whole
blocks to the splits), pooled over seeds 0-4, to see which blocks make
val and test rank the 3000-iteration arms differently. Writes
``blocks.md`` and ``blocks.json`` here, or in ``--out-dir``::

    python docs/results/brazil_budget_use/blocks.py \\
        --budget work_dirs/bbud --work work_dirs/bbud_app
"""
import json
import os
import os.path as osp
import re
import sys
from collections import defaultdict

import numpy as np
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from mmseg.evaluation import IoUMetric

from dldm_mmseg.datasets.raster_split import block_edges
from dldm_mmseg.evaluation.logit_calibration import load_segmentor
from dldm_mmseg.experiments.alpha_sweep import finished_run
from dldm_mmseg.utils.compat import speed_up_configs
from dldm_mmseg.utils.io import atomic_open

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, HERE)
from budget_use import parse_args  # noqa: E402

ARMS = {'real only, 1500': ('budget', 'real'),
        'real only, 3000': ('work', 'real_3000'),
        'oversampling, 3000': ('work', 'oversample40_3000'),
        'alpha 1.0 filter, 3000': ('work', 'alpha_1_filter_val_3000')}
TILE = re.compile(r'.*_r(\d+)_c(\d+)\.png')
TITLE = 'Block by block (a diagnostic after addendum 5)'


def scene_blocks(data_root):
    """Row and column block edges of the scene the budget was cut from:
    its size from the full set's tiles (the last tile of a block lies
    flush with the block's end), its block size from ``summary.json``."""
    summary = json.load(open(osp.join(data_root, 'summary.json')))
    source = summary['label_budget']['source']
    size = np.zeros(2, dtype=int)
    for split in ('train', 'val', 'test'):
        for name in os.listdir(osp.join(source, 'img_dir', split)):
            match = TILE.fullmatch(name)
            if match:
                size = np.maximum(size, [int(match[1]) + summary['tile'],
                                         int(match[2]) + summary['tile']])
    block = summary['made_by']['settings']['block']
    rows, cols = (block_edges(int(n), block) for n in size)
    if f'{len(rows) - 1}x{len(cols) - 1}' != summary['block_grid']:
        raise ValueError(f'{data_root}: blocks {len(rows) - 1}x'
                         f'{len(cols) - 1} from the tiles, '
                         f'{summary["block_grid"]} in summary.json')
    return rows, cols


def block_of(name, rows, cols):
    """``(row, col)`` of the block holding the tile file ``name``."""
    match = TILE.fullmatch(osp.basename(name))
    return (int(np.searchsorted(rows, int(match[1]), 'right')) - 1,
            int(np.searchsorted(cols, int(match[2]), 'right')) - 1)


def block_counts(run_dir, split, rows, cols):
    """``{(row, col): areas}`` of the run's last checkpoint on ``split``:
    the intersection, union, predicted and labelled pixels of each class,
    as mmseg's ``IoUMetric`` counts them."""
    run = finished_run(run_dir)
    cfg = Config.fromfile(run['config'])
    model = load_segmentor(cfg, run['checkpoint'])
    counts = defaultdict(lambda: np.zeros((4, 2)))
    for batch in Runner.build_dataloader(cfg[f'{split}_dataloader']):
        for sample in model.test_step(batch):
            key = block_of(sample.img_path, rows, cols)
            counts[key] += np.stack([area.numpy() for area in
                                     IoUMetric.intersect_and_union(
                                         sample.pred_sem_seg.data.squeeze(),
                                         sample.gt_sem_seg.data.squeeze(),
                                         2, 255)])
    return counts


def miou(areas):
    return float(np.mean(areas[0] / areas[1]) * 100)


def main(arms=None, title=TITLE, doc=__doc__, budget=True, out_dir=HERE):
    """The tables of ``arms`` (``ARMS``; each must include real only and
    alpha 1.0 with the filter at 3000 iterations), titled ``title``; the
    command line from ``doc``, with ``--budget`` when ``budget``, writing
    to ``out_dir`` unless ``--out-dir`` is given."""
    arms = arms or ARMS
    args = parse_args(doc, out_dir=out_dir, budget=budget)
    speed_up_configs()
    init_default_scope('mmseg')
    roots = dict(work=args.work)
    if budget:
        roots['budget'] = args.budget
    rows, cols = scene_blocks(osp.join(args.work, 'data',
                                       'brazil_buildings'))
    result = {}
    for split in ('val', 'test'):
        pooled = {}
        for arm, (root, name) in arms.items():
            os.environ['DLDM_DEMO_DIR'] = osp.abspath(roots[root])
            total = defaultdict(lambda: np.zeros((4, 2)))
            for seed in args.seeds:
                run_dir = osp.join(roots[root], 'segmentors', f'seed{seed}',
                                   name)
                for key, value in block_counts(run_dir, split, rows,
                                               cols).items():
                    total[key] += value
            pooled[arm] = total
        labelled = {key: areas[3] for key, areas in
                    pooled[next(iter(arms))].items()}
        result[split] = [dict(
            block=f'{r},{c}',
            tiles=int(labelled[r, c].sum() // 4096 // len(args.seeds)),
            building=float(labelled[r, c][1] / labelled[r, c].sum()),
            **{arm: miou(pooled[arm][(r, c)]) for arm in arms})
            for r, c in sorted(labelled)]
        result[split].append(dict(block='all', **{
            arm: miou(sum(pooled[arm].values())) for arm in arms}))
    with atomic_open(osp.join(args.out_dir, 'blocks.json')) as f:
        json.dump(result, f, indent=1)
    lines = [f'# {title}', '',
             'mIoU pooled over seeds '
             f'{args.seeds} (the confusion of every seed summed), per '
             'block of the scene (row, column of its '
             f'{len(rows) - 1}x{len(cols) - 1} grid).', '']
    for split in ('val', 'test'):
        lines += [f'## {split}', '', '| block | tiles | building share | '
                  + ' | '.join(arms) + ' | alpha 1.0 - real only, 3000 |',
                  '| --- ' * (len(arms) + 4) + '|']
        for row in result[split]:
            share = f'{row["building"]:.1%}' if 'building' in row else ''
            lines.append(
                f'| {row["block"]} | {row.get("tiles", "")} | {share} | ' +
                ' | '.join(f'{row[arm]:.2f}' for arm in arms) +
                f' | {row["alpha 1.0 filter, 3000"] - row["real only, 3000"]:+.2f} |')  # noqa: E501
        lines.append('')
    with atomic_open(osp.join(args.out_dir, 'blocks.md')) as f:
        f.write('\n'.join(lines))


if __name__ == '__main__':
    main()
