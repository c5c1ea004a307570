"""Patch hardness: each real patch's mean loss under a segmentor, scored
fold by fold into one file, and a set's fingerprint holding what the
file says rather than where it lies."""
import json
import shutil

import numpy as np
import pytest
from PIL import Image

from dldm_mmseg.evaluation.consistency import ConsistencyChecker
from dldm_mmseg.evaluation.hardness import (captioned_pairs, measure_name,
                                            patch_hardness, write_hardness)
from fixtures import load_tool, make_reference_model, make_seg_dataset


@pytest.fixture
def scene(tmp_path):
    """Three 2x2 patches; a fake segmentor gives each pixel's label the
    probability of its image's first pixel / 10."""
    root = tmp_path / 'real'
    label = np.array([[0, 1], [1, 255]], np.uint8)
    records = []
    for name, p in (('a', 9), ('b', 5), ('c', 1)):
        for sub, array in (('img_dir', np.full((2, 2, 3), p, np.uint8)),
                           ('ann_dir', label)):
            (root / sub / 'train').mkdir(parents=True, exist_ok=True)
            Image.fromarray(array).save(root / sub / 'train' / f'{name}.png')
        records.append(dict(id=name, img_path=f'img_dir/train/{name}.png',
                            seg_map_path=f'ann_dir/train/{name}.png'))
    (root / 'captions.jsonl').write_text(
        ''.join(json.dumps(r) + '\n' for r in records))
    checker = ConsistencyChecker(None, model=object(),
                                 reduce_zero_label=False)

    def probabilities(images):
        out = []
        for image in images:
            p = image[0, 0, 0] / 10
            out.append(np.stack([np.full((2, 2), p),
                                 np.full((2, 2), 1 - p)]))
        return np.stack(out)

    checker.probabilities = probabilities
    return root, checker


def test_hardness_is_the_mean_loss_of_the_valid_pixels(scene):
    root, checker = scene
    pairs = captioned_pairs(str(root), str(root / 'captions.jsonl'))
    hardness = patch_hardness(checker, pairs)
    # each patch: one pixel of class 0 (p) and two of class 1 (1 - p)
    for name, p in (('a', 0.9), ('b', 0.5), ('c', 0.1)):
        expected = -(np.log(p) + 2 * np.log(1 - p)) / 3
        assert hardness[name] == pytest.approx(expected, abs=1e-6)
    # two of three pixels wrong is harder than one
    assert hardness['a'] > hardness['c'] > hardness['b']


def test_folds_scored_one_by_one_build_one_file(scene, tmp_path):
    root, checker = scene
    captions = str(root / 'captions.jsonl')
    out = str(tmp_path / 'hardness.json')
    first = patch_hardness(checker, captioned_pairs(str(root), captions,
                                                    ['a']))
    assert list(first) == ['a']
    write_hardness(out, first, str(root), captions, checkpoint='fold_b.pth')
    write_hardness(out, patch_hardness(checker, captioned_pairs(
        str(root), captions, ['b', 'c'])), str(root), captions,
        checkpoint='fold_a.pth')
    with open(out) as f:
        record = json.load(f)
    assert sorted(record['hardness']) == ['a', 'b', 'c']
    assert [m['checkpoint'] for m in record['made_by']] == \
        ['fold_b.pth', 'fold_a.pth']
    assert [m['patches'] for m in record['made_by']] == [1, 2]
    assert record['hardness']['a'] > record['hardness']['c']
    # the captions changed: the file is of other patches now
    with open(captions, 'a') as f:
        f.write(json.dumps(dict(id='d', img_path='img_dir/train/a.png',
                                seg_map_path='ann_dir/train/a.png')) + '\n')
    with pytest.raises(ValueError, match='is not a hardness file of'):
        write_hardness(out, first, str(root), captions)
    with pytest.raises(ValueError, match=r"holds no patch \['z'\]"):
        captioned_pairs(str(root), captions, ['a', 'z'])
    with pytest.raises(ValueError, match='captions.jsonl:1 names the image '
                       '.*a.png, which does not exist'):
        captioned_pairs(str(tmp_path), captions)


