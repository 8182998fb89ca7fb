"""Training beyond one process: an interrupted and resumed run equals the uninterrupted one, and Lightning DDP
with two CPU processes (gloo) splits every epoch between the ranks."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from hepgen.tasks.neutrino_run import NeutrinoTrainConfig, train_neutrino
from hepgen.tasks.pileup_run import PileupTrainConfig, train_pileup

REPO = Path(__file__).resolve().parents[1]
TRAIN_EVENTS = REPO / "data" / "ttbar_ljets.root"


class CrashAtEpoch:
    """A Lightning callback that kills training when epoch ``epoch`` starts (after the previous epoch's checkpoint)."""

    def __new__(cls, epoch: int):  # built lazily so importing this file does not import Lightning
        from lightning.pytorch.callbacks import Callback

        class _Crash(Callback):
            def on_train_epoch_start(self, trainer, module):
                if trainer.current_epoch == epoch:
                    raise RuntimeError("simulated crash")

        return _Crash()


def last_weights(run: Path) -> dict[str, torch.Tensor]:
    checkpoint = torch.load(run / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    return checkpoint["state_dict"] | {f"ema.{k}": v for k, v in checkpoint.get("ema", {}).items() if isinstance(v, torch.Tensor)}


def assert_same_weights(a: Path, b: Path) -> None:
    wa, wb = last_weights(a), last_weights(b)
    assert wa.keys() == wb.keys()
    for key in wa:
        torch.testing.assert_close(wa[key], wb[key], rtol=1e-5, atol=1e-6, msg=key)
    assert torch.load(a / "checkpoints" / "last.ckpt", weights_only=False)["global_step"] == \
        torch.load(b / "checkpoints" / "last.ckpt", weights_only=False)["global_step"]


@pytest.mark.slow
def test_neutrino_resume_after_a_crash_equals_the_uninterrupted_run(tmp_path):
    def config(out, resume=False):
        return NeutrinoTrainConfig(data=[str(TRAIN_EVENTS)], out=str(out), max_events=1200, max_epochs=3, batch_size=128,
                                   dim=16, layers=1, flow_transforms=2, accelerator="cpu", devices=1, progress=False,
                                   resume=resume, seed=3)  # fmt: skip

    train_neutrino(config(tmp_path / "straight"))
    with pytest.raises(RuntimeError, match="simulated crash"):
        train_neutrino(config(tmp_path / "crashed"), callbacks=[CrashAtEpoch(2)])
    assert not (tmp_path / "crashed" / "model.pt").exists()
    train_neutrino(config(tmp_path / "crashed", resume=True))
    assert_same_weights(tmp_path / "straight", tmp_path / "crashed")


@pytest.mark.slow
def test_vipr_resume_after_a_crash_equals_the_uninterrupted_run(top_jets, minbias_file, tmp_path):
    def config(out, resume=False):
        return PileupTrainConfig(jets=[str(top_jets)], pileup=[str(minbias_file)], out=str(out), max_jets=48, max_epochs=3,
                                 batch_size=16, dim=16, blocks=1, encoder_blocks=1, accelerator="cpu", devices=1,
                                 progress=False, resume=resume, seed=4, mu=20.0, mu_sigma=5.0)  # fmt: skip

    train_pileup(config(tmp_path / "straight"))
    with pytest.raises(RuntimeError, match="simulated crash"):
        train_pileup(config(tmp_path / "crashed"), callbacks=[CrashAtEpoch(1)])
    train_pileup(config(tmp_path / "crashed", resume=True))
    assert_same_weights(tmp_path / "straight", tmp_path / "crashed")


@pytest.mark.slow
def test_ddp_with_two_cpu_processes_splits_the_epochs(tmp_path):
    hepgen = Path(sys.executable).parent / "hepgen"
    if not hepgen.exists():
        hepgen = Path(shutil.which("hepgen") or "hepgen")
    run = tmp_path / "ddp"
    batches_per_epoch = 8  # 1800 events, 10 % for validation → 1620 training events in batches of 200 → 9 → 8 usable
    result = subprocess.run(
        [str(hepgen), "train", "neutrino", "--data", str(TRAIN_EVENTS), "--max-events", "1800", "--batch-size", "200",
         "--max-epochs", "2", "--dim", "16", "--layers", "1", "--accelerator", "cpu", "--devices", "2",
         "--strategy", "ddp", "--no-progress", "--out", str(run)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert "gloo" in result.stderr or "distributed_backend=gloo" in result.stdout + result.stderr
    checkpoint = torch.load(run / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    assert checkpoint["global_step"] == 2 * batches_per_epoch // 2  # each rank took half of every epoch
    assert (run / "model.pt").exists()
