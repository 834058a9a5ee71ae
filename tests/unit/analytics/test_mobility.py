"""The gravity model says where residents spend their contact time; a travel cut keeps them home."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from xietong.analytics.core.mobility import apply_travel_cut, gravity_mobility


def _city(districts: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    population = rng.uniform(5e4, 2e6, size=districts)
    position = rng.uniform(0.0, 80.0, size=(districts, 2))
    distance = np.linalg.norm(position[:, None, :] - position[None, :, :], axis=2)
    return population, distance + np.eye(districts)


@settings(max_examples=60)
@given(
    districts=st.integers(min_value=1, max_value=12),
    seed=st.integers(min_value=0, max_value=10_000),
    stay=st.floats(min_value=0.0, max_value=1.0),
    gamma=st.floats(min_value=0.0, max_value=4.0),
)
def test_rows_are_shares_of_contact_time_and_sum_to_one(
    districts: int, seed: int, stay: float, gamma: float
) -> None:
    population, distance = _city(districts, seed)
    mobility = gravity_mobility(
        population=population, distance_km=distance, stay_share=stay, distance_exponent=gamma
    )
    share = mobility.contact_share
    assert share.shape == (districts, districts)
    assert np.all(share >= 0)
    np.testing.assert_allclose(share.sum(axis=1), 1.0, atol=1e-12)
    expected_stay = stay if districts > 1 else 1.0
    np.testing.assert_allclose(np.diag(share), expected_stay, atol=1e-12)


def test_travel_follows_the_gravity_law_between_destinations() -> None:
    population, distance = _city(5, seed=3)
    alpha, beta, gamma = 0.8, 1.2, 1.5
    share = gravity_mobility(
        population=population,
        distance_km=distance,
        stay_share=0.7,
        origin_exponent=alpha,
        destination_exponent=beta,
        distance_exponent=gamma,
    ).contact_share
    # From the same origin, the ratio of time spent in j and k is (P_j/P_k)^β (d_ik/d_ij)^γ.
    for i, j, k in [(0, 1, 2), (3, 4, 0), (2, 0, 4)]:
        expected = (population[j] / population[k]) ** beta * (
            distance[i, k] / distance[i, j]
        ) ** gamma
        assert share[i, j] / share[i, k] == pytest.approx(expected, rel=1e-10)


def test_a_lone_district_keeps_all_contact_time_at_home() -> None:
    mobility = gravity_mobility(population=[1e6], distance_km=[[0.0]], stay_share=0.5)
    np.testing.assert_array_equal(mobility.contact_share, [[1.0]])


@settings(max_examples=60)
@given(
    districts=st.integers(min_value=2, max_value=10),
    seed=st.integers(min_value=0, max_value=10_000),
    data=st.data(),
)
def test_a_cut_district_sends_and_receives_less_travel(
    districts: int, seed: int, data: st.DataObject
) -> None:
    population, distance = _city(districts, seed)
    share = gravity_mobility(population=population, distance_km=distance).contact_share
    cut = data.draw(
        hnp.arrays(np.float64, districts, elements=st.floats(min_value=0.0, max_value=1.0))
    )
    after = apply_travel_cut(share, travel_cut=cut)
    np.testing.assert_allclose(after.sum(axis=1), 1.0, atol=1e-12)
    off = ~np.eye(districts, dtype=bool)
    assert np.all(after[off] <= share[off] + 1e-15)
    outgoing_before = 1.0 - np.diag(share)
    outgoing_after = 1.0 - np.diag(after)
    # Outgoing travel shrinks at least by the district's own cut.
    assert np.all(outgoing_after <= outgoing_before * (1.0 - cut) + 1e-12)
    # Incoming travel from everyone else shrinks at least by the host district's cut.
    for j in range(districts):
        others = np.arange(districts) != j
        assert after[others, j].sum() <= share[others, j].sum() * (1.0 - cut[j]) + 1e-12


def test_closing_a_district_stops_all_travel_in_and_out() -> None:
    population, distance = _city(4, seed=1)
    mobility = gravity_mobility(
        population=population, distance_km=distance, travel_cut=[0.0, 1.0, 0.0, 0.0]
    )
    share = mobility.contact_share
    assert share[1, 1] == 1.0
    np.testing.assert_array_equal(share[[0, 2, 3], 1], 0.0)
    assert mobility.stay_share[1] == 1.0
    assert np.all(mobility.stay_share[[0, 2, 3]] >= 0.85)


def test_no_cut_leaves_the_matrix_unchanged() -> None:
    population, distance = _city(6, seed=2)
    share = gravity_mobility(population=population, distance_km=distance).contact_share
    np.testing.assert_allclose(apply_travel_cut(share, travel_cut=np.zeros(6)), share)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"population": [1.0, -1.0], "distance_km": [[0, 1], [1, 0]]}, "population"),
        ({"population": [1.0, 2.0], "distance_km": [[0, 0], [0, 0]]}, "distance_km"),
        ({"population": [1.0, 2.0], "distance_km": [[0, 1]]}, "distance_km"),
        ({"population": [1.0, 2.0], "distance_km": [[0, 1], [1, 0]], "stay_share": 1.5}, "stay"),
        (
            {"population": [1.0, 2.0], "distance_km": [[0, 1], [1, 0]], "distance_exponent": -1},
            "distance_exponent",
        ),
        (
            {"population": [1.0, 2.0], "distance_km": [[0, 1], [1, 0]], "travel_cut": [0, 2]},
            "travel_cut",
        ),
    ],
)
def test_bad_input_is_refused_naming_the_argument(kwargs: dict[str, object], name: str) -> None:
    with pytest.raises(ValueError, match=name):
        gravity_mobility(**kwargs)  # type: ignore[arg-type]
