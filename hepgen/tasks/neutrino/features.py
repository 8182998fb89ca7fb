"""The neutrino task's inputs: the input sets, what each feature is, and the arrays built from read events.

* the leading lepton (px, py, pz, log E, charge, is-muon), up to ten jets (px, py, pz, log E, b-tag), MET (px, py) and
  the two analytic W-mass roots (smaller and larger |pz|, and whether they were complex), read through the readers'
  schemas (``hepgen-ttbar`` or CMS ``nanoaod``); the ``constrained`` input set (:data:`INPUT_SETS`) adds to every
  jet the top-candidate masses m(ℓνj) built with each W-mass root and MET, the quantity that tells the right root
  from the wrong one;
* the target is the neutrino's (px, py, η) (:data:`TARGETS`): η rather than pz, whose tails are heavy and
  event-dependent; pz = pT sinh η for every sample.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hepgen.errors import HepgenInputError, one_of
from hepgen.io.events import Events
from hepgen.io.pointcloud import PointCloud
from hepgen.physics.kinematics import p4_from_pt_eta_phi_mass
from hepgen.physics.neutrino import solve_neutrino_pz
from hepgen.tasks.events import EventArrays, btag_flags, eta_of, jet_features, lepton_features

__all__ = ["TARGETS", "OBJECT_FEATURES", "INPUT_SETS", "FEATURE_DOCS", "NeutrinoArrays", "neutrino_arrays"]

#: What the model predicts, per event: the neutrino's (px [GeV], py [GeV], η).
TARGETS = ("px", "py", "eta")

#: Per object type, the features the encoder reads (GeV, radians): the ``basic`` input set.
OBJECT_FEATURES: dict[str, tuple[str, ...]] = {
    "lepton": ("px", "py", "pz", "log_energy", "charge", "is_muon"),
    "jets": ("px", "py", "pz", "log_energy", "btag"),
    "met": ("px", "py"),
    "analytic": ("pz_small", "pz_large", "is_complex"),
}

#: The input sets a model can read, by name. ``constrained`` adds to each jet m(ℓ ν j) [GeV] with ν = (MET, the
#: smaller-|pz| root) and with the larger root: near m_t for the leptonic b and the right root.
INPUT_SETS: dict[str, dict[str, tuple[str, ...]]] = {
    "basic": OBJECT_FEATURES,
    "constrained": OBJECT_FEATURES | {"jets": (*OBJECT_FEATURES["jets"], "m_lnuj_small", "m_lnuj_large")},
}

#: What each input feature is, with its unit: what a caller outside hepgen (the ONNX export) must compute.
FEATURE_DOCS: dict[str, str] = {
    "px": "GeV",
    "py": "GeV",
    "pz": "GeV",
    "log_energy": "ln(E / GeV)",
    "charge": "the lepton's charge, ±1",
    "is_muon": "1 for a muon, 0 for an electron",
    "btag": "1 if b-tagged (a discriminator above its working point, e.g. DeepJet > 0.3), else 0",
    "pz_small": "GeV, the W-mass solution for the neutrino's pz with the smaller |pz| (the real part if complex)",
    "pz_large": "GeV, the other W-mass solution",
    "is_complex": "1 if the W-mass solutions were complex, else 0",
    "m_lnuj_small": "GeV, m(ℓ ν j) of this jet with ν = (MET, pz_small)",
    "m_lnuj_large": "GeV, m(ℓ ν j) of this jet with ν = (MET, pz_large)",
}

#: A NanoAOD lepton (the leading electron or muon) must be harder than this [GeV].
_LEPTON_PT_MIN_NANOAOD = 20.0


@dataclass
class NeutrinoArrays(EventArrays):
    """The neutrino model's inputs (and truth, when known) for ``B`` events (:class:`EventArrays`), and what the
    validation's reconstructions need.

    Attributes:
        target: truth (px, py, η) ``[B, 3]`` or None.
        lepton_p4: the lepton's (px, py, pz, E) ``[B, 4]``, for m(ℓν) in validation.
        b_lep_p4: the truth leptonic-top b (px, py, pz, E) ``[B, 4]`` or None.
        analytic_pz: the analytic solution's chosen pz ``[B]``.
        analytic_roots: both roots of the W-mass constraint ``[B, 2]`` (equal when complex).
        jets_p4: the jets' (px, py, pz, E) ``[B, N, 4]`` (zero padding), for the χ² reconstruction.
        parton_jets: the jet matched to each parton (b_lep, b_had, q1, q2) ``[B, 4]`` (−1: none, or unknown).
        truth_m_ttbar: the true m(tt̄) [GeV] ``[B]`` — the mass of the top decay products (the four partons, the
            lepton and the neutrino of the generator) — NaN where one is missing; None without truth.
    """

    lepton_p4: np.ndarray
    b_lep_p4: np.ndarray | None
    analytic_pz: np.ndarray
    analytic_roots: np.ndarray | None = None
    jets_p4: np.ndarray | None = None
    parton_jets: np.ndarray | None = None
    truth_m_ttbar: np.ndarray | None = None

    @property
    def b_lep_jet(self) -> np.ndarray:
        """The jet of the leptonic b ``[B]`` (−1 if unmatched or unknown): the jet-assignment target."""
        if self.parton_jets is None:
            return np.full(len(self), -1, dtype=np.int64)
        return self.parton_jets[:, 0].astype(np.int64)


def _leading_lepton(events: Events) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(p4 [B, 4], charge [B], is_muon [B], has_lepton [B]) of the leading lepton."""
    if "leptons" in events:
        cloud = events["leptons"]
        is_muon = np.abs(cloud["pdgId"][:, 0]) == 13
        has = cloud.mask[:, 0]
        p4 = p4_from_pt_eta_phi_mass(cloud["pt"][:, 0], cloud["eta"][:, 0], cloud["phi"][:, 0], cloud["mass"][:, 0])
        return p4, cloud["charge"][:, 0], is_muon, has
    if "electrons" in events and "muons" in events:  # CMS NanoAOD: the leading e or μ above 20 GeV
        e, m = events["electrons"], events["muons"]
        e_pt = np.where(e.mask[:, 0], e["pt"][:, 0], 0.0)
        m_pt = np.where(m.mask[:, 0], m["pt"][:, 0], 0.0)
        is_muon = m_pt > e_pt

        def pick(f):
            return np.where(is_muon, m[f][:, 0], e[f][:, 0])

        p4 = p4_from_pt_eta_phi_mass(pick("pt"), pick("eta"), pick("phi"), pick("mass"))
        has = np.maximum(e_pt, m_pt) > _LEPTON_PT_MIN_NANOAOD
        return p4, pick("charge"), is_muon, has
    raise HepgenInputError(
        f"the events hold no lepton collection ('leptons', or 'electrons' and 'muons'): {list(events)}"
    )


