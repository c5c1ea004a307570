"""MixedRatioSampler in two real processes (gloo): ranks agree on the seed
and take disjoint, complete shares of the same epoch."""
import os

import torch.distributed as dist
import torch.multiprocessing as mp

from fixtures import free_port


class Sized:
    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n


def worker(rank, world_size, port, out):
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    dist.init_process_group('gloo', rank=rank, world_size=world_size)
    try:
        import dldm_mmseg  # noqa: F401
        from unittest import mock
        from dldm_mmseg.datasets.samplers import MixedRatioSampler
        from dldm_mmseg.datasets.synth_dataset import DiffusionSynthDataset
        syn = mock.create_autospec(DiffusionSynthDataset, instance=True)
        syn.__len__.return_value = 40
        dataset = mock.Mock(datasets=[Sized(25), syn],
                            __len__=lambda self: 65)
        sampler = MixedRatioSampler(dataset, syn_ratio=0.4, seed=None,
                                    round_up=False)  # seed synced by rank 0
        out[rank] = (sampler.seed, list(sampler), sampler.epoch_indices(0))
    finally:
        dist.destroy_process_group()


def test_two_ranks_share_one_epoch():
    out = mp.Manager().dict()
    mp.spawn(worker, args=(2, free_port(), out), nprocs=2, join=True)
    (seed0, share0, epoch0), (seed1, share1, epoch1) = out[0], out[1]
    assert seed0 == seed1 and epoch0 == epoch1
    assert len(epoch0) == 25 + 10
    assert len(set(epoch0)) == len(epoch0)
    assert not set(share0) & set(share1)  # disjoint
    assert sorted(share0 + share1) == sorted(epoch0)
    assert share0 == epoch0[0::2] and share1 == epoch0[1::2]
