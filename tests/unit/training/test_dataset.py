from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from alphapulse.training.dataset import dataset_from
from tests.unit.training.synthetic import synthetic_matrix


def test_drops_warmup_and_unknown_labels_and_aligns_bar_returns() -> None:
    matrix = synthetic_matrix(200, horizon=3)
    dataset = dataset_from(matrix)
    assert len(dataset) == 200 - 5 - 3
    assert dataset.open_time[0] == matrix.frame.index[5]
    log_close = np.log(matrix.frame["close"].to_numpy())
    np.testing.assert_allclose(dataset.next_return[0], log_close[6] - log_close[5])
    np.testing.assert_allclose(dataset.bar_return[0], log_close[5] - log_close[4])
    assert not np.isnan(dataset.x).any()


def test_refuses_naive_times() -> None:
    matrix = synthetic_matrix(50)
    naive = replace(matrix, frame=matrix.frame.tz_localize(None))
    with pytest.raises(ValueError, match="UTC"):
        dataset_from(naive)
