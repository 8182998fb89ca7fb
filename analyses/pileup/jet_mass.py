"""Jet-mass bias and resolution (median and IQR/1.349 of m/m_true − 1) for observed and VIPR jets.

    python analyses/pileup/jet_mass.py VIPR_PREDICTION.root
"""

from __future__ import annotations

import sys

import numpy as np

from hepgen.io import read_event_outputs
from hepgen.validation import bias_resolution


def main(path: str) -> None:
    outputs, event_id, metadata = read_event_outputs(path, tree="VIPR")
    jet = event_id["entry"]
    truth = outputs["truth_jet_mass"]
    first = np.r_[True, jet[1:] != jet[:-1]]
    observed = outputs["observed_jet_mass"][first] / truth[first] - 1
    median = np.array([np.median(outputs["jet_mass"][jet == j]) for j in jet[first]]) / truth[first] - 1
    samples = outputs["jet_mass"] / truth - 1
    print(f"{first.sum()} jets, {metadata['samples']} samples each, mu = {metadata['mu']}, {metadata['steps']} steps")
    for name, values in (("observed", observed), ("VIPR median", median), ("VIPR samples", samples)):
        bias, resolution = bias_resolution(values)
        print(f"{name:13s}: m/m_true - 1  bias {bias:+.3f}  resolution {resolution:.3f}")


if __name__ == "__main__":
    main(sys.argv[1])