def _truth_neutrino(events: Events) -> tuple[np.ndarray, np.ndarray] | None:
    """(p4 [B, 4], present [B]) of the truth W-decay neutrino, or None without truth."""
    for name in ("neutrino", "neutrinos"):
        if name in events.truth:
            cloud = events.truth[name]
            return p4_from_pt_eta_phi_mass(
                cloud["pt"][:, 0], cloud["eta"][:, 0], cloud["phi"][:, 0], np.zeros(cloud.n_events)
            ), cloud.mask[:, 0]
    return None


def neutrino_arrays(
    events: Events, *, max_jets: int = 10, require_truth: bool = False, inputs: str = "basic"
) -> NeutrinoArrays:
    """Build the model inputs (the input set ``inputs`` of :data:`INPUT_SETS`) from events read with the
    ``hepgen-ttbar`` or ``nanoaod`` schema.

    Events without a lepton, without jets, or (with ``require_truth``) without a
    truth neutrino are left out and counted in ``skipped``.
    """
    one_of(INPUT_SETS, inputs, "neutrino input set")
    lepton_p4, charge, is_muon, has_lepton = _leading_lepton(events)
    jets: PointCloud = events["jets"]
    if jets.max_length > max_jets:
        jets = PointCloud(jets.values[:, :max_jets], jets.mask[:, :max_jets], jets.features)
    has_jets = jets.mask.any(axis=1)
    met = events["met"]
    met_px, met_py = met["px"][:, 0], met["py"][:, 0]
    truth = _truth_neutrino(events)
    keep = has_lepton & has_jets
    skipped = {"no lepton": int((~has_lepton).sum()), "no jets": int((has_lepton & ~has_jets).sum())}
    if require_truth:
        if truth is None:
            raise HepgenInputError("training needs truth neutrinos, but the schema has no neutrino truth collection")
        skipped["no truth neutrino"] = int((keep & ~truth[1]).sum())
        keep &= truth[1]
    idx = np.flatnonzero(keep)

    jet_p4 = p4_from_pt_eta_phi_mass(jets["pt"], jets["eta"], jets["phi"], jets["mass"])
    btag = btag_flags(jets["btag"], jets.mask) if "btag" in jets.features else np.zeros(jets.mask.shape, np.float32)
    jet_inputs = jet_features(jet_p4, btag, jets.mask)
    lepton_inputs = lepton_features(lepton_p4, charge, is_muon)
    solution = solve_neutrino_pz(*lepton_p4[idx].T, met_px[idx], met_py[idx])
    small = np.where(np.abs(solution.pz_plus) < np.abs(solution.pz_minus), solution.pz_plus, solution.pz_minus)
    large = np.where(np.abs(solution.pz_plus) < np.abs(solution.pz_minus), solution.pz_minus, solution.pz_plus)
    analytic = np.stack([small, large, solution.is_complex.astype(np.float64)], axis=-1)

    B = len(idx)
    jet_inputs = jet_inputs[idx]
    if inputs == "constrained":
        jet_inputs = np.concatenate(
            [
                jet_inputs,
                _top_candidate_masses(
                    lepton_p4[idx], jet_p4[idx], jets.mask[idx], met_px[idx], met_py[idx], small, large
                ),
            ],
            -1,
        )
    objects = {
        "lepton": lepton_inputs[idx, None, :].astype(np.float32),
        "jets": jet_inputs.astype(np.float32),
        "met": np.stack([met_px, met_py], axis=-1)[idx, None, :].astype(np.float32),
        "analytic": analytic[:, None, :].astype(np.float32),
    }
    masks = {
        "lepton": np.ones((B, 1), bool),
        "jets": jets.mask[idx],
        "met": np.ones((B, 1), bool),
        "analytic": np.ones((B, 1), bool),
    }
    target = None
    if truth is not None:
        nu = truth[0][idx]
        target = np.stack([nu[:, 0], nu[:, 1], eta_of(nu[:, :3])], axis=-1).astype(np.float32)
        target[~truth[1][idx]] = np.nan  # no truth for this event (only possible without require_truth)
    b_lep, parton_jets = None, None
    if "partons" in events.truth:
        p = events.truth["partons"]
        b_lep = p4_from_pt_eta_phi_mass(p["pt"][:, 0], p["eta"][:, 0], p["phi"][:, 0], p["mass"][:, 0])[idx]
        if "jetIdx" in p.features:
            matched = np.where(p.mask, p["jetIdx"], -1).astype(np.int64)[idx]
            parton_jets = np.where(matched < jets.max_length, matched, -1)  # a jet beyond those read is no match
    truth_m_ttbar = None
    if truth is not None and "partons" in events.truth and "lepton" in events.truth:
        truth_m_ttbar = _decay_products_mass(events.truth["partons"], events.truth["lepton"], *truth)[idx]
    arrays = NeutrinoArrays(
        objects,
        masks,
        target,
        idx,
        skipped,
        lepton_p4=lepton_p4[idx],
        b_lep_p4=b_lep,
        analytic_pz=solution.pz,
        analytic_roots=np.stack([solution.pz_plus, solution.pz_minus], axis=-1),
        jets_p4=(jet_p4 * jets.mask[..., None])[idx].astype(np.float32),
        parton_jets=parton_jets,
        truth_m_ttbar=truth_m_ttbar,
    )
    arrays.check_finite("neutrino")
    return arrays


