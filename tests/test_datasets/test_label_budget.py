"""make_label_budget and tools/label_budget.py on a scene the tests
prepare."""
import json
import os
import os.path as osp

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
    image = np.stack([labels * 60 + rng.integers(0, 40, labels.shape)
                      for _ in range(3)], -1).astype(np.uint8)
    np.save(root / 'image.npy', image)
    np.save(root / 'labels.npy', labels)
    out = str(root / 'data')
    prepare_raster(str(root / 'image.npy'), str(root / 'labels.npy'), out,
                   RasterSettings(tile=16, block=48, stride=8))
    write_captions(out, ['c1', 'c2', 'c3'], True, 'img_dir/train',
                   'ann_dir/train')
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
    # the train captions follow the kept tiles
    assert sorted(r['id'] for r in read_jsonl(
        osp.join(out, 'captions.jsonl'))) == kept


def test_seed_picks_the_tiles(prepared, tmp_path):
    draws = [make_label_budget(prepared, str(tmp_path / f'b{i}'), num=7,
                               seed=seed)['label_budget']['kept']
             for i, seed in enumerate((0, 0, 1))]
    assert draws[0] == draws[1] != draws[2]


def test_same_request_is_kept_another_refused_unless_forced(prepared,
                                                            tmp_path):
    out = str(tmp_path / 'budget')
    first = make_label_budget(prepared, out, num=5, seed=0)
    marker = osp.join(out, 'ann_dir', 'train', first['label_budget']['kept'][0]
                      + '.png')
    mtime = os.stat(marker).st_mtime_ns
    assert make_label_budget(prepared, out, num=5, seed=0) == first
    assert os.stat(marker).st_mtime_ns == mtime
    with pytest.raises(FileExistsError, match='another label budget.*--force'):
        make_label_budget(prepared, out, num=5, seed=1)
    second = make_label_budget(prepared, out, num=5, seed=1, force=True)
    assert stems(osp.join(out, 'ann_dir', 'train')) == \
        second['label_budget']['kept'] != first['label_budget']['kept']
    with pytest.raises(FileExistsError, match='no budget'):
        make_label_budget(prepared, prepared, num=5)


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
