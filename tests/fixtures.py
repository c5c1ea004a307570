"""Tiny on-disk datasets made by the tests themselves (no downloads)."""
import json
import os
import os.path as osp

import numpy as np
from PIL import Image

POTSDAM_CLASSES = ('impervious_surface', 'building', 'low_vegetation', 'tree',
                   'car', 'clutter')
POTSDAM_PALETTE = [[255, 255, 255], [0, 0, 255], [0, 255, 255], [0, 255, 0],
                   [255, 255, 0], [255, 0, 0]]


def random_label(rng, size, rare_prob=0.3):
    """A blocky Potsdam-style label map (values 1..6, a few 0 = ignore)."""
    blocks = rng.integers(1, 5, size=(4, 4))  # common classes 1..4
    label = np.kron(blocks, np.ones((size // 4, size // 4), dtype=np.int64))
    if rng.random() < rare_prob:  # a car (5) or clutter (6) square
        y, x = rng.integers(0, size - size // 4, size=2)
        label[y:y + size // 4, x:x + size // 4] = rng.integers(5, 7)
    label[0, 0] = 0  # boundary pixel: ignore
    return label.astype(np.uint8)


def write_pair(root, split, name, label, rng):
    img = (rng.random((*label.shape, 3)) * 255).astype(np.uint8)
    for sub, arr in (('img_dir', img), ('ann_dir', label)):
        os.makedirs(osp.join(root, sub, split), exist_ok=True)
        Image.fromarray(arr).save(osp.join(root, sub, split, name + '.png'))


def make_seg_dataset(root, num_train=8, num_val=2, size=32, seed=0,
                     rare_prob=0.3):
    """mmseg-format Potsdam-like set under ``root``; returns ``root``."""
    rng = np.random.default_rng(seed)
    for split, n in (('train', num_train), ('val', num_val)):
        for i in range(n):
            write_pair(root, split, f'{split}_{i:03d}',
                       random_label(rng, size, rare_prob), rng)
    return root


def make_synth_set(root, num=6, size=32, seed=1, records=None):
    """A DiffusionSynthDataset layout with a manifest; returns records."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(num):
        label = random_label(rng, size, rare_prob=1.0)
        sample_id = f'{i:06d}'
        write_pair(root, 'train', sample_id, label, rng)
        valid = label[label > 0] - 1
        measured = np.bincount(valid, minlength=6) / valid.size
        target = np.full(6, 1 / 6)
        out.append(dict(
            id=sample_id, seed=100 + i,
            target_shares=dict(zip(POTSDAM_CLASSES, target.tolist())),
            measured_shares=dict(zip(POTSDAM_CLASSES, measured.tolist())),
            cpe=float(np.abs(measured - target).mean() * 100)))
    if records is not None:
        out = records(out)
    with open(osp.join(root, 'manifest.jsonl'), 'w') as f:
        for record in out:
            f.write(json.dumps(record) + '\n')
    return out


def make_tiny_qwen2_vl(out_dir):
    """A randomly initialised Qwen2-VL with a tiny BPE tokenizer, saved in the
    transformers layout, built offline; returns ``out_dir``."""
    import torch
    from tokenizers import (Tokenizer, decoders, models, pre_tokenizers,
                            trainers)
    from transformers import (PreTrainedTokenizerFast, Qwen2VLConfig,
                              Qwen2VLForConditionalGeneration)
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import \
        Qwen2VLImageProcessorPil
    special = ['<|endoftext|>', '<|im_start|>', '<|im_end|>',
               '<|vision_start|>', '<|vision_end|>', '<|image_pad|>',
               '<|video_pad|>']
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(
        ['an aerial image of buildings roads trees and cars'],
        trainers.BpeTrainer(
            vocab_size=400, special_tokens=special, show_progress=False,
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token='<|im_end|>',
        pad_token='<|endoftext|>')
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in special}
    image_processor = Qwen2VLImageProcessorPil(
        min_pixels=56 * 56, max_pixels=56 * 56, patch_size=14, merge_size=2,
        temporal_patch_size=2)
    config = Qwen2VLConfig(
        text_config=dict(
            vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64,
            num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=1,
            rope_scaling=dict(type='mrope', mrope_section=[4, 2, 2],
                              rope_type='default'),
            max_position_embeddings=512, eos_token_id=ids['<|im_end|>'],
            pad_token_id=ids['<|endoftext|>']),
        vision_config=dict(depth=1, embed_dim=16, hidden_size=32, num_heads=2,
                           patch_size=14, spatial_merge_size=2,
                           temporal_patch_size=2, in_chans=3, mlp_ratio=2),
        image_token_id=ids['<|image_pad|>'],
        video_token_id=ids['<|video_pad|>'],
        vision_start_token_id=ids['<|vision_start|>'],
        vision_end_token_id=ids['<|vision_end|>'])
    torch.manual_seed(0)
    Qwen2VLForConditionalGeneration(config).save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    image_processor.save_pretrained(out_dir)
    return out_dir


def load_tool(name, folder='tools'):
    """Import ``<folder>/<name>.py`` by path: the scripts of ``tools/`` and
    ``bench/`` are not packages (and ``tools/test.py`` would otherwise
    clash with the standard library's ``test`` package)."""
    import importlib.util
    path = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), folder,
                    f'{name}.py')
    spec = importlib.util.spec_from_file_location(
        f'dldm_{folder}_{name}', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def free_port():
    """A free TCP port on localhost for a gloo process group."""
    import socket
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def make_reference_model(folder: str, seed: int = 0):
    """A tiny (random, initialised with ``seed``) DeepLabV3+ of the demo's
    config saved as a checkpoint in ``folder``; returns ``(config,
    checkpoint)`` for consistency checks."""
    import torch
    from mmseg.apis import init_model
    from mmseg.datasets import PotsdamDataset
    config = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))),
                      'configs', 'demo', 'deeplabv3plus_toy_syn0.py')
    torch.manual_seed(seed)
    model = init_model(config, None, device='cpu')
    checkpoint = osp.join(folder, 'ref.pth' if seed == 0 else
                          f'ref_seed{seed}.pth')
    torch.save(dict(meta=dict(dataset_meta=PotsdamDataset.METAINFO),
                    state_dict=model.state_dict()), checkpoint)
    return config, checkpoint
