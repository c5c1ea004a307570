"""A diagnostic in no pick: the building-only filter's arms' val and test
mIoU block by block of the plain deal's 7x5 grid, beside real only and
the filter on every class, pooled over the seeds read. Writes
``blocks.md`` and ``blocks.json`` here, or in ``--out-dir``::

    python docs/results/brazil_precision/blocks.py --work work_dirs/bint \\
        --seeds 0 1 2
"""
import os.path as osp
import sys

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, osp.join(HERE, '..', 'brazil_budget_use'))
from blocks import main  # noqa: E402

ARMS = {'real only, 3000': ('work', 'real_3000'),
        'alpha 1.0 filter, 3000': ('work', 'alpha_1_filter_val_3000'),
        'alpha 1.0 filter on building': ('work', 'alpha_1_bfilter_val_3000'),
        'alpha 0.2 filter': ('work', 'alpha_0.2_filter_val_3000'),
        'alpha 0.2 filter on building': ('work',
                                         'alpha_0.2_bfilter_val_3000')}

if __name__ == '__main__':
    main(ARMS, 'Block by block, the filter on building pixels only (a '
         'diagnostic)', __doc__, budget=False, out_dir=HERE)
