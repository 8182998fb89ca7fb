"""Built-in schemas: CMS NanoAOD, the CMS HEP-tutorial ntuple, Z→μμ, and hepgen's own files.

``get_schema("nanoaod")`` returns one; change a collection with
``schema.with_collection("jets", cut="pt > 25 and abs(eta) < 2.5", max_length=12)``.
Readers never apply a physics selection silently: built-in collections have
no cut unless the file format implies one.
"""

from __future__ import annotations

from hepgen.errors import SchemaError
from hepgen.io.schema import Branches, Collection, Prefix, ScalarObjects, Schema

__all__ = [
    "get_schema",
    "available_schemas",
    "NANOAOD",
    "HEP_TUTORIAL",
    "ZMUMU",
    "HEPGEN_TTBAR",
    "HEPGEN_TTBAR_DILEPTON",
    "HEPGEN_JETS",
    "HEPGEN_DETECTED_JETS",
    "JET_SURROUNDINGS",
    "HEPGEN_MINBIAS",
]

_FOUR_MOMENTUM = ("pt", "eta", "phi", "mass")
_W_NEUTRINO_CUT = "isin(abs(pdgId), (12, 14, 16)) and abs(mother_pdgId) == 24"

#: MET as NanoAOD stores it: one object (pt, phi), with px, py derived.
_NANOAOD_MET = Collection(
    Prefix("MET", counter=None), ("pt", "phi", "px", "py"), max_length=1, kinematics="pt_phi", sort_by=None
)

NANOAOD = Schema(
    name="nanoaod",
    description="CMS NanoAOD: jets, electrons, muons, MET; truth neutrinos from W decays (GenPart)",
    tree="Events",
    event_id=("run", "luminosityBlock", "event"),
    collections={
        "jets": Collection(Prefix("Jet", fields={"btag": "btagDeepFlavB"}), (*_FOUR_MOMENTUM, "btag"), max_length=10),
        "electrons": Collection(Prefix("Electron"), (*_FOUR_MOMENTUM, "charge"), max_length=4),
        "muons": Collection(Prefix("Muon"), (*_FOUR_MOMENTUM, "charge"), max_length=4),
        "met": _NANOAOD_MET,
    },
    truth={
        # The neutrinos whose mother is a W (NanoAOD keeps the W as the direct mother of its decay products).
        "neutrinos": Collection(
            Prefix("GenPart", mother_index="genPartIdxMother"),
            ("pt", "eta", "phi", "px", "py", "pz", "pdgId"),
            max_length=2,
            cut=_W_NEUTRINO_CUT,
        ),
    },
)


def _tutorial_lepton(prefix: str) -> Collection:
    """A lepton collection of the HEP tutorial ntuple: ``{prefix}_Px, _Py, _Pz, _E, _Charge, _Iso``."""
    names = {"px": "Px", "py": "Py", "pz": "Pz", "energy": "E", "charge": "Charge", "iso": "Iso"}
    branches = Branches({field: f"{prefix}_{name}" for field, name in names.items()})
    return Collection(branches, (*_FOUR_MOMENTUM, "charge", "iso"), max_length=4, kinematics="px_py_pz_energy")


HEP_TUTORIAL = Schema(
    name="hep-tutorial",
    description="CMS HEP-tutorial flat ntuple (uproot-HZZ.root): Jet_Px/Py/Pz/E, muons, electrons, photons, MET_px/py",
    tree="events",
    collections={
        "jets": Collection(
            Branches({"px": "Jet_Px", "py": "Jet_Py", "pz": "Jet_Pz", "energy": "Jet_E", "btag": "Jet_btag"}),
            (*_FOUR_MOMENTUM, "btag"),
            max_length=10,
            kinematics="px_py_pz_energy",
        ),
        "muons": _tutorial_lepton("Muon"),
        "electrons": _tutorial_lepton("Electron"),
        "photons": Collection(
            Branches(
                {"px": "Photon_Px", "py": "Photon_Py", "pz": "Photon_Pz", "energy": "Photon_E", "iso": "Photon_Iso"}
            ),
            ("pt", "eta", "phi", "energy", "iso"),
            max_length=4,
            kinematics="px_py_pz_energy",
        ),
        "met": Collection(
            Branches({"px": "MET_px", "py": "MET_py"}, jagged=False),
            ("pt", "phi", "px", "py"),
            max_length=1,
            kinematics="px_py",
            sort_by=None,
        ),
    },
    truth={
        "neutrino": Collection(
            Branches({"px": "MCneutrino_px", "py": "MCneutrino_py", "pz": "MCneutrino_pz"}, jagged=False),
            ("px", "py", "pz", "pt", "eta", "phi"),
            max_length=1,
            kinematics="px_py_pz",
            sort_by=None,
        ),
        # Order is meaningful: leptonic b, hadronic b, W-decay quark, W-decay antiquark.
        "partons": Collection(
            ScalarObjects(
                [
                    {"px": f"MC{p}_px", "py": f"MC{p}_py", "pz": f"MC{p}_pz"}
                    for p in ("leptonicBottom", "hadronicBottom", "hadronicWDecayQuark", "hadronicWDecayQuarkBar")
                ]
            ),
            ("px", "py", "pz", "pt", "eta", "phi"),
            max_length=4,
            kinematics="px_py_pz",
            sort_by=None,
        ),
    },
)

