"""Stage 2 painting the real masks of both held-out splits."""
import pytest

from dldm_mmseg.experiments.demo import measures


def test_paint_splits_reads_each_split_against_its_real_images(monkeypatch):
    painted = []

    def fake_paint(config, options, export, data_root, source_dataset,
                   split, synthesis, reference, work_dir, name):
        painted.append((split, work_dir, name, reference))
        return {'consistency_mIoU': {'val': 20.0, 'test': 30.0}[split]}

    monkeypatch.setattr(measures, 'paint_real_masks', fake_paint)
    scores = measures.paint_splits(
        'stage2.py', 'export', 'data', {}, {}, {'checkpoint': 'c.pth'},
        {'val': 40.0, 'test': 25.0}, 'runs/painted_{split}', 'x_{split}')
    assert scores['val']['fraction'] == pytest.approx(0.5)
    assert scores['test']['fraction'] == pytest.approx(1.2)
    assert painted == [
        ('val', 'runs/painted_val', 'x_val', {'checkpoint': 'c.pth'}),
        ('test', 'runs/painted_test', 'x_test', {'checkpoint': 'c.pth'})]
