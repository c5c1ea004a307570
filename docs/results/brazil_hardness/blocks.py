"""A diagnostic in no pick: the hardness arms' val and test mIoU block by
block of the plain deal's 7x5 grid, beside real only and alpha 1.0 on the
frequency-boosted set, pooled over the seeds read. Writes ``blocks.md``
and ``blocks.json`` here, or in ``--out-dir``::

    python docs/results/brazil_hardness/blocks.py --work work_dirs/bint \\
        --seeds 0 1 2
"""
import os.path as osp
import sys

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, osp.join(HERE, '..', 'brazil_budget_use'))
from blocks import main  # noqa: E402

ARMS = {'real only, 3000': ('work', 'real_3000'),
        'alpha 1.0 filter, 3000': ('work', 'alpha_1_filter_val_3000'),
        'hardness draws': ('work', 'alpha_1_hard_filter_val_3000'),
        'background-hardness draws': ('work',
                                      'alpha_1_bghard_filter_val_3000')}

if __name__ == '__main__':
    main(ARMS, 'Block by block, hardness-aware draws (a diagnostic)',
         __doc__, budget=False, out_dir=HERE)
