import json
import os
import os.path as osp

import numpy as np
import pytest
from PIL import Image

from dldm_mmseg.datasets.captioning import (VLMCaptioner, appearance_text,
                                            load_captions, parse_appearance,
                                            template_caption, write_captions)
from dldm_mmseg.utils.colour_names import (colour_name, colour_words,
                                           srgb_to_lab)
from dldm_mmseg.utils.label_stats import read_label_map
from dldm_mmseg.utils.prompts import parse_class_shares
from fixtures import POTSDAM_CLASSES as CLASSES
from fixtures import load_tool, make_seg_dataset, make_tiny_qwen2_vl


def run(root, **kwargs):
    return write_captions(root, CLASSES, True, 'img_dir/train',
                          'ann_dir/train', **kwargs)


def test_shares_match_label_maps_and_text_round_trips(tmp_path):
    root = make_seg_dataset(str(tmp_path / 'd'), num_train=4)
    records = load_captions(run(root), CLASSES)
    assert len(records) == 4
    for record in records.values():
        label = read_label_map(osp.join(root, record['seg_map_path']))
        valid = label[label > 0].astype(int) - 1
        expected = np.bincount(valid, minlength=6) / valid.size
        got = np.array([record['shares'][c] for c in CLASSES])
        assert np.allclose(got, expected, atol=1e-6)
        parsed = parse_class_shares(record['share_text'], CLASSES)
        assert np.abs(parsed - expected).max() <= 0.01
        assert record['caption'].startswith('An aerial image')
        assert record['caption_source'] == 'template'


def test_template_caption():
    shares = np.array([0.5, 0.3, 0.1, 0.07, 0.03, 0.0])
    assert template_caption(shares, CLASSES) == (
        'An aerial image dominated by impervious surface and buildings, '
        'with low vegetation and trees, and a few cars.')


def test_resume_after_kill(tmp_path, monkeypatch):
    root = make_seg_dataset(str(tmp_path / 'd'), num_train=5)
    out = run(root)
    full = open(out).read().splitlines()
    os.remove(out)
    # a killed run: two finished records and a torn third line
    with open(out + '.partial', 'w') as f:
        f.write('\n'.join(full[:2]) + '\n' + full[2][:30])
    import dldm_mmseg.datasets.captioning as captioning
    calls = []
    original = captioning.template_caption

    def counting(shares, classes):
        calls.append(1)
        return original(shares, classes)

    monkeypatch.setattr(captioning, 'template_caption', counting)
    run(root)
    assert len(calls) == 3  # only the unfinished patches were redone
    assert open(out).read().splitlines() == full
    assert not osp.exists(out + '.partial')


def test_complete_file_is_reused_and_cli(tmp_path, capsys):
    root = make_seg_dataset(str(tmp_path / 'd'), num_train=3)
    caption = load_tool('caption')
    path = caption.main([root, '--dataset', 'PotsdamDataset'])
    mtime = os.path.getmtime(path)
    caption.main([root])
    assert os.path.getmtime(path) == mtime
    assert 'is complete' in capsys.readouterr().out
    with pytest.raises(FileNotFoundError, match='no image'):
        os.remove(osp.join(root, 'img_dir', 'train', 'train_001.png'))
        caption.main([root, '--overwrite'])


def test_bad_record_is_named(tmp_path):
    path = tmp_path / 'captions.jsonl'
    path.write_text(json.dumps(dict(id='a', share_text='car: 70%')) + '\n')
    with pytest.raises(ValueError, match='captions.jsonl:1.*sum to 70%'):
        load_captions(str(path), CLASSES)


