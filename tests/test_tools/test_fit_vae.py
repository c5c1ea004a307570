import pytest

from fixtures import load_tool


@pytest.mark.parametrize('flag', ['--iters', '--batch-size',
                                  '--latent-channels'])
def test_fit_vae_refuses_nothing_to_fit(tmp_path, flag, capsys):
    fit = load_tool('fit_vae')
    out = tmp_path / 'vae'
    with pytest.raises(SystemExit):
        fit.main([str(tmp_path), '--out', str(out), flag, '0'])
    assert f'{flag} must be >= 1, got 0' in capsys.readouterr().err
    assert not out.exists()
    with pytest.raises(ValueError, match='iters must be >= 1'):
        fit.fit_vae(str(tmp_path), str(out), iters=0)
