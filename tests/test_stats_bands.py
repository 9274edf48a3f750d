"""cardworld.stats.band_values: score tiers by hand."""

import numpy as np

from cardworld.stats import band_values


def test_band_values_by_hand():
    bands = {660: 0.8, 300: 0.2, 720: 1.1}  # unsorted on purpose
    x = np.array([100, 300, 659, 660, 719.5, 720, 850])
    assert band_values(bands, x).tolist() == [0.2, 0.2, 0.2, 0.8, 0.8, 1.1, 1.1]
    assert float(band_values(bands, 700)) == 0.8