def test_vlm_captions_batched_and_resumable(tmp_path):
    root = make_seg_dataset(str(tmp_path / 'd'), num_train=3)
    model_dir = make_tiny_qwen2_vl(str(tmp_path / 'qwen2vl'))
    captioner = VLMCaptioner(model_dir, max_new_tokens=4, device='cpu')
    records = load_captions(run(root, captioner=captioner, batch_size=2),
                            CLASSES)
    assert all(r['caption_source'] == 'vlm:qwen2vl' for r in records.values())
    # a caption does not depend on the batch it was generated in
    from PIL import Image
    first = records['train_000']
    alone = captioner([Image.open(osp.join(root, first['img_path']))
                       .convert('RGB')])[0]
    assert first['caption'] == alone
    with pytest.raises(FileNotFoundError, match='no config.json'):
        VLMCaptioner(str(tmp_path))


def test_label_outside_class_set_is_named(tmp_path):
    from PIL import Image
    root = make_seg_dataset(str(tmp_path / 'd'), num_train=2)
    bad = osp.join(root, 'ann_dir', 'train', 'train_001.png')
    label = np.asarray(Image.open(bad)).copy()
    label[5, 5] = 9  # outside classes 1..6: quoted as the file holds it
    Image.fromarray(label).save(bad)
    with pytest.raises(ValueError, match=r'\[9\] in .*train_001.png are '
                       r'outside the 6 classes \(1..6, with 0 and 255 '
                       r'for ignore\)'):
        run(root)
    assert not osp.exists(osp.join(root, 'captions.jsonl'))


def test_unreadable_or_mis_sized_images_are_all_named_before_writing(
        tmp_path):
    from PIL import Image
    root = make_seg_dataset(str(tmp_path / 'd'), num_train=4)
    small = osp.join(root, 'img_dir', 'train', 'train_001.png')
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(small)
    broken = osp.join(root, 'img_dir', 'train', 'train_002.png')
    with open(broken, 'wb') as f:
        f.write(b'\x89PNG\r\n\x1a\n not really')
    with pytest.raises(ValueError) as info:
        run(root)
    message = str(info.value)
    assert message.startswith('2 bad file(s)')
    assert 'train_001.png is 16x16 but its label map' in message
    assert 'train_002.png: cannot be read' in message
    assert not [n for n in os.listdir(root) if n.startswith('captions')]


@pytest.mark.parametrize('rgb, name', [
    ((0, 0, 0), 'black'), ((255, 255, 255), 'white'),
    ((128, 128, 128), 'grey'), ((60, 60, 60), 'dark grey'),
    ((190, 190, 190), 'light grey'),
    # shaded vegetation: dark, low chroma, still green
    ((25, 40, 20), 'dark green'), ((70, 140, 60), 'green'),
    ((150, 100, 60), 'orange'), ((90, 60, 35), 'brown'),
    ((170, 70, 55), 'red'), ((100, 95, 40), 'olive'),
    ((70, 100, 200), 'blue'), ((180, 160, 50), 'yellow'),
    ((60, 90, 170), 'dark blue')])
def test_colour_names(rgb, name):
    assert colour_name(rgb) == name


def test_colour_words_are_every_name_and_nothing_else():
    rng = np.random.default_rng(0)
    colours = np.concatenate([rng.integers(0, 256, (20000, 3)),
                              np.repeat(np.arange(256)[:, None], 3, 1)])
    names = {colour_name(rgb) for rgb in colours}
    assert names == set(colour_words())


def test_srgb_to_lab_known_values():
    lab = srgb_to_lab([[255, 255, 255], [255, 0, 0], [0, 0, 0]])
    assert np.allclose(lab, [[100, 0, 0], [53.24, 80.09, 67.20], [0, 0, 0]],
                       atol=0.05)
    with pytest.raises(ValueError, match='3 channels'):
        srgb_to_lab([[1, 2]])


