"""A generator trained by two DDP processes (gloo, CPU) through Runner."""
import os
import os.path as osp

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from dldm_mmseg.datasets.captioning import write_captions
from fixtures import POTSDAM_CLASSES, free_port, make_seg_dataset

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def worker(rank, port, data, work_dir, out):
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port),
                      RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE='2')
    # mmengine's pytorch launcher calls torch.cuda.set_device; on a CPU
    # build the process group is made here and the Runner uses it.
    dist.init_process_group('gloo', rank=rank, world_size=2)
    import dldm_mmseg  # noqa: F401
    from mmengine.config import Config
    from mmengine.runner import Runner
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'generators',
                                   'mask_lora_potsdam.py'))
    cfg.merge_from_dict({
        'model.components': dict(_delete_=True, preset='tiny'),
        'model.lora_rank': 4, 'model.frozen_dtype': None,
        'model.ema_decay': 0.5,
        'train_dataloader.dataset.data_root': data,
        'train_dataloader.batch_size': 1, 'train_dataloader.num_workers': 0,
        'train_dataloader.persistent_workers': False,
        'val_dataloader.dataset.data_root': data,
        'val_dataloader.dataset.captions': 'captions.jsonl',
        'val_dataloader.num_workers': 0,
        'optim_wrapper': dict(_delete_=True, type='OptimWrapper',
                              optimizer=dict(type='AdamW', lr=1e-2)),
        'train_cfg.max_epochs': 1, 'custom_hooks': [
            dict(type='GeneratorExportHook', at_checkpoints=False)],
        'model_wrapper_cfg.device_ids': None,  # the config's wrapper
        'launcher': 'pytorch', 'work_dir': work_dir})
    runner = Runner.from_cfg(cfg)
    runner.train()
    model = runner.model.module
    assert type(runner.model).__name__ == 'GeneratorDistributedDataParallel'
    out[rank] = (runner.iter, {k: v.detach().clone() for k, v in
                               model.trainable_parameters().items()},
                 {k: model.ema.shadow(k).clone()
                  for k in model.trainable_parameters()})
    dist.destroy_process_group()


def test_two_process_training_keeps_ranks_in_sync(tmp_path):
    data = make_seg_dataset(str(tmp_path / 'real'), num_train=4, num_val=0,
                            size=32)
    write_captions(data, POTSDAM_CLASSES, True, 'img_dir/train',
                   'ann_dir/train')
    out = mp.Manager().dict()
    work = str(tmp_path / 'work')
    mp.spawn(worker, args=(free_port(), data, work, out), nprocs=2,
             join=True)
    (iters0, w0, ema0), (iters1, w1, ema1) = out[0], out[1]
    assert iters0 == iters1 == 2  # 4 patches, 2 ranks x batch 1
    assert all(torch.equal(w0[k], w1[k]) for k in w0)  # DDP averaged grads
    # the EMA shadow moved under DDP (it starts at the initial weights,
    # lora_B = 0) and is the same on both ranks
    moved = [k for k in w0 if 'lora_B' in k and ema0[k].abs().sum() > 0]
    assert moved
    assert all(torch.equal(ema0[k], ema1[k]) for k in ema0)
    assert any(w0[k].abs().sum() > 0 for k in w0 if 'lora_B' in k)
    assert osp.isfile(osp.join(work, 'export', 'final',
                               'pytorch_lora_weights.safetensors'))
