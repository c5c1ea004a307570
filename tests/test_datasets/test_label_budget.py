"""make_label_budget and tools/label_budget.py on a scene the tests
prepare."""
import json
import os
import os.path as osp
import shutil

import numpy as np
import pytest
from PIL import Image

from dldm_mmseg.datasets import label_budget
from dldm_mmseg.datasets.captioning import write_captions
from dldm_mmseg.datasets.label_budget import make_label_budget
from dldm_mmseg.datasets.raster_preparation import (RasterSettings,
                                                    prepare_raster)
from dldm_mmseg.utils.io import read_jsonl
from fixtures import load_tool


def stems(folder):
    return sorted(osp.splitext(n)[0] for n in os.listdir(folder))


@pytest.fixture(scope='module')
def prepared(tmp_path_factory):
    """A 3-class scene prepared as tools/prepare_raster.py does, with
    train captions."""
    root = tmp_path_factory.mktemp('scene')
    rng = np.random.default_rng(0)
    blocks = rng.integers(1, 4, (16, 16))
    labels = np.kron(blocks, np.ones((12, 12), np.int64)).astype(np.uint8)
    labels[::5, ::7] = 9  # ignore pixels: out of every share
    image = np.stack([labels * 60 + rng.integers(0, 40, labels.shape)
                      for _ in range(3)], -1).astype(np.uint8)
    np.save(root / 'image.npy', image)
    np.save(root / 'labels.npy', labels)
    out = str(root / 'data')
    prepare_raster(str(root / 'image.npy'), str(root / 'labels.npy'), out,
                   RasterSettings(tile=16, block=48, stride=8, ignore=(9, )))
    for split, name in (('train', 'captions.jsonl'),
                        ('val', 'captions_val.jsonl')):
        write_captions(out, ['c1', 'c2', 'c3'], True, f'img_dir/{split}',
                       f'ann_dir/{split}', out_file=name)
    return out


def test_keeps_the_drawn_train_tiles_and_counts_their_shares(prepared,
                                                             tmp_path):
    train = stems(osp.join(prepared, 'ann_dir', 'train'))
    assert len(train) > 20
    out = str(tmp_path / 'budget')
    summary = make_label_budget(prepared, out, num=7, seed=3)
    kept = stems(osp.join(out, 'ann_dir', 'train'))
    assert len(kept) == 7 and set(kept) < set(train)
    assert stems(osp.join(out, 'img_dir', 'train')) == kept
    assert summary['label_budget'] == dict(
        source=osp.abspath(prepared), source_train_tiles=len(train),
        train_tiles=7, seed=3, kept=kept)
    with open(osp.join(out, 'summary.json')) as f:
        assert json.load(f) == summary
    # the shares are those of the kept label maps, not the source's
    counts = sum(np.bincount(np.asarray(Image.open(osp.join(
        out, 'ann_dir', 'train', n + '.png'))).ravel(), minlength=4)
        for n in kept)[1:]
    expected = (counts / counts.sum()).round(6).tolist()
    assert list(summary['splits']['train']['shares'].values()) == expected
    assert summary['splits']['train']['labelled_pixels'] == counts.sum()
    with open(osp.join(prepared, 'summary.json')) as f:
        source = json.load(f)
    assert summary['splits']['train']['shares'] != \
        source['splits']['train']['shares']
    assert summary['made_by'] == source['made_by']
    # val and test whole, byte for byte
    for split in ('val', 'test'):
        for sub in ('img_dir', 'ann_dir'):
            names = sorted(os.listdir(osp.join(prepared, sub, split)))
            assert sorted(os.listdir(osp.join(out, sub, split))) == names
            for name in names:
                with open(osp.join(prepared, sub, split, name), 'rb') as a, \
                        open(osp.join(out, sub, split, name), 'rb') as b:
                    assert a.read() == b.read()
        assert summary['splits'][split] == source['splits'][split]
    # the train captions follow the kept tiles; val's are whole
    assert sorted(r['id'] for r in read_jsonl(
        osp.join(out, 'captions.jsonl'))) == kept
    assert read_jsonl(osp.join(out, 'captions_val.jsonl')) == read_jsonl(
        osp.join(prepared, 'captions_val.jsonl'))
    assert not osp.exists(osp.join(out, 'captions_test.jsonl'))


def test_every_tile_recounts_to_the_source_summary(prepared, tmp_path):
    with open(osp.join(prepared, 'summary.json')) as f:
        source = json.load(f)
    assert 0 < source['splits']['train']['labelled_pixels'] < \
        16 * 16 * source['splits']['train']['tiles']  # some ignored
    whole = make_label_budget(prepared, str(tmp_path / 'all'), fraction=1)
    assert whole['splits'] == source['splits']


def test_seed_picks_the_tiles(prepared, tmp_path):
    draws = [make_label_budget(prepared, str(tmp_path / f'b{i}'), num=7,
                               seed=seed)['label_budget']['kept']
             for i, seed in enumerate((0, 0, 1))]
    assert draws[0] == draws[1] != draws[2]


