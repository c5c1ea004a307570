"""``rule.md``'s colour agreement: does stage 2 paint each class in the
colour its caption names?

For each synthetic pair and each class the caption names (``Dark green
background, grey buildings.``, ``tools/caption.py --appearance``) that
covers at least 5% of the pair's mask: whether the colour word of the
painted pixels' median colour under the mask is the caption's word, and
the CIELAB distance (Delta E 76) between that median and the median of
the class in the real tile the caption describes. The words and tiles
come from the set whose records name their ``real_patch`` (its
``synth_info.json`` names the real set and the classes); every other set
must hold the same samples with the same target shares (the kl6 set,
made before records named their patch, drew the same tiles).
``chance`` is the agreement the painted words would have if they were
independent of the caption's. Writes ``colours.json``::

    python docs/results/brazil_appearance/colours.py \\
        kl6=work_dirs/bkl6/data/brazil_syn \\
        appearance=work_dirs/bapp/data/brazil_syn \\
        --out docs/results/brazil_appearance/colours.json
"""
import argparse
import collections
import json
import os.path as osp

import numpy as np
from PIL import Image

from dldm_mmseg.datasets.captioning import (class_colours, load_captions,
                                            parse_appearance)
from dldm_mmseg.datasets.synth_layout import ANN_DIR, IMG_DIR, INFO, MANIFEST
from dldm_mmseg.utils.colour_names import colour_name, srgb_to_lab
from dldm_mmseg.utils.io import atomic_open, read_jsonl
from dldm_mmseg.utils.label_stats import read_label_map, to_train_ids


def read_pair(image_path, label_path, reduce_zero_label):
    image = np.asarray(Image.open(image_path).convert('RGB'))
    label = to_train_ids(read_label_map(label_path), reduce_zero_label)
    return image, label


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('sets', nargs='+', metavar='LABEL=FOLDER')
    parser.add_argument('--out', required=True)
    args = parser.parse_args()
    sets = dict(item.split('=', 1) for item in args.sets)
    manifests = {name: {r['id']: r for r in
                        read_jsonl(osp.join(folder, MANIFEST))}
                 for name, folder in sets.items()}
    named = [n for n, m in manifests.items()
             if all('real_patch' in r for r in m.values())]
    if not named:
        raise ValueError('no set names the real patch of its records; make '
                         'one with this version of tools/synthesize.py')
    first = manifests[named[0]]
    for name, records in manifests.items():
        if records.keys() != first.keys() or any(
                records[i]['target_shares'] != first[i]['target_shares']
                for i in first):
            raise ValueError(f'{sets[name]} does not hold the samples of '
                             f'{sets[named[0]]} (ids or target shares '
                             'differ)')
    with open(osp.join(sets[named[0]], INFO), encoding='utf-8') as f:
        config = json.load(f)['config']
    source = config['source_dataset']
    classes = list(source['metainfo']['classes'])
    reduce_zero = source['reduce_zero_label']
    real_root = config['real_captions']['data_root']
    patches = load_captions(osp.join(real_root, config['real_captions'].get(
        'captions', 'captions.jsonl')), classes)
    real_medians = {}
    for record in first.values():
        patch = patches[record['real_patch']]
        if patch['id'] not in real_medians:
            real_medians[patch['id']] = class_colours(*read_pair(
                osp.join(real_root, patch['img_path']),
                osp.join(real_root, patch['seg_map_path']), reduce_zero),
                len(classes))
    summary = {}
    for name, folder in sets.items():
        per_class = {c: dict(agree=[], delta_e=[], painted=[], asked=[])
                     for c in classes}
        for i, record in manifests[name].items():
            words = parse_appearance(first[i]['image_prompt'], classes)
            image, label = read_pair(osp.join(folder, IMG_DIR, i + '.png'),
                                     osp.join(folder, ANN_DIR, i + '.png'),
                                     reduce_zero)
            painted = class_colours(image, label, len(classes))
            real = real_medians[first[i]['real_patch']]
            for c, colour in painted.items():
                cls = classes[c]
                if cls not in words or c not in real:
                    continue
                got = colour_name(colour)
                entry = per_class[cls]
                entry['agree'].append(got == words[cls])
                entry['painted'].append(got)
                entry['asked'].append(words[cls])
                entry['delta_e'].append(float(np.linalg.norm(
                    srgb_to_lab(colour) - srgb_to_lab(real[c]))))
        summary[name] = {}
        for cls, entry in per_class.items():
            if not entry['agree']:
                continue
            n = len(entry['agree'])
            painted = collections.Counter(entry['painted'])
            asked = collections.Counter(entry['asked'])
            summary[name][cls] = dict(
                pairs=n, agreement=float(np.mean(entry['agree'])),
                chance=sum(painted[w] * asked[w] for w in asked) / n ** 2,
                delta_e=float(np.mean(entry['delta_e'])),
                painted_words=dict(painted.most_common(6)),
                caption_words=dict(asked.most_common(6)))
            row = summary[name][cls]
            print(f'{name} {cls}: agreement {row["agreement"]:.3f} (chance '
                  f'{row["chance"]:.3f}), Delta E {row["delta_e"]:.1f}, {n} '
                  f'pairs; painted {dict(painted.most_common(4))}')
    with atomic_open(args.out) as f:
        json.dump(summary, f, indent=1)


if __name__ == '__main__':
    main()
