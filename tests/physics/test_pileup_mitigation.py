"""CHS and SoftKiller against hand computations on hand-built jets, and the overlay's observable pileup (vertices),
nominal μ and detector inefficiency."""

import awkward as ak
import numpy as np
import pytest

from hepgen.errors import HepgenInputError
from hepgen.physics.pileup_mitigation import (
    chs_keep,
    pileup_density,
    softkiller_cut,
    softkiller_keep,
    tracker_charged,
)


def particles(rows):
    """Jets of particles from (pt, eta, phi, charge, is_pileup) rows."""
    return ak.Array(
        [[{"pt": r[0], "eta": r[1], "phi": r[2], "charge": r[3], "is_pileup": r[4]} for r in jet] for jet in rows]
    )


def test_chs_removes_exactly_the_charged_pileup_inside_the_tracker():
    jets = particles(
        [
            [
                (50.0, 0.1, 0.0, 1, False),  # charged hard: kept
                (2.0, 0.2, 0.1, -1, True),  # charged pileup in the tracker: removed
                (3.0, 2.7, 0.1, 1, True),  # charged pileup outside the tracker (|η| > 2.5): no track, kept
                (1.5, 0.3, 0.2, 0, True),  # neutral pileup: kept (CHS cannot tell)
                (20.0, -0.4, 0.3, 0, False),  # neutral hard: kept
            ]
        ]
    )
    assert ak.to_list(chs_keep(jets)) == [[True, False, True, True, True]]
    assert ak.to_list(tracker_charged(jets)) == [[True, True, False, False, False]]
    with pytest.raises(HepgenInputError, match="charge and vertex"):
        chs_keep(ak.zip({"pt": jets.pt, "eta": jets.eta, "phi": jets.phi}))


def test_chs_behind_a_detector_uses_the_dz_association_not_the_truth():
    # (pt, is_track, from_hard_vertex, is_pileup)
    rows = [
        (50.0, True, True, False),  # hard track: kept
        (2.0, True, False, True),  # pileup track associated with its pileup vertex: removed
        (2.5, True, True, True),  # pileup track of an unreconstructed (or merged) vertex: kept, as CHS would
        (4.0, False, False, True),  # a tower, mostly pileup: kept (CHS cannot tell)
    ]
    jets = ak.Array([[dict(zip(("pt", "is_track", "from_hard_vertex", "is_pileup"), r)) for r in rows]])
    assert ak.to_list(chs_keep(jets)) == [[True, False, True, True]]
    assert ak.to_list(tracker_charged(jets)) == [[True, True, True, False]]


def test_softkiller_cut_is_the_median_of_the_patches_leading_pt():
    # a = 1.0, R = 1.0: a 2 × 2 grid of patches whose centres (±0.5, ±0.5) all lie inside the cone
    rows = [
        (30.0, -0.5, -0.5, 0, False),
        (4.0, -0.4, -0.6, 0, True),  # patch (−,−): leading 30
        (3.0, -0.5, 0.5, 0, True),
        (1.0, -0.3, 0.4, 0, True),  # patch (−,+): leading 3
        (2.0, 0.5, -0.5, 0, True),  # patch (+,−): leading 2
        (1.0, 0.5, 0.5, 0, True),  # patch (+,+): leading 1
    ]
    jets = particles([rows, rows[2:]])
    cut = softkiller_cut(jets, np.zeros(2), np.zeros(2), grid_size=1.0)
    np.testing.assert_allclose(cut, [np.median([30, 3, 2, 1]), np.median([0, 3, 2, 1])])  # 2.5 and 1.5
    keep = softkiller_keep(jets, np.zeros(2), np.zeros(2), grid_size=1.0)
    assert ak.to_list(keep) == [[True, True, True, False, False, False], [True, False, True, False]]
    # with eligible particles only the neutral ones fill the patches and can be removed
    eligible = ak.Array([[False, True, True, True, True, True], [True, True, True, True]])
    cut = softkiller_cut(jets, np.zeros(2), np.zeros(2), grid_size=1.0, eligible=eligible)
    np.testing.assert_allclose(cut, [np.median([4, 3, 2, 1]), 1.5])
    assert ak.to_list(softkiller_keep(jets, np.zeros(2), np.zeros(2), grid_size=1.0, eligible=eligible)[0]) == [
        True,
        True,
        True,
        False,
        False,
        False,
    ]
    # the grid is aligned on each jet's axis; a finer grid keeps only patches whose centre is in the cone
    shifted = softkiller_cut(
        particles([[(r[0], r[1] + 1.0, r[2] - 2.0, *r[3:]) for r in rows]]),
        np.array([1.0]),
        np.array([-2.0]),
        grid_size=1.0,
    )
    np.testing.assert_allclose(shifted, [2.5])
    with pytest.raises(HepgenInputError, match="grid size"):
        softkiller_cut(jets, np.zeros(2), np.zeros(2), grid_size=0.0)


