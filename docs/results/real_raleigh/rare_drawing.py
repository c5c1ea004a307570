"""Does stage 1 draw Raleigh's rare classes when asked? The demo's 361
synthesis plans (target shares drawn from the real tiles with the
frequency boost, the demo's seeds) made by its synthesis settings, by two
sampling variants and, where they have been trained, by the stage-1
models trained with the rare tiles oversampled
(``mask_small_raleigh_numeric_ce_only_rare.py``), with a class-weighted
CE (``mask_small_raleigh_numeric_ce_only_cw.py``) and over the one-hot
mask VAE (``mask_small_raleigh_onehot_numeric_ce_only.py``), each into its own
folder under ``<work_dir>/rare_drawing``; per class, the share asked and
drawn over the set and over the samples that ask for at least 5% of it.
The ``demo`` arm repeats the settings of the demo's plain set, so its
masks are that set's. Each arm is a synthesis run (about a minute on 2
cores), resumed where a folder holds part of it. The same figures are
read from the manifests of the sets the demo made in the work dir
(``data/raleigh_syn*``)::

    DLDM_DEMO_DIR=work_dirs/raleigh_v2 python tools/train.py \\
        configs/demo/raleigh/mask_small_raleigh_numeric_ce_only_rare.py \\
        --work-dir work_dirs/raleigh_v2/mask_small_raleigh_numeric_ce_only_rare
    DLDM_DEMO_DIR=work_dirs/raleigh_v2 python tools/train.py \\
        configs/demo/raleigh/mask_small_raleigh_numeric_ce_only_cw.py \\
        --work-dir work_dirs/raleigh_v2/mask_small_raleigh_numeric_ce_only_cw
    python docs/results/real_raleigh/rare_drawing.py work_dirs/raleigh_v2

The one-hot stage 1 with the share vector is seed 0 of
``onehot_numeric_rule.md``'s runs, linked into the work dir with the
one-hot mask VAE it draws over (its config reads the VAE from the work
dir); ``onehot_set_rule.md`` later replaced the stage-1 link with the
demo's own training, and its arm here is the folder drawn before::

    for f in vae_mask_onehot mask_small_raleigh_onehot_numeric_ce_only; do
        ln -s ../raleigh_onehot_s1/$f work_dirs/raleigh_v2/$f; done
"""
import argparse
import copy
import glob
import json
import os
import os.path as osp

import numpy as np
from mmengine.config import Config

import dldm_mmseg  # noqa: F401  (registers the modules)
from dldm_mmseg.experiments.analysis import manifest_shares, set_mcpe
from dldm_mmseg.synthesis.engine import SynthesisEngine
from dldm_mmseg.utils.io import atomic_open

HERE = osp.dirname(osp.abspath(__file__))
ROOT = osp.dirname(osp.dirname(osp.dirname(HERE)))
CLASSES = ('developed', 'agriculture', 'herbaceous', 'shrubland', 'forest',
           'water')
# arm -> mask_sampling settings over the demo's
ARMS = {'demo': {},
        'guidance scale 4': dict(guidance_scale=4.0),
        'share guidance 0.5, t <= 150': dict(
            prop_guidance=dict(scale=0.5, max_timestep=150))}
# arm -> the stage-1 config trained in the work dir (its folder's name)
TRAINED = {'stage 1 trained with rare tiles oversampled':
           'mask_small_raleigh_numeric_ce_only_rare',
           'stage 1 trained with class-weighted CE':
           'mask_small_raleigh_numeric_ce_only_cw',
           'one-hot stage 1 with the share vector':
           'mask_small_raleigh_onehot_numeric_ce_only'}
ASKED = 0.05


def drawing(out_dir: str) -> dict:
    """Per class of the set in ``out_dir``: mean share asked and drawn,
    and over the samples asking at least ``ASKED`` of it, their number,
    mean asked and drawn, and how many drew any."""
    shares = manifest_shares(out_dir, CLASSES)
    asked, drawn = shares['target'], shares['measured']
    out = dict(samples=len(asked), mCPE=set_mcpe(out_dir, CLASSES)['mCPE'])
    for j, name in enumerate(CLASSES):
        wanted = asked[:, j] >= ASKED
        out[name] = dict(
            asked=float(asked[:, j].mean() * 100),
            drawn=float(drawn[:, j].mean() * 100),
            samples_asking=int(wanted.sum()),
            asked_there=float(asked[wanted, j].mean() * 100)
            if wanted.any() else None,
            drawn_there=float(drawn[wanted, j].mean() * 100)
            if wanted.any() else None,
            drew_any_there=int((drawn[wanted, j] > 0).sum()))
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('work_dir', help='a finished Raleigh demo work dir')
    parser.add_argument('--num', type=int, default=361)
    parser.add_argument('--out', default=osp.join(HERE, 'rare_drawing.json'))
    args = parser.parse_args()
    work = osp.abspath(args.work_dir)
    os.environ['DLDM_DEMO_DIR'] = work  # the synth config's generators
    base = Config.fromfile(osp.join(
        ROOT, 'configs/demo/raleigh/synth_small_raleigh.py')).synthesis
    base = base.to_dict()
    with open(osp.join(work, 'demo_settings.json'), encoding='utf-8') as f:
        steps = json.load(f)['steps']
    for key in ('mask_sampling', 'image_sampling'):  # as the demo sets them
        base[key] = dict(base.get(key) or {}, steps=steps)
    arms = {arm: (sampling, None) for arm, sampling in ARMS.items()}
    for arm, name in TRAINED.items():
        export = osp.join(work, name, 'export', 'final')
        if osp.isdir(export):
            arms[arm] = ({}, dict(config=f'configs/demo/raleigh/{name}.py',
                                  weights=export))
        else:
            print(f'{arm}: {export} not trained, left out')
    result = {}
    for arm, (sampling, generator) in arms.items():
        cfg = copy.deepcopy(base)
        cfg['mask_sampling'].update(sampling)
        if generator:
            cfg['mask_generator'] = generator
        out_dir = osp.join(work, 'rare_drawing', arm.replace(' ', '_')
                           .replace(',', '').replace('<=', 'le'))
        os.chdir(ROOT)  # generator configs are named from the repository
        print(f'{arm}: {out_dir}')
        SynthesisEngine(cfg, device='cpu').run(args.num, out_dir)
        result[arm] = dict(mask_sampling=sampling, mask_generator=(
            generator or {}).get('config'), **drawing(out_dir))
        row = result[arm]
        print(f'  mCPE {row["mCPE"]:.2f}; ' + '; '.join(
            f'{c} asked {row[c]["asked"]:.2f}% drew {row[c]["drawn"]:.2f}%'
            for c in CLASSES))
    # the sets the demo made in the work dir (the plain one and its
    # variants), read from their manifests
    result['sets in the work dir'] = {
        osp.basename(osp.dirname(path)): drawing(osp.dirname(path))
        for path in sorted(glob.glob(osp.join(
            glob.escape(work), 'data', 'raleigh_syn*', 'manifest.jsonl')))}
    with atomic_open(args.out) as f:
        json.dump(result, f, indent=1)
    print('wrote', args.out)


if __name__ == '__main__':
    main()
