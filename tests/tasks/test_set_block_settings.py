"""The ``--block`` setting: VIPR's denoiser and observed-jet encoder and the ν encoder built of Mixture-of-Depths or
TokenFormer blocks, trained and sampled through the command line; the default keeps the models saved before it."""

from __future__ import annotations

import numpy as np
import pytest

import hepgen.io as hio
from hepgen.cli import main
from hepgen.nn import MixtureOfDepths, TokenFormerBlock, TransformerBlock
from hepgen.tasks.run_folder import load_model
from tests.tasks.inputs import SAMPLES


@pytest.mark.slow
@pytest.mark.parametrize("block, kind", [("mod", MixtureOfDepths), ("tokenformer", TokenFormerBlock)])
def test_vipr_trains_and_samples_with_other_blocks(top_jets, minbias_file, tmp_path, block, kind):
    run = tmp_path / block
    common = ["--jets", str(top_jets), "--pileup", str(minbias_file)]
    train = ["train", "pileup", *common, "--dim", "16", "--blocks", "1", "--encoder-blocks", "1", "--batch-size", "16"]
    train += ["--max-events", "24", "--max-epochs", "1", "--no-progress", "--accelerator", "cpu", "--block", block]
    train += ["--mod-capacity", "0.5", "--param-tokens", "8", "--out", str(run)]
    assert main(train) == 0
    model = load_model("pileup", run)
    network = model.denoiser.network  # EDMPrecond and FlowMatchingPrecond keep the raw network here
    blocks = [*network.self_blocks, *network.encoder.blocks, *model.multiplicity.encoder.blocks]
    assert blocks and all(isinstance(b, kind) for b in blocks)
    out = tmp_path / f"{block}.root"
    predict = ["predict", "pileup", "--run", str(run), *common, "--samples", "2", "--steps", "3", "--max-events", "3"]
    assert main([*predict, "--no-progress", "--out", str(out)]) == 0
    outputs, _, _ = hio.read_event_outputs(out, tree="VIPR")
    assert np.isfinite(outputs["jet_mass"]).all()


@pytest.mark.slow
def test_the_neutrino_encoder_takes_tokenformer_blocks(tmp_path):
    run, data = tmp_path / "tokenformer", str(SAMPLES["hepgen-ttbar"])
    train = ["train", "neutrino", "--data", data, "--dim", "16", "--heads", "2", "--layers", "1", "--head-hidden", "16"]
    train += ["--flow-transforms", "1", "--max-epochs", "1", "--no-progress", "--accelerator", "cpu"]
    assert main([*train, "--block", "tokenformer", "--param-tokens", "8", "--out", str(run)]) == 0
    model = load_model("neutrino", run)
    assert all(isinstance(b, TokenFormerBlock) for b in model.encoder.blocks)
    out = tmp_path / "nu.root"
    assert (
        main(
            [
                "predict",
                "neutrino",
                "--run",
                str(run),
                "--data",
                data,
                "--samples",
                "8",
                "--no-progress",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert np.isfinite(hio.read_event_outputs(out, tree="Neutrino")[0]["samples"]).all()


def test_the_default_blocks_are_the_transformer_blocks_models_were_saved_with():
    from hepgen.tasks.neutrino import NeutrinoModel
    from hepgen.tasks.pileup import VIPRModel

    assert all(type(b) is TransformerBlock for b in NeutrinoModel(dim=16, heads=2, layers=2).encoder.blocks)
    vipr = VIPRModel(dim=16, heads=2, blocks=1, encoder_blocks=1)
    assert all(type(b) is TransformerBlock for b in vipr.multiplicity.encoder.blocks)
    with pytest.raises(Exception, match="unknown set block"):
        VIPRModel(dim=16, heads=2, blocks=1, encoder_blocks=1, block="lstm")
