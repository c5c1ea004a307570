"""Build or complete the synthetic set of a segmentation run."""
import os.path as osp
from typing import Optional

from mmengine.dist import get_dist_info
from mmengine.hooks import Hook
from mmengine.logging import MMLogger

from mmseg.registry import HOOKS
from dldm_mmseg.synthesis import SynthesisEngine
from dldm_mmseg.datasets.synth_layout import (ANN_DIR, IMG_DIR, INFO, MANIFEST,
                                              synthesis_status)
from dldm_mmseg.synthesis.output import other_configuration, set_identity
from dldm_mmseg.synthesis.settings import SynthesisSettings
from dldm_mmseg.datasets.set_builders import register_set_builder
from dldm_mmseg.utils.io import read_jsonl


@HOOKS.register_module()
class SynthesisHook(Hook):
    """Make sure the synthetic set exists before training reads it.

    In a segmentation config next to the ``DiffusionSynthDataset`` whose
    ``data_root`` is ``out_dir``::

        custom_hooks = [dict(type='SynthesisHook',
                             synth_config='configs/synth/potsdam.py',
                             num=3456, out_dir=syn_data_root)]

    When the training set is built, the dataset runs the builder this hook
    registers for ``out_dir`` (:mod:`dldm_mmseg.datasets.set_builders`; the
    dataset never imports the hook), which makes the folder, or completes
    it after an interrupted run, with the generators of
    ``synth_config`` (all ranks share the ids; see ``tools/synthesize.py``).
    A complete set is reused without loading any generator, when its
    record says it was made with this configuration (settings, weights'
    and captions' hashes); a set of another configuration is refused.
    mmengine builds the training dataloader before any hook stage runs, so
    the work happens at that point rather than in ``before_run``;
    evaluation-only runs (``tools/test.py``) never build the training set
    and never synthesise.

    Args:
        synth_config (str): A synth config (``configs/synth/*.py``).
        num (int): Number of pairs the set must hold.
        out_dir (str, optional): The synthetic set folder. Defaults to the
            synth config's ``out_dir``.
        overwrite (bool): Replace a set of another configuration. Defaults
            to False.
        device (str, optional): Device for the generators.
        synth_options (dict, optional): Settings merged into the synth
            config's ``synthesis`` (e.g. ``dict(shares=dict(weak_classes=
            'metrics.json'))`` for a variant of the set in its own
            ``out_dir``). Defaults to None.
    """

    priority = 'VERY_HIGH'

    def __init__(self, synth_config: str, num: int,
                 out_dir: Optional[str] = None, overwrite: bool = False,
                 device: Optional[str] = None,
                 synth_options: Optional[dict] = None) -> None:
        from mmengine.config import Config
        if num is None or num <= 0:
            raise ValueError(f'SynthesisHook needs num > 0, got {num!r}')
        if not osp.isfile(synth_config):
            raise FileNotFoundError(f'synth config {synth_config} does not '
                                    'exist')
        self.cfg = Config.fromfile(synth_config)
        if synth_options:
            self.cfg.merge_from_dict(dict(synthesis=synth_options))
        self.synth_config = synth_config
        self.num = int(num)
        self.out_dir = out_dir or self.cfg.get('out_dir')
        if not self.out_dir:
            raise ValueError(f'no out_dir in SynthesisHook or {synth_config}')
        self.overwrite = overwrite
        self.device = device
        self.result = None
        # the dataset reading out_dir has the set made first (it cannot
        # import this hook: datasets sit below the engine)
        register_set_builder(self.out_dir, self.ensure)

    def ensure(self) -> dict:
        """Build or complete the set (once per hook); returns the result."""
        if self.result is not None:
            return self.result
        logger = MMLogger.get_current_instance()
        status = synthesis_status(self.out_dir, self.num)
        # a set with a record is checked against it; a set made elsewhere
        # (a manifest only) is reused as it is, see _prebuilt_set_suffices
        other = other_configuration(self.out_dir, set_identity(
            SynthesisSettings.from_config(self.cfg.synthesis.to_dict()))) \
            if osp.isfile(osp.join(self.out_dir, INFO)) else None
        if other is not None and not self.overwrite:
            raise ValueError(
                f'SynthesisHook: {self.out_dir} holds a set of another '
                f'configuration than {self.synth_config} ({other}; see its '
                f'{INFO}): point out_dir (and the dataset\'s data_root) at '
                'another folder, delete that set, or set overwrite=True')
        if other is None and (status['complete'] or
                              self._prebuilt_set_suffices()):
            logger.info(f'SynthesisHook: {self.out_dir} is complete '
                        f'({self.num} pairs), reused')
            self.result = dict(generated=0, complete=True)
            return self.result
        logger.info(f'SynthesisHook: {self.out_dir} has '
                    f'{len(status["done"])} of {self.num} pairs; making the '
                    f'rest with {self.synth_config}')
        rank, world_size = get_dist_info()
        engine = SynthesisEngine(self.cfg.synthesis.to_dict(),
                                 device=self.device)
        self.result = engine.run(self.num, self.out_dir,
                                 overwrite=self.overwrite, rank=rank,
                                 world_size=world_size)
        logger.info(f'SynthesisHook: made {self.result["generated"]} pairs '
                    f'in {self.result["seconds"]:.0f} s on rank {rank}')
        return self.result

    def _prebuilt_set_suffices(self) -> bool:
        """A set made elsewhere (a manifest, no per-sample records) is
        reused when it lists at least ``num`` samples whose files exist."""
        manifest = osp.join(self.out_dir, MANIFEST)
        if not osp.isfile(manifest):
            return False
        ids = [str(r.get('id')) for r in read_jsonl(manifest)]
        return len(ids) >= self.num and all(
            osp.isfile(osp.join(self.out_dir, sub, i + '.png'))
            for i in ids for sub in (IMG_DIR, ANN_DIR))

    def before_run(self, runner) -> None:
        """Also covers a run whose synthetic set was not built eagerly."""
        self.ensure()
