"""The demo's settings: step sizes of a full and a ``--quick`` run, the
stage-1 models it compares, and the VAE of each stage."""
import os.path as osp

# the two stage-1 models (keys of DemoDataset.configs), those with
# numeric share conditioning (--numeric-shares), those drawing one-hot
# masks (--onehot-masks), and those doing both (the two options together)
MASK_NAMES = ('with L_prop', 'CE only')
NUMERIC_NAMES = ('numeric, with L_prop', 'numeric, CE only')
ONEHOT_NAMES = ('one-hot, with L_prop', 'one-hot, CE only')
ONEHOT_NUMERIC_NAMES = ('one-hot, numeric, CE only',)
# every model that draws one-hot masks (over the one-hot mask VAE)
ONEHOT_MASK_NAMES = ONEHOT_NAMES + ONEHOT_NUMERIC_NAMES
# the variable the demo configs read their work dir from
# ('{{$DLDM_DEMO_DIR:work_dirs/demo}}'); the demo sets it to --work-dir
WORK_DIR_VARIABLE = 'DLDM_DEMO_DIR'
# the VAE folder of each stage (tools/fit_vae.py --content masks / images)
VAES = {'masks': 'vae_mask', 'images': 'vae_image'}
# the one-hot mask VAE of --onehot-masks (tools/fit_vae.py --content masks
# --mask-encoding onehot), fitted in the work dir
ONEHOT_VAE = ('masks_onehot', 'vae_mask_onehot')

# full run / --quick; num_syn None: as many pairs as real train scenes;
# seg_iters None: the segmentation configs' own schedule
SETTINGS = {
    False: dict(vae_iters=dict(masks=800, images=2400), vae_crop=32,
                gen_epochs=None, num_syn=None, seg_iters=None, steps=20),
    True: dict(vae_iters=dict(masks=10, images=10), vae_crop=32,
               gen_epochs=1, num_syn=16, seg_iters=10, steps=4),
}
# the settings the generators depend on (with the seed and their configs);
# the test scenes are drawn from their own stream, so num_test is not one
GENERATOR_SETTINGS = ('dataset', 'num_train', 'num_val', 'vae_iters',
                      'vae_crop', 'gen_epochs')
# the two generators that ignore their prompt, as the report names them
BASELINE_NAMES = {'prompt_blind': 'prompt-blind baseline (mean train shares)',
                  'real_mask': 'real-mask baseline (random train mask)'}


def config_name(config: str) -> str:
    """A config's file name without its extension: the name of its run
    folder and of its folder in ``demo_weights/``."""
    return osp.splitext(osp.basename(config))[0]