ZMUMU = Schema(
    name="zmumu",
    description="Z→μμ flat ntuple (uproot-Zmumu.root): two muons as scalar branches px1..., px2...",
    tree="events",
    event_id=("Run", "Event"),
    collections={
        "muons": Collection(
            ScalarObjects(
                [{"px": f"px{i}", "py": f"py{i}", "pz": f"pz{i}", "energy": f"E{i}", "charge": f"Q{i}"} for i in (1, 2)]
            ),
            (*_FOUR_MOMENTUM, "charge"),
            max_length=2,
            kinematics="px_py_pz_energy",
        ),
    },
)


# hepgen's own generated files use NanoAOD-style names so the readers treat them like NanoAOD.
def _hepgen_ttbar_schema(name: str, description: str, *, leptons: int, truth: dict[str, Collection]) -> Schema:
    """A schema of hepgen's tt̄ samples: up to ten jets, ``leptons`` leptons and MET, and the sample's ``truth``."""
    collections = {
        "jets": Collection(Prefix("Jet"), (*_FOUR_MOMENTUM, "btag"), max_length=10),
        "leptons": Collection(Prefix("Lepton"), (*_FOUR_MOMENTUM, "charge", "pdgId"), max_length=leptons),
        "met": _NANOAOD_MET,
    }
    event_id = ("run", "luminosityBlock", "event")
    return Schema(name, collections, truth, tree="Events", event_id=event_id, description=description)


def _truth_neutrinos(prefix: Prefix, *fields: str, max_length: int) -> Collection:
    """hepgen's truth neutrinos (``GenNu_*``): stored as (pt, η, φ) and ``fields``; px, py, pz derived."""
    features = ("pt", "eta", "phi", "px", "py", "pz", *fields)
    return Collection(prefix, features, max_length=max_length, kinematics="pt_eta_phi", sort_by=None)


HEPGEN_TTBAR = _hepgen_ttbar_schema(
    "hepgen-ttbar",
    "hepgen tt̄ → ℓ+jets: Jet_*, Lepton_*, MET_*; truth GenNu_*, GenLepton_*, GenParton_* (b_lep, b_had, q, q')",
    leptons=1,
    truth={
        "neutrino": _truth_neutrinos(Prefix("GenNu", counter=None), max_length=1),
        "lepton": Collection(Prefix("GenLepton", counter=None), (*_FOUR_MOMENTUM, "pdgId"), max_length=1, sort_by=None),
        "partons": Collection(Prefix("GenParton"), (*_FOUR_MOMENTUM, "pdgId", "jetIdx"), max_length=4, sort_by=None),
    },
)

HEPGEN_TTBAR_DILEPTON = _hepgen_ttbar_schema(
    "hepgen-ttbar-dilepton",
    "hepgen tt̄ → bℓ⁺ν b̄ℓ⁻ν̄: Jet_*, Lepton_* (two), MET_*; truth in top order (the top's, then the antitop's): "
    "GenNu_* (ν, ν̄), GenLepton_* (ℓ⁺, ℓ⁻), GenB_* (b, b̄, with jetIdx)",
    leptons=2,
    truth={
        "neutrinos": _truth_neutrinos(Prefix("GenNu"), "pdgId", max_length=2),
        "gen_leptons": Collection(Prefix("GenLepton"), (*_FOUR_MOMENTUM, "pdgId"), max_length=2, sort_by=None),
        "b_quarks": Collection(Prefix("GenB"), (*_FOUR_MOMENTUM, "pdgId", "jetIdx"), max_length=2, sort_by=None),
    },
)

