"""Make or complete the synthetic set a training dataset reads."""
import os.path as osp
from collections.abc import Mapping
from typing import Optional

from mmengine.config import Config
from mmengine.dist import get_dist_info
from mmengine.logging import MMLogger

from dldm_mmseg.datasets.synth_layout import (ANN_DIR, IMG_DIR, INFO, MANIFEST,
                                              synthesis_status)
from dldm_mmseg.registry import SET_BUILDERS
from dldm_mmseg.synthesis.engine import SynthesisEngine
from dldm_mmseg.synthesis.output import other_configuration, set_identity
from dldm_mmseg.synthesis.settings import SynthesisSettings
from dldm_mmseg.utils.io import read_jsonl
from dldm_mmseg.utils.random_state import kept_random_state


@SET_BUILDERS.register_module()
class SyntheticSetBuilder:
    """The synthetic set of a ``DiffusionSynthDataset``, made from a synth
    config when missing or incomplete.

    A segmentation config names it in the dataset that reads the set, so
    the folder is written once (the dataset's ``data_root``)::

        dict(type='DiffusionSynthDataset',
             source_dataset=dict(type='PotsdamDataset'),
             data_root=syn_data_root,
             synthesis=dict(config='configs/synth/potsdam.py', num=3456))

    The dataset calls :meth:`ensure` before it reads the manifest: the set
    is made, or completed after an interrupted run, with the generators of
    ``config`` (all ranks share the ids; see ``tools/synthesize.py``). A
    complete set is reused without loading any generator when its record
    says it was made with this configuration (settings, weights' and
    captions' hashes); a set of another configuration is refused. A set
    made elsewhere (a manifest without a record) is reused when it lists
    ``num`` pairs whose files exist. Runs that never build the training set
    (``tools/test.py``) never synthesise.

    Args:
        config (str): A synth config (``configs/synth/*.py``).
        num (int): Number of pairs the set must hold.
        options (dict, optional): Settings merged into the synth config's
            ``synthesis`` (e.g. ``dict(shares=dict(weak_classes=
            'metrics.json'))`` for a variant of the set in its own folder).
            Defaults to None.
        overwrite (bool): Replace a set of another configuration. Defaults
            to False.
        device (str, optional): Device for the generators.
    """

    def __init__(self, config: str, num: int,
                 options: Optional[dict] = None, overwrite: bool = False,
                 device: Optional[str] = None) -> None:
        if num is None or int(num) <= 0:
            raise ValueError(f'synthesis num must be > 0, got {num!r}')
        if not osp.isfile(config):
            raise FileNotFoundError(
                f'synth config {config} does not exist (the synthesis '
                'config of a DiffusionSynthDataset; paths are relative to '
                'the directory the run starts in)')
        if options is not None and not isinstance(options, Mapping):
            raise TypeError(
                f'synthesis options must be a dict, got {options!r} (for '
                f'{config}); on the command line set each one by its '
                'dotted key, e.g. --cfg-options train_dataloader.dataset.'
                'datasets.1.synthesis.options.shares.rarity_exponent=0')
        self.cfg = Config.fromfile(config)
        options = dict(options or {})
        # a dict option where the config has none (``consistency=None``) is
        # set as given; the others merge into the config's values
        given = {key: options.pop(key) for key in list(options)
                 if isinstance(options[key], dict) and not isinstance(
                     self.cfg.synthesis.get(key), dict)}
        if options:
            self.cfg.merge_from_dict(dict(synthesis=options))
        for key, value in given.items():
            self.cfg.synthesis[key] = value
        self.config = config
        self.num = int(num)
        self.overwrite = overwrite
        self.device = device

    def ensure(self, out_dir: str) -> dict:
        """Make or complete the set in ``out_dir``; returns the engine's
        result (``generated``, ``complete``, ...)."""
        logger = MMLogger.get_current_instance()
        status = synthesis_status(out_dir, self.num)
        # a set with a record is checked against it; a set made elsewhere
        # (a manifest only) is reused as it is, see _prebuilt_set_suffices
        other = other_configuration(out_dir, set_identity(
            SynthesisSettings.from_config(self.cfg.synthesis.to_dict()))) \
            if osp.isfile(osp.join(out_dir, INFO)) else None
        if other is not None and not self.overwrite:
            raise ValueError(
                f'{out_dir} holds a set of another configuration than '
                f'{self.config} ({other}; see its {INFO}): point the '
                'DiffusionSynthDataset\'s data_root at another folder, '
                'delete that set, or set synthesis.overwrite=True')
        if other is None and (status['complete'] or
                              self._prebuilt_set_suffices(out_dir)):
            logger.info(f'synthetic set {out_dir} is complete ({self.num} '
                        'pairs), reused')
            return dict(generated=0, complete=True)
        logger.info(f'synthetic set {out_dir} has {len(status["done"])} of '
                    f'{self.num} pairs; making the rest with {self.config}')
        rank, world_size = get_dist_info()
        # a set made while a training run builds its dataset leaves the
        # run's random draws as they were: the run trains as it would
        # have over a set made beforehand
        with kept_random_state():
            engine = SynthesisEngine(self.cfg.synthesis.to_dict(),
                                     device=self.device)
            result = engine.run(self.num, out_dir, overwrite=self.overwrite,
                                rank=rank, world_size=world_size)
        logger.info(f'synthetic set {out_dir}: made {result["generated"]} '
                    f'pairs in {result["seconds"]:.0f} s on rank {rank}')
        return result

    def _prebuilt_set_suffices(self, out_dir: str) -> bool:
        """A set made elsewhere (a manifest, no per-sample records) is
        reused when it lists at least ``num`` samples whose files exist."""
        manifest = osp.join(out_dir, MANIFEST)
        if not osp.isfile(manifest):
            return False
        ids = [str(r.get('id')) for r in read_jsonl(manifest)]
        return len(ids) >= self.num and all(
            osp.isfile(osp.join(out_dir, sub, i + '.png'))
            for i in ids for sub in (IMG_DIR, ANN_DIR))
