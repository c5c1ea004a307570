import glob
import os.path as osp

import pytest
import torch

from dldm_mmseg.datasets.toy_landcover import make_toy_landcover

from fixtures import load_tool

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'configs', 'demo', 'deeplabv3plus_toy_syn0.py')


def options(data_root, iters):
    return ['--cfg-options', f'train_dataloader.dataset.data_root={data_root}',
            f'val_dataloader.dataset.data_root={data_root}',
            f'test_dataloader.dataset.data_root={data_root}',
            f'train_cfg.max_iters={iters}', f'train_cfg.val_interval={iters}',
            'default_hooks.checkpoint.interval=2',
            'train_dataloader.batch_size=2']


def test_train_resume_and_test(tmp_path):
    test_tool = load_tool('test')
    train = load_tool('train')
    data = str(tmp_path / 'toy')
    make_toy_landcover(data, num_train=4, num_val=2, size=32, num_test=2)
    work = str(tmp_path / 'work')
    runner = train.main([CONFIG, '--work-dir', work] + options(data, 2))
    assert runner.iter == 2
    saved = torch.load(osp.join(work, 'iter_2.pth'), map_location='cpu',
                       weights_only=False)
    # resumed with nothing left to train, the runner holds exactly what
    # was saved: weights (BN statistics too), SGD momentum, the schedule
    runner = train.main([CONFIG, '--work-dir', work, '--resume'] +
                        options(data, 2))
    weights = runner.model.state_dict()
    assert weights.keys() == saved['state_dict'].keys()
    assert all(torch.equal(weights[k], v)
               for k, v in saved['state_dict'].items())
    momentum = runner.optim_wrapper.optimizer.state_dict()['state']
    assert momentum and momentum.keys() == saved['optimizer']['state'].keys()
    assert all(torch.equal(momentum[i]['momentum_buffer'],
                           s['momentum_buffer'])
               for i, s in saved['optimizer']['state'].items())
    assert runner.param_schedulers[0].last_step == \
        saved['param_schedulers'][0]['last_step']
    # --resume continues from the last checkpoint in the work dir
    runner = train.main([CONFIG, '--work-dir', work, '--resume'] +
                        options(data, 4))
    assert runner.iter == 4
    last_log = sorted(glob.glob(osp.join(work, '*', '*.log')))[-1]
    assert 'resumed epoch: 0, iter: 2' in open(last_log).read()
    metrics = test_tool.main([CONFIG, osp.join(work, 'iter_4.pth'),
                              '--work-dir', work] + options(data, 4)[:4])
    assert {'mIoU', 'mFscore', 'mCPE', 'IoU.car'} <= set(metrics)
    # a checkpoint whose head does not fit is refused before testing
    # (mmengine would skip it with a warning and score a random head)
    with pytest.raises(SystemExit, match=r'does not fit the model(.|\n)*'
                       r'shape differs: decode_head.conv_seg.weight'):
        test_tool.main([CONFIG, osp.join(work, 'iter_4.pth'), '--work-dir',
                        work] + options(data, 4)[:4] +
                       ['model.decode_head.num_classes=3'])


def test_train_refuses_weights_it_would_download(tmp_path):
    train = load_tool('train')
    with pytest.raises(FileNotFoundError, match=r"model\.pretrained="
                       r"'open-mmlab://resnet50_v1c' would be downloaded"):
        train.main([osp.join(ROOT, 'configs', 'pspnet_potsdam_syn0.py'),
                    '--cfg-options', 'model.pretrained=open-mmlab://'
                    'resnet50_v1c', '--work-dir', str(tmp_path)])
    with pytest.raises(FileNotFoundError,
                       match="resnet50_v1c-2cccc1ad.pth' does not exist"):
        train.main([osp.join(ROOT, 'configs', 'pspnet_potsdam_syn40.py'),
                    '--work-dir', str(tmp_path)])
