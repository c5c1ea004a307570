"""Choosing a segmentor recipe on val: class weights from shares, the
sweep over recipes and seeds, and the pick."""
import json
import os
import os.path as osp

import pytest

from dldm_mmseg.experiments import recipes
from dldm_mmseg.experiments.alpha_sweep import VAL_METRICS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'configs', 'demo', 'deeplabv3plus_toy_syn0.py')


def test_class_weights_are_the_root_of_the_largest_share_over_each():
    shares = dict(forest=0.64, water=0.04, road=0.16, other=0.16)
    assert recipes.class_weights_from_shares(
        shares, ['water', 'forest', 'road']) == [4.0, 1.0, 2.0]
    with pytest.raises(ValueError, match=r"\['ice'\] have none"):
        recipes.class_weights_from_shares(dict(shares, ice=0.0),
                                          ['forest', 'ice'])


def test_class_weight_options_set_both_heads():
    assert recipes.class_weight_options([1, 2.5]) == {
        'model.decode_head.loss_decode.class_weight': [1.0, 2.5],
        'model.auxiliary_head.loss_decode.class_weight': [1.0, 2.5]}


def test_recipe_slug_is_a_folder_name():
    assert recipes.recipe_slug('demo (1500 it, lr 0.05)') == \
        'demo_1500_it_lr_005'


def test_sweep_trains_each_recipe_and_seed_and_picks_on_val(
        monkeypatch, tmp_path):
    trained = []

    def fake_train_and_test(cfg, name):
        trained.append((cfg, name))
        os.makedirs(cfg.work_dir, exist_ok=True)
        lr = cfg.optim_wrapper.optimizer.lr
        # val prefers lr 0.01, test the other way round: the pick must
        # read val
        val, test = (60.0, 40.0) if lr == 0.01 else (50.0, 70.0)
        val += cfg.randomness.seed
        with open(osp.join(cfg.work_dir, VAL_METRICS), 'w') as f:
            json.dump({'mIoU': val}, f)
        return {'mIoU': test}

    monkeypatch.setattr(recipes, 'train_and_test', fake_train_and_test)
    sweep = {'lr 0.01': {'optim_wrapper.optimizer.lr': 0.01,
                         'train_cfg.max_iters': 5},
             'lr 0.1': {'optim_wrapper.optimizer.lr': 0.1,
                        'train_cfg.max_iters': 5}}
    out = tmp_path / 'sweep.json'
    results = recipes.sweep_recipes(CONFIG, sweep, [0, 2],
                                    str(tmp_path / 'runs'), str(out))
    assert [name for _, name in trained] == [
        'recipe_lr_001_seed0', 'recipe_lr_001_seed2',
        'recipe_lr_01_seed0', 'recipe_lr_01_seed2']
    assert [(c.randomness.seed, c.train_cfg.max_iters) for c, _ in
            trained] == [(0, 5), (2, 5)] * 2
    assert json.loads(out.read_text()) == results
    assert results['lr 0.1']['2'] == dict(val={'mIoU': 52.0},
                                          test={'mIoU': 70.0})
    assert recipes.mean_val(results) == {'lr 0.01': 61.0, 'lr 0.1': 51.0}
    assert recipes.pick_on_val(results) == ('lr 0.01', 61.0)
    assert recipes.val_summary(results) == [
        'lr 0.01 val mIoU  61.00 (2 seeds)',
        'lr 0.1  val mIoU  51.00 (2 seeds)']
    with_water = {'a': {'0': dict(val={'mIoU': 50.0, 'IoU.water': 10.0}),
                        '1': dict(val={'mIoU': 52.0, 'IoU.water': 20.0})}}
    assert recipes.val_summary(with_water, ['water']) == [
        'a val mIoU  51.00 water  15.00 (2 seeds)']
    # a second sweep reuses every finished run
    recipes.sweep_recipes(CONFIG, sweep, [0, 2], str(tmp_path / 'runs'),
                          str(out))
    assert len(trained) == 4