def test_the_tool_scores_folds_of_a_segmentor_into_one_file(tmp_path):
    from dldm_mmseg.datasets.captioning import write_captions
    from fixtures import POTSDAM_CLASSES
    config, checkpoint = make_reference_model(str(tmp_path))
    root = make_seg_dataset(str(tmp_path / 'real'), num_train=4, num_val=0,
                            size=16)
    write_captions(root, POTSDAM_CLASSES, True, 'img_dir/train',
                   'ann_dir/train')
    ids = tmp_path / 'ids.txt'
    ids.write_text('train_001\ntrain_003\n')
    out = str(tmp_path / 'hardness.json')
    tool = load_tool('patch_hardness')
    args = [config, checkpoint, '--real', root, '--out', out,
            '--device', 'cpu']
    first = tool.main(args + ['--ids', str(ids)])
    assert sorted(first['hardness']) == ['train_001', 'train_003']
    ids.write_text('train_000\ntrain_002\n')
    record = tool.main(args + ['--ids', str(ids)])
    assert sorted(record['hardness']) == [f'train_{i:03d}' for i in range(4)]
    # a random six-class network: about log 6 of loss, and not the same
    # for every patch
    values = list(record['hardness'].values())
    assert all(0.5 < v < 5 for v in values) and len(set(values)) == 4
    # some classes only, by the checkpoint's names
    car = tool.main(args[:4] + ['--out', str(tmp_path / 'car.json'),
                                '--device', 'cpu', '--classes', 'car'])
    assert car['measure'].endswith(' of car')
    # names in any order or repeated: one measure, in class order
    both = tool.main(args[:4] + ['--out', str(tmp_path / 'both.json'),
                                 '--device', 'cpu', '--classes', 'car',
                                 'building', 'car'])
    assert both['measure'].endswith(' of building, car')
    with pytest.raises(SystemExit, match=r"--classes \['lake'\]: not "
                       'classes of'):
        tool.main(args + ['--classes', 'lake'])
    # the same patch scores the same in any fold
    ids.write_text('train_003\n')
    again = tool.main([config, checkpoint, '--real', root, '--out',
                       str(tmp_path / 'again.json'), '--ids', str(ids),
                       '--device', 'cpu'])
    assert again['hardness']['train_003'] == pytest.approx(
        record['hardness']['train_003'])


@pytest.mark.parametrize('key', ['patch_hardness', 'weak_classes'])
def test_a_set_fingerprint_holds_its_share_files_by_content(key, tmp_path):
    from dldm_mmseg.datasets.captioning import write_captions
    from dldm_mmseg.synthesis.output import set_identity
    from dldm_mmseg.synthesis.settings import SynthesisSettings
    from fixtures import POTSDAM_CLASSES
    root = make_seg_dataset(str(tmp_path / 'real'), num_train=2, num_val=0,
                            size=16)
    write_captions(root, POTSDAM_CLASSES, True, 'img_dir/train',
                   'ann_dir/train')
    contents = {'patch_hardness': [dict(hardness=dict(
        train_000=1.0, train_001=2.0)), dict(hardness=dict(
            train_000=2.0, train_001=1.0))],
        'weak_classes': [{f'IoU.{c}': 50.0 for c in POTSDAM_CLASSES},
                         {f'IoU.{c}': 60.0 for c in POTSDAM_CLASSES}]}[key]
    path = tmp_path / 'shares.json'
    path.write_text(json.dumps(contents[0]))

    def identity(share_file):
        return set_identity(SynthesisSettings.from_config(dict(
            source_dataset='PotsdamDataset', size=16,
            real_captions=dict(data_root=root),
            shares={'mode': 'real', key: share_file})))

    first = identity(str(path))
    assert first['shares'][key].startswith('sha256:')
    moved = tmp_path / 'elsewhere.json'
    shutil.copy(path, moved)
    assert identity(str(moved)) == first
    # a segmentor run on a variant drawn by it records it by content too
    from dldm_mmseg.experiments.alpha_sweep import _by_content
    run = _by_content(dict(shares={key: str(path)}))
    assert run['shares'][key].startswith('sha256:')
    path.write_text(json.dumps(contents[1]))
    assert identity(str(path)) != first


def test_hardness_of_some_classes_counts_their_pixels_only(scene, tmp_path):
    root, checker = scene
    captions = str(root / 'captions.jsonl')
    pairs = captioned_pairs(str(root), captions)
    # class 0 only: each patch's one class-0 pixel, of probability p
    for name, p in patch_hardness(checker, pairs, classes=[0]).items():
        assert p == pytest.approx(-np.log(dict(a=0.9, b=0.5, c=0.1)[name]))
    # a class no pixel holds: nothing counts, every patch at 0
    assert set(patch_hardness(checker, pairs, classes=[7]).values()) == {0}
    # one file measures one thing
    out = str(tmp_path / 'hardness.json')
    write_hardness(out, {'a': 1.0}, str(root), captions)
    with pytest.raises(ValueError, match='another measure'):
        write_hardness(out, {'b': 1.0}, str(root), captions,
                       measure_name(['background']))