def _decay_products_mass(
    partons: PointCloud, lepton: PointCloud, neutrino: np.ndarray, has_neutrino: np.ndarray
) -> np.ndarray:
    """m(b_lep b_had q q' ℓ ν) [GeV] of the generator's top decay products ``[B]`` (NaN where one is missing)."""
    total = neutrino.copy()
    for cloud, count in ((partons, 4), (lepton, 1)):
        for k in range(count):
            total += p4_from_pt_eta_phi_mass(
                cloud["pt"][:, k], cloud["eta"][:, k], cloud["phi"][:, k], cloud["mass"][:, k]
            )
    complete = partons.mask[:, :4].all(axis=1) & lepton.mask[:, 0] & has_neutrino
    m2 = total[:, 3] ** 2 - (total[:, :3] ** 2).sum(axis=1)
    return np.where(complete, np.sqrt(np.maximum(m2, 0.0)), np.nan)


def _top_candidate_masses(
    lepton_p4: np.ndarray,
    jet_p4: np.ndarray,
    mask: np.ndarray,
    met_px: np.ndarray,
    met_py: np.ndarray,
    pz_small: np.ndarray,
    pz_large: np.ndarray,
) -> np.ndarray:
    """m(ℓ ν j) [GeV] of every jet with ν = (MET, each W-mass root) ``[B, N, 2]`` (zero for padding)."""
    masses = []
    for pz in (pz_small, pz_large):
        nu = np.stack([met_px, met_py, pz, np.sqrt(met_px**2 + met_py**2 + pz**2)], axis=-1)
        p = (lepton_p4 + nu)[:, None, :] + jet_p4
        masses.append(np.sqrt(np.maximum(p[..., 3] ** 2 - (p[..., :3] ** 2).sum(-1), 0.0)))
    return np.stack(masses, axis=-1) * mask[..., None]
