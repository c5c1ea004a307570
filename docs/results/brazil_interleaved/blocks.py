"""A diagnostic in no pick: each arm's val and test mIoU block by block
of the plain deal's 7x5 grid (on this deal every held-out block is cut
between val and test), pooled over the seeds read. Writes ``blocks.md``
and ``blocks.json`` here, or in ``--out-dir``::

    python docs/results/brazil_interleaved/blocks.py --work work_dirs/bint \\
        --seeds 0 1 2 3
"""
import os.path as osp
import sys

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, osp.join(HERE, '..', 'brazil_budget_use'))
from blocks import main  # noqa: E402

ARMS = {'real only, 3000': ('work', 'real_3000'),
        'oversampling, 3000': ('work', 'oversample40_3000'),
        'alpha 0.4 filter, 3000': ('work', 'alpha_0.4_filter_val_3000'),
        'alpha 1.0 filter, 3000': ('work', 'alpha_1_filter_val_3000')}

if __name__ == '__main__':
    main(ARMS, 'Block by block on the interleaved deal (a diagnostic)',
         __doc__, budget=False, out_dir=HERE)