@pytest.mark.slow
def test_the_overlay_records_what_data_knows_and_loses_particles(top_jets, minbias_file):
    from hepgen.sim.pileup import overlay_pileup, read_hard_jets, read_pileup_pool

    jets, pool = read_hard_jets(top_jets), read_pileup_pool(minbias_file)
    observed = overlay_pileup(jets, pool, mu=np.full(len(jets), 80.0), seed=3, vertex_efficiency=0.7)
    # N_PV = 1 + Binomial(N_PU, 0.7): never more than N_PU + 1, mean 1 + 0.7 N_PU
    assert np.all((observed.n_vertices >= 1) & (observed.n_vertices <= observed.n_interactions + 1))
    expected = 1 + 0.7 * observed.n_interactions.sum() / len(jets)
    assert abs(observed.n_vertices.mean() - expected) < 4 * np.sqrt(0.21 * observed.n_interactions.mean() / len(jets))
    np.testing.assert_array_equal(observed.mu, 80.0)
    assert ak.all(observed.hard_kept)
    # the same seed with an inefficiency: the same interactions, ~10 % of the particles lost, the truth intact
    lossy = overlay_pileup(jets, pool, mu=80.0, seed=3, vertex_efficiency=0.7, inefficiency=0.1)
    np.testing.assert_array_equal(lossy.n_interactions, observed.n_interactions)
    n, n_lossy = int(ak.sum(ak.num(observed.constituents))), int(ak.sum(ak.num(lossy.constituents)))
    assert abs(1 - n_lossy / n - 0.1) < 4 * np.sqrt(0.09 / n)
    hard = lossy.constituents[~lossy.constituents.is_pileup]
    assert ak.all(hard.pt == jets.constituents.pt[lossy.hard_kept])  # the survivors, in order
    assert ak.all(ak.num(jets.constituents) == ak.num(lossy.hard_kept))
    for bad, match in (
        ({"vertex_efficiency": 0.0}, "vertex efficiency"),
        ({"inefficiency": 1.0}, "inefficiency"),
        ({"mu": -1.0}, "must be >= 0"),
    ):
        with pytest.raises(HepgenInputError, match=match):
            overlay_pileup(jets, pool, **{"mu": 60.0, "seed": 1, **bad})


def test_a_pool_without_charges_is_refused_with_the_branches_it_has(tmp_path, minbias_file):
    """CHS needs each pileup particle's charge: a pool written without it is an input error that names what exists."""
    import uproot

    from hepgen.sim.pileup import read_pileup_pool

    with uproot.open(minbias_file) as f:
        arrays = f["Events"].arrays(["Particle_pt", "Particle_eta", "Particle_phi", "Particle_mass", "event"])
    path = tmp_path / "pool.root"
    with uproot.recreate(path) as f:
        particles = ak.zip({k.removeprefix("Particle_"): arrays[k] for k in arrays.fields if k != "event"})
        tree = f.mktree(
            "Events",
            {"Particle": particles.type.content, "event": arrays["event"].type.content},
            field_name=lambda outer, inner: f"{outer}_{inner}",
            counter_name=lambda c: "n" + c,
        )
        tree.extend({"Particle": particles, "event": arrays["event"]})
    with pytest.raises(HepgenInputError, match="Particle_charge") as error:
        read_pileup_pool(path)
    assert "'Particle_pt'" not in str(error.value).split("which the tree lacks")[0], error.value  # only charge missing


def test_pileup_density_is_the_median_patch_pt_per_area():
    """Hand computation on a 2 × 2 grid of unit patches (centres at ±0.5, all within R = 1): event 0 has patch sums
    4, 6, 3 and one empty patch, so ρ = median(0, 3, 4, 6) / 1² = 3.5; event 1 has one filled patch, so ρ = 0; with
    half-size patches (area 0.25) 4 of the 12 patches within R are filled, so the median is 0."""
    events = ak.Array(
        [
            [
                {"pt": 4.0, "eta": -0.5, "phi": -0.5},
                {"pt": 2.0, "eta": 0.5, "phi": 0.5},
                {"pt": 1.0, "eta": 0.6, "phi": 0.4},
                {"pt": 6.0, "eta": -0.5, "phi": 0.5},
                {"pt": 9.0, "eta": 1.5, "phi": 0.0},  # off the grid: ignored
            ],
            [{"pt": 8.0, "eta": 0.2, "phi": 0.2}],
        ]
    )
    rho = pileup_density(events, np.zeros(2), np.zeros(2), radius=1.0, grid_size=1.0)
    np.testing.assert_allclose(rho, [3.5, 0.0])
    # the grid follows the axis: the same event shifted in η and φ (across φ = π) gives the same ρ
    shifted = ak.zip({"pt": events.pt[:1], "eta": events.eta[:1] + 2.0, "phi": (events.phi[:1] + np.pi) % (2 * np.pi)})
    np.testing.assert_allclose(pileup_density(shifted, [2.0], [np.pi], radius=1.0, grid_size=1.0), [3.5], atol=1e-12)
    np.testing.assert_allclose(pileup_density(events[:1], [0.0], [0.0], radius=1.0, grid_size=0.5), [0.0])
    with pytest.raises(HepgenInputError, match="grid size"):
        pileup_density(events, np.zeros(2), np.zeros(2), radius=1.0, grid_size=0.0)