def test_appearance_text_names_each_large_class_by_its_median_colour():
    label = np.full((10, 10), 2)               # low vegetation (60%)
    label[:3] = 1                              # buildings (30%)
    label[3, :5] = 4                           # cars (5%)
    label[3, 5:] = 3                           # trees (5%)
    label[9, 9] = 255                          # not counted
    image = np.zeros((10, 10, 3), np.uint8)
    image[label == 2] = (25, 40, 20)
    image[label == 1] = (170, 70, 55)
    image[label == 4] = (70, 100, 200)
    image[label == 3] = (255, 255, 255)
    image[0, 0] = (0, 0, 0)                    # one odd building pixel
    assert appearance_text(image, label, CLASSES) == (
        'Dark green low vegetation, red buildings, white trees, blue cars.')
    # the classes below the share are left out
    assert appearance_text(image, label, CLASSES, min_share=0.1) == (
        'Dark green low vegetation, red buildings.')
    # and read back from a prompt that holds it
    prompt = ('An aerial image dominated by low vegetation. '
              + appearance_text(image, label, CLASSES).rstrip('.')
              + '. low vegetation: 60%, building: 30%')
    assert parse_appearance(prompt, CLASSES) == {
        'low_vegetation': 'dark green', 'building': 'red', 'tree': 'white',
        'car': 'blue'}
    assert parse_appearance('An aerial image with a few cars.', CLASSES) == {}
    assert appearance_text(image, np.full((10, 10), 255), CLASSES) == ''
    with pytest.raises(ValueError, match='H x W x 3'):
        appearance_text(image[..., :2], label, CLASSES)


def test_appearance_captions_end_with_each_images_colours(tmp_path):
    root = make_seg_dataset(str(tmp_path / 'd'), num_train=3)
    plain = load_captions(run(root), CLASSES)
    # each image painted with a colour per class, another per image
    colours = [((25, 40, 20), 'dark green'), ((170, 70, 55), 'red'),
               ((70, 100, 200), 'blue'), ((128, 128, 128), 'grey'),
               ((255, 255, 255), 'white'), ((180, 160, 50), 'yellow'),
               ((0, 0, 0), 'black'), ((90, 60, 35), 'brown')]
    expected = {}
    for i, record in enumerate(plain.values()):
        label = read_label_map(osp.join(root, record['seg_map_path']))
        image = np.zeros(label.shape + (3,), np.uint8)
        words = {}
        for c, name in enumerate(CLASSES):
            rgb, word = colours[(c + 3 * i) % len(colours)]
            image[label == c + 1] = rgb
            if record['shares'][name] >= 0.05:
                words[name] = word
        Image.fromarray(image).save(osp.join(root, record['img_path']))
        expected[record['id']] = words
    out = run(root, out_file='captions_colour.jsonl', appearance=True)
    records = load_captions(out, CLASSES)
    for key, record in records.items():
        assert parse_appearance(record['caption'], CLASSES) == expected[key]
        assert record['caption'].startswith(
            plain[key]['caption'].rstrip('.') + '. ')
        assert record['caption_source'] == 'template+appearance'
        assert record['share_text'] == plain[key]['share_text']
    # a complete plain file is not taken for an appearance one (the CLI)
    os.replace(osp.join(root, 'captions.jsonl'), out)
    load_tool('caption').main([root, '--dataset', 'PotsdamDataset',
                               '--out', 'captions_colour.jsonl',
                               '--appearance'])
    assert {k: r['caption'] for k, r in load_captions(out, CLASSES).items()} \
        == {k: r['caption'] for k, r in records.items()}


def test_parse_appearance_longer_names_and_the_last_mention():
    classes = ('road', 'road_marking', 'car')
    assert parse_appearance('Grey road marking, dark grey road.',
                            classes) == {'road_marking': 'grey',
                                         'road': 'dark grey'}
    # a free-text caption's colour before the appearance sentence
    assert parse_appearance('A street with red cars. Dark grey road, '
                            'white cars.', classes) == {
        'road': 'dark grey', 'car': 'white'}
    with pytest.raises(ValueError, match='three finite'):
        colour_name([np.nan, 0, 0])
