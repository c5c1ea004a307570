import os
import os.path as osp
import zipfile

import cv2
import numpy as np
import pytest
from PIL import Image

from dldm_mmseg.datasets.isprs_preparation import (ISPRS_PALETTE,
                                                   patch_boxes, prepare_isprs)

from fixtures import load_tool

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

H, W = 40, 48


def tile_arrays(seed):
    rng = np.random.default_rng(seed)
    index = rng.integers(0, 6, size=(H, W))
    colour = np.asarray(ISPRS_PALETTE, dtype=np.uint8)[index]
    colour[::7, ::5] = 0  # black boundary pixels -> ignore (0)
    expected = np.where(colour.sum(-1) == 0, 0, index + 1).astype(np.uint8)
    image = rng.integers(0, 256, size=(H, W, 3), dtype=np.uint8)
    return image, colour, expected


def tif_bytes(rgb):
    ok, buf = cv2.imencode('.tif', cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    assert ok
    return buf.tobytes()


def make_potsdam_zips(raw, tiles, mutate=None):
    """Fake 2_Ortho_RGB.zip + 5_Labels_all_noBoundary.zip, real naming."""
    os.makedirs(raw, exist_ok=True)
    expected = {}
    with zipfile.ZipFile(osp.join(raw, '2_Ortho_RGB.zip'), 'w') as imgs, \
            zipfile.ZipFile(osp.join(raw, '5_Labels_all_noBoundary.zip'),
                            'w') as labels:
        for seed, tile in enumerate(tiles):
            image, colour, exp = tile_arrays(seed)
            if mutate:
                image, colour = mutate(tile, image, colour)
            imgs.writestr(f'2_Ortho_RGB/top_potsdam_{tile}_RGB.tif',
                          tif_bytes(image))
            labels.writestr(f'top_potsdam_{tile}_label_noBoundary.tif',
                            tif_bytes(colour))
            expected[tile] = (image, exp)
    return expected


def read(path):
    return np.asarray(Image.open(path))


def test_patch_boxes_cover_tile_and_shift_last():
    boxes = patch_boxes(40, 48, 16, 16)
    assert len(boxes) == 9
    assert {b[0] for b in boxes} == {0, 16, 32}
    assert {b[1] for b in boxes} == {0, 16, 24}  # last row shifted up
    assert all(b[2] - b[0] == 16 and b[3] - b[1] == 16 for b in boxes)
    # the paper's Potsdam count: 6000x6000 tiles -> 12 x 12 patches of 512
    assert len(patch_boxes(6000, 6000, 512, 512)) == 144


def test_potsdam_zips_to_patches(tmp_path):
    raw, out = str(tmp_path / 'raw'), str(tmp_path / 'out')
    # 2_10 is a training tile, 2_13 a validation tile, 9_9 in no split
    expected = make_potsdam_zips(raw, ['2_10', '2_13', '9_9'])
    counts = prepare_isprs(raw, out, 'potsdam', clip_size=16, stride=16)
    assert counts == dict(train=9, val=9)
    name = '2_10_32_24_48_40.png'
    image, label = expected['2_10']
    assert np.array_equal(read(osp.join(out, 'img_dir', 'train', name)),
                          image[24:40, 32:48])
    assert np.array_equal(read(osp.join(out, 'ann_dir', 'train', name)),
                          label[24:40, 32:48])
    assert len(os.listdir(osp.join(out, 'ann_dir', 'val'))) == 9
    # the output is a stock mmseg PotsdamDataset
    from mmseg.datasets import PotsdamDataset
    ds = PotsdamDataset(data_root=out, data_prefix=dict(
        img_path='img_dir/train', seg_map_path='ann_dir/train'))
    assert len(ds) == 9


def test_unpacked_folders_and_tool_cli(tmp_path):
    raw, out = tmp_path / 'raw', str(tmp_path / 'out')
    make_potsdam_zips(str(raw), ['2_10'])
    for archive in raw.glob('*.zip'):
        zipfile.ZipFile(archive).extractall(raw / archive.stem)
        archive.unlink()
    prepare_potsdam = load_tool('prepare_potsdam')
    counts = prepare_potsdam.main([str(raw), out, '--clip-size', '16',
                                   '--stride', '16'])
    assert counts['train'] == 9


def test_resume_after_kill_keeps_files_and_completes(tmp_path):
    raw, out = str(tmp_path / 'raw'), str(tmp_path / 'out')
    make_potsdam_zips(raw, ['2_10'])
    prepare_isprs(raw, out, 'potsdam', clip_size=16, stride=16)
    ann = osp.join(out, 'ann_dir', 'train')
    victim = osp.join(ann, '2_10_0_0_16_16.png')
    os.remove(victim)
    open(osp.join(ann, '.tmp-xyz2_10_0_0_16_16.png'), 'wb').write(b'half')
    prepare_isprs(raw, out, 'potsdam', clip_size=16, stride=16)
    assert sorted(os.listdir(ann)) == sorted(
        f'2_10_{x}_{y}_{x + 16}_{y + 16}.png'
        for x in (0, 16, 32) for y in (0, 16, 24))


def test_off_palette_colour_is_named(tmp_path):
    raw, out = str(tmp_path / 'raw'), str(tmp_path / 'out')

    def smudge(tile, image, colour):
        colour[3, 3] = (250, 250, 5)
        return image, colour

    make_potsdam_zips(raw, ['2_10'], mutate=smudge)
    with pytest.raises(ValueError, match=r'top_potsdam_2_10_label_noBoundary'
                       r'\.tif.*\(250, 250, 5\).*--off-palette'):
        prepare_isprs(raw, out, 'potsdam', clip_size=16, stride=16)
    assert not osp.exists(
        osp.join(out, 'ann_dir', 'train', '2_10_0_0_16_16.png'))
    prepare_isprs(raw, out, 'potsdam', clip_size=16, stride=16,
                  off_palette='nearest')
    assert read(
        osp.join(out, 'ann_dir', 'train', '2_10_0_0_16_16.png'))[3, 3] == 5


def test_size_mismatch_and_missing_label(tmp_path):
    raw = str(tmp_path / 'raw')

    def crop(tile, image, colour):
        return image, colour[:-8]

    make_potsdam_zips(raw, ['2_10'], mutate=crop)
    with pytest.raises(ValueError, match='image .*2_10_RGB.tif is 48x40 but '
                       'label .* is 48x32'):
        prepare_isprs(raw, str(tmp_path / 'o'), clip_size=16, stride=16)
    raw2 = tmp_path / 'raw2'
    make_potsdam_zips(str(raw2), ['2_10'])
    with zipfile.ZipFile(raw2 / '2_Ortho_RGB.zip', 'a') as z:
        z.writestr('2_Ortho_RGB/top_potsdam_2_11_RGB.tif',
                   tif_bytes(tile_arrays(5)[0]))
    with pytest.raises(FileNotFoundError, match='tile 2_11: image'):
        prepare_isprs(str(raw2), str(tmp_path / 'o2'), clip_size=16, stride=16)
    with pytest.raises(FileNotFoundError, match='expected the downloads'):
        os.makedirs(tmp_path / 'empty')
        prepare_isprs(str(tmp_path / 'empty'), str(tmp_path / 'o3'))


def test_vaihingen_archives_with_shared_names(tmp_path):
    raw, out = tmp_path / 'raw', str(tmp_path / 'out')
    raw.mkdir()
    with zipfile.ZipFile(raw / 'ISPRS_semantic_labeling_Vaihingen.zip',
                         'w') as imgs, \
        zipfile.ZipFile(raw / 'ISPRS_semantic_labeling_Vaihingen_ground_'
                        'truth_COMPLETE.zip', 'w') as full:
        expected = {}
        for seed, area in enumerate(['1', '6', '9']):  # train, val, excluded
            image, colour, exp = tile_arrays(seed)
            colour[colour.sum(-1) == 0] = 255  # full labels: no boundary
            imgs.writestr(f'top/top_mosaic_09cm_area{area}.tif',
                          tif_bytes(image))
            full.writestr(f'top_mosaic_09cm_area{area}.tif', tif_bytes(colour))
            expected[area] = image
    counts = prepare_isprs(str(raw), out, 'vaihingen', clip_size=16, stride=16)
    assert counts == dict(train=9, val=9)
    assert np.array_equal(
        read(osp.join(out, 'img_dir', 'train', 'area1_0_0_16_16.png')),
        expected['1'][:16, :16])


def test_unreadable_tile_is_named(tmp_path):
    raw = tmp_path / 'raw'
    make_potsdam_zips(str(raw), ['2_10'])
    with zipfile.ZipFile(raw / '2_Ortho_RGB.zip', 'w') as z:
        z.writestr('2_Ortho_RGB/top_potsdam_2_10_RGB.tif', b'not a tiff')
    with pytest.raises(OSError, match=r'2_Ortho_RGB.zip!2_Ortho_RGB/'
                       r'top_potsdam_2_10_RGB.tif is not a readable TIFF'):
        prepare_isprs(str(raw), str(tmp_path / 'out'), clip_size=16,
                      stride=16)
    (raw / 'broken.zip').write_bytes(b'PK garbage')
    with pytest.raises(OSError, match='broken.zip is not a valid zip'):
        prepare_isprs(str(raw), str(tmp_path / 'out'))