def test_same_request_is_kept_another_refused_unless_forced(prepared,
                                                            tmp_path):
    out = str(tmp_path / 'budget')
    first = make_label_budget(prepared, out, num=5, seed=0)
    inode = os.stat(osp.join(out, 'summary.json')).st_ino
    assert make_label_budget(prepared, out, num=5, seed=0) == first
    assert os.stat(osp.join(out, 'summary.json')).st_ino == inode
    with pytest.raises(FileExistsError, match=r'another label budget \(seed '
                       r'0 here, 1 asked\); .*--force'):
        make_label_budget(prepared, out, num=5, seed=1)
    second = make_label_budget(prepared, out, num=5, seed=1, force=True)
    assert stems(osp.join(out, 'ann_dir', 'train')) == \
        second['label_budget']['kept'] != first['label_budget']['kept']
    plain = tmp_path / 'plain'
    plain.mkdir()
    with pytest.raises(FileExistsError, match='holds no summary.json'):
        make_label_budget(prepared, str(plain), num=5)
    (plain / 'summary.json').write_text('{"made_by": {}}')
    with pytest.raises(FileExistsError, match='a dataset that is no budget'):
        make_label_budget(prepared, str(plain), num=5)
    for inside in (prepared, osp.join(prepared, 'budget'),
                   osp.dirname(prepared)):
        with pytest.raises(ValueError, match='overlap'):
            make_label_budget(prepared, inside, num=5, force=True)
    assert len(os.listdir(osp.join(prepared, 'ann_dir', 'train'))) > 20
    # prepare_raster does not take a budget for the whole dataset
    scene = osp.dirname(prepared)
    with pytest.raises(FileExistsError, match='holds a label budget'):
        prepare_raster(osp.join(scene, 'image.npy'),
                       osp.join(scene, 'labels.npy'), out,
                       RasterSettings(tile=16, block=48, stride=8,
                                      ignore=(9, )))


def test_a_split_of_weight_zero_stays_absent(prepared, tmp_path):
    scene = osp.dirname(prepared)
    source = str(tmp_path / 'no_test')
    prepare_raster(osp.join(scene, 'image.npy'), osp.join(scene, 'labels.npy'),
                   source, RasterSettings(tile=16, block=48, stride=8,
                                          split=(80.0, 20.0, 0.0)))
    out = str(tmp_path / 'budget')
    make_label_budget(source, out, num=3)
    assert sorted(os.listdir(osp.join(out, 'img_dir'))) == ['train', 'val']


def test_fraction_and_bad_requests(prepared, tmp_path):
    n = len(stems(osp.join(prepared, 'ann_dir', 'train')))
    summary = make_label_budget(prepared, str(tmp_path / 'half'),
                                fraction=0.5)
    assert summary['splits']['train']['tiles'] == round(n / 2)
    for kwargs, message in ((dict(num=0), f'give 1 to {n}'),
                            (dict(num=n + 1), f'give 1 to {n}'),
                            (dict(fraction=1.5), r'outside \(0, 1\]'),
                            (dict(num=3, fraction=0.5), 'not both'),
                            (dict(), 'not neither')):
        with pytest.raises(ValueError, match=message):
            make_label_budget(prepared, str(tmp_path / 'bad'), **kwargs)
    assert not osp.exists(tmp_path / 'bad')
    with pytest.raises(FileNotFoundError, match='not a prepared dataset'):
        make_label_budget(str(tmp_path / 'half' / 'img_dir'),
                          str(tmp_path / 'bad'), num=1)


def test_a_failure_leaves_nothing_behind(prepared, tmp_path, monkeypatch):
    def broken(*args):
        raise OSError('disk full')

    monkeypatch.setattr(label_budget, '_split_counts', broken)
    with pytest.raises(OSError, match='disk full'):
        make_label_budget(prepared, str(tmp_path / 'budget'), num=4)
    assert os.listdir(tmp_path) == []


def test_tool_prints_the_budget(prepared, tmp_path, capsys):
    out = str(tmp_path / 'budget')
    load_tool('label_budget').main([prepared, '--out', out,
                                    '--fraction', '0.25', '--seed', '2'])
    printed = capsys.readouterr().out
    n = len(stems(osp.join(prepared, 'ann_dir', 'train')))
    assert f'{round(n / 4)} of {n} train tiles (seed 2)' in printed
    assert len(stems(osp.join(out, 'ann_dir', 'train'))) == round(n / 4)


def test_a_changed_source_is_named(prepared, tmp_path):
    source = str(tmp_path / 'source')
    shutil.copytree(prepared, source)
    out = str(tmp_path / 'budget')
    make_label_budget(source, out, fraction=1)
    train = osp.join(source, 'ann_dir', 'train')
    first = sorted(os.listdir(train))[0]
    os.rename(osp.join(train, first), osp.join(train, 'renamed.png'))
    with pytest.raises(FileExistsError, match="other kept tiles: the "
                       "source's train tiles changed"):
        make_label_budget(source, out, fraction=1)
    os.remove(osp.join(train, 'renamed.png'))
    with pytest.raises(FileExistsError, match='source_train_tiles'):
        make_label_budget(source, out, fraction=1)


def test_a_label_beyond_the_classes_is_named(prepared, tmp_path):
    source = str(tmp_path / 'source')
    shutil.copytree(prepared, source)
    train = osp.join(source, 'ann_dir', 'train')
    bad = osp.join(train, sorted(os.listdir(train))[0])
    label = np.asarray(Image.open(bad)).copy()
    label[0, 0] = 7
    Image.fromarray(label).save(bad)  # copytree copied: prepared is intact
    with pytest.raises(ValueError, match=r'label values \[7\] in .*'
                       + osp.basename(bad) + ' are outside the 3 classes'):
        make_label_budget(source, str(tmp_path / 'budget'), fraction=1)
    assert not osp.exists(tmp_path / 'budget')