# Constituents and pool particles keep their stored order (``sort_by=None``): the physics does not depend on it,
# and the pileup overlay and VIPR read them in that order, so a file always gives the same inputs bit for bit.
HEPGEN_JETS = Schema(
    name="hepgen-jets",
    description="hepgen large-R jets, one per entry: observed Jet_* and Constituent_* (pileup included if overlaid); "
    "truth HardJet_* and the hard-scatter constituents (isPileup == 0); files since the detector world also hold the "
    "rest of the hard event around the jet (Surrounding_*: JET_SURROUNDINGS)",
    tree="Jets",
    event_id=("event",),
    collections={
        "jet": Collection(Prefix("Jet", counter=None), _FOUR_MOMENTUM, max_length=1, sort_by=None),
        "constituents": Collection(Prefix("Constituent"), (*_FOUR_MOMENTUM, "charge"), max_length=512, sort_by=None),
    },
    truth={
        "hard_jet": Collection(Prefix("HardJet", counter=None), _FOUR_MOMENTUM, max_length=1, sort_by=None),
        "hard_constituents": Collection(
            Prefix("Constituent"), (*_FOUR_MOMENTUM, "charge"), max_length=256, cut="isPileup == 0", sort_by=None
        ),
    },
)

#: The rest of the hard event within R + 0.5 of the jet (``Surrounding_*``), a truth collection of newer
#: ``hepgen-jets`` files (older ones lack it; the pileup overlay adds it where every file has it).
JET_SURROUNDINGS = Collection(Prefix("Surrounding"), (*_FOUR_MOMENTUM, "charge"), max_length=512, sort_by=None)

HEPGEN_DETECTED_JETS = Schema(
    name="hepgen-detected-jets",
    description="hepgen large-R jets with pileup behind the constituent detector (hepgen generate jets --pileup POOL "
    "--detector cms): observed Jet_* and its tracks and towers Constituent_* (isTrack, fromHardVertex, dzCompatible, "
    "puppiWeight); truth: the hard scatter through the detector (DetectorJet_*, DetectorTruth_*) and at particle "
    "level (HardJet_*, HardConstituent_*)",
    tree="Jets",
    event_id=("event",),
    collections={
        "jet": Collection(Prefix("Jet", counter=None), _FOUR_MOMENTUM, max_length=1, sort_by=None),
        "constituents": Collection(
            Prefix("Constituent"),
            (*_FOUR_MOMENTUM, "charge", "isTrack", "fromHardVertex", "dzCompatible", "puppiWeight"),
            max_length=1024,
            sort_by=None,
        ),
    },
    truth={
        "hard_jet": Collection(Prefix("HardJet", counter=None), _FOUR_MOMENTUM, max_length=1, sort_by=None),
        "hard_constituents": Collection(
            Prefix("HardConstituent"), (*_FOUR_MOMENTUM, "charge"), max_length=256, sort_by=None
        ),
        "detector_jet": Collection(Prefix("DetectorJet", counter=None), _FOUR_MOMENTUM, max_length=1, sort_by=None),
        "detector_constituents": Collection(
            Prefix("DetectorTruth"), (*_FOUR_MOMENTUM, "charge", "isTrack"), max_length=512, sort_by=None
        ),
    },
)

HEPGEN_MINBIAS = Schema(
    name="hepgen-minbias",
    description="hepgen minimum-bias pool: final-state particles Particle_* per event",
    tree="Events",
    event_id=("event",),
    collections={
        "particles": Collection(Prefix("Particle"), (*_FOUR_MOMENTUM, "charge"), max_length=1024, sort_by=None)
    },
)

_SCHEMAS = {
    s.name: s
    for s in (
        NANOAOD,
        HEP_TUTORIAL,
        ZMUMU,
        HEPGEN_TTBAR,
        HEPGEN_TTBAR_DILEPTON,
        HEPGEN_JETS,
        HEPGEN_DETECTED_JETS,
        HEPGEN_MINBIAS,
    )
}


def available_schemas() -> dict[str, str]:
    """Built-in schema names and their one-line descriptions."""
    return {name: s.description for name, s in _SCHEMAS.items()}


def get_schema(name: str) -> Schema:
    """The built-in schema called ``name`` (SchemaError listing the choices otherwise)."""
    try:
        return _SCHEMAS[name]
    except KeyError:
        raise SchemaError(f"unknown schema {name!r}; built-in schemas are {sorted(_SCHEMAS)}") from None
