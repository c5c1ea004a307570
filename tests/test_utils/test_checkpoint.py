import torch

from dldm_mmseg.utils.checkpoint import checkpoint_mismatches


def test_checkpoint_mismatches_names_shapes_missing_and_extra_weights():
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 1),
                                torch.nn.Conv2d(4, 6, 1))
    state = {('module.' + k): v.clone() for k, v in model.state_dict().items()}
    assert checkpoint_mismatches(model, state) == []
    other = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 1),
                                torch.nn.Conv2d(4, 3, 1)).state_dict()
    del other['0.bias']
    other['2.weight'] = torch.zeros(1)
    problems = checkpoint_mismatches(model, other)
    assert 'missing in the checkpoint: 0.bias' in problems
    assert ('shape differs: 1.weight is (3, 4, 1, 1) in the checkpoint, '
            '(6, 4, 1, 1) in the model') in problems
    assert 'not in the model: 2.weight' in problems
    assert len(problems) == 4  # 1.bias differs too
