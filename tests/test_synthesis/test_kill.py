"""Synthesis killed with SIGKILL at random moments, then resumed."""
import json
import multiprocessing as mp
import os
import os.path as osp
import random
import signal
import sys
import time

import pytest

from dldm_mmseg.synthesis.engine import SynthesisEngine, synthesis_status

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from test_synthesis_engine import (assert_same_files, exported_generators,  # noqa
                            synth_cfg)

from dldm_mmseg.datasets.captioning import write_captions  # noqa: E402
from fixtures import POTSDAM_CLASSES, make_seg_dataset  # noqa: E402

NUM = 20
# what identifies a sample; seconds (timing) may differ between runs
RECORD_KEYS = ('id', 'seed', 'mask_seed', 'image_seed', 'prompt',
               'image_prompt', 'target_shares', 'measured_shares', 'cpe',
               'tries', 'generator_weights')


def synthesize(cfg, out):
    """The child: what ``tools/synthesize.py`` runs, killed from outside."""
    import dldm_mmseg  # noqa: F401
    from mmengine.registry import init_default_scope
    init_default_scope('mmseg')
    SynthesisEngine(cfg, device='cpu').run(NUM, out, progress=False)


def count_files(out):
    """Files (temporaries included) under ``out``."""
    return sum(len(names) for _, _, names in os.walk(out))


def records(out):
    with open(osp.join(out, 'manifest.jsonl'), encoding='utf-8') as f:
        return [{k: json.loads(line)[k] for k in RECORD_KEYS} for line in f]


@pytest.mark.skipif(sys.platform == 'win32', reason='SIGKILL is POSIX')
def test_sigkill_at_random_moments_then_resume_equals_one_run(
        tmp_path):
    real = make_seg_dataset(str(tmp_path / 'real'), num_train=6, num_val=0,
                            size=32)
    write_captions(real, POTSDAM_CLASSES, True, 'img_dir/train',
                   'ann_dir/train')
    cfg = synth_cfg((real, exported_generators(str(tmp_path / 'gens'))))
    clean, out = str(tmp_path / 'clean'), str(tmp_path / 'killed')
    SynthesisEngine(cfg, device='cpu').run(NUM, clean, progress=False)

    # forkserver: each child forks from a server that has imported the
    # package but run no torch kernel (forking this process, whose OpenMP
    # pool is live, may hang), so a start costs little beyond the run
    ctx = mp.get_context('forkserver')
    ctx.set_forkserver_preload(['dldm_mmseg.synthesis.engine'])
    rng = random.Random(0)
    kills, done = 0, []
    while kills < 5:
        before = count_files(out)
        child = ctx.Process(target=synthesize, args=(cfg, out))
        child.start()
        # a random moment while the child writes samples: once 1 to 4 new
        # files are there (loading took place), then up to 20 ms more
        # (a tiny batch takes tens of ms), so each kill costs the child at
        # most a chunk or two and 5 kills fit in NUM samples on any machine
        wait_for = before + rng.randint(1, 4)
        deadline = time.monotonic() + 60
        while child.is_alive() and count_files(out) < wait_for:
            assert time.monotonic() < deadline, 'the child wrote nothing'
            time.sleep(0.002)
        time.sleep(rng.uniform(0, 0.02))
        assert child.is_alive(), 'the set finished before 5 kills'
        os.kill(child.pid, signal.SIGKILL)
        child.join()
        kills += 1
        status = synthesis_status(out, NUM)
        assert not status['complete']
        done.append(len(status['done']))
    # the kills fell while samples were being made, not all before the first
    assert done[-1] > 0, done
    SynthesisEngine(cfg, device='cpu').run(NUM, out, progress=False)
    status = synthesis_status(out, NUM)
    assert status['complete'] and len(status['done']) == NUM
    leftovers = [name for _, _, names in os.walk(out) for name in names
                 if name.startswith('.') or name.endswith('.tmp')]
    assert leftovers == []
    assert records(out) == records(clean)
    assert_same_files(out, clean)
