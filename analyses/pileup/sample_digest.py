"""A digest of the jets in sample files (their count and every constituent's pT, η, φ), to check that a sample remade
elsewhere (another machine, another Python build of Pythia) holds the same events as the one here.

    .venv/bin/python analyses/pileup/sample_digest.py runs/pileup_samples/train_top_part*.root
"""

import argparse
import hashlib

import awkward as ak
import numpy as np
import uproot


def digest(path: str) -> str:
    """sha256 of the jets' constituents (pT, η, φ as float32 bytes, with the counts), first 16 hex digits."""
    jets = uproot.open(path)["Jets"].arrays(["nConstituent", "Constituent_pt", "Constituent_eta", "Constituent_phi"])
    sha = hashlib.sha256(np.asarray(jets["nConstituent"], dtype=np.int64).tobytes())
    for name in ("Constituent_pt", "Constituent_eta", "Constituent_phi"):
        flat = ak.to_numpy(ak.flatten(jets[name])).astype(np.float32)
        sha.update(flat.tobytes())
    return sha.hexdigest()[:16]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="+")
    for path in parser.parse_args().files:
        print(path.rsplit("/", 1)[-1], digest(path))


if __name__ == "__main__":
    main()
