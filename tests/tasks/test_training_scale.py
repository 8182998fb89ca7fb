"""Training beyond one process: an interrupted and resumed run equals the uninterrupted one, and Lightning DDP
with two CPU processes (gloo) splits every epoch between the ranks."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from hepgen.tasks.neutrino import NEUTRINO, NeutrinoTraining
from hepgen.tasks.pileup import PILEUP, PileupTraining
from hepgen.tasks.training import train

REPO = Path(__file__).resolve().parents[2]
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
    return checkpoint["state_dict"] | {
        f"ema.{k}": v for k, v in checkpoint.get("ema", {}).items() if isinstance(v, torch.Tensor)
    }


def assert_same_weights(a: Path, b: Path) -> None:
    wa, wb = last_weights(a), last_weights(b)
    assert wa.keys() == wb.keys()
    for key in wa:
        torch.testing.assert_close(wa[key], wb[key], rtol=1e-5, atol=1e-6, msg=key)
    assert (
        torch.load(a / "checkpoints" / "last.ckpt", weights_only=False)["global_step"]
        == torch.load(b / "checkpoints" / "last.ckpt", weights_only=False)["global_step"]
    )


@pytest.mark.slow
def test_neutrino_resume_after_a_crash_equals_the_uninterrupted_run(tmp_path):
    def config(out, resume=False):
        return NeutrinoTraining(
            data=[str(TRAIN_EVENTS)],
            out=str(out),
            max_events=1200,
            max_epochs=3,
            batch_size=128,
            dim=16,
            layers=1,
            flow_transforms=2,
            accelerator="cpu",
            devices=1,
            progress=False,
            resume=resume,
            seed=3,
        )

    train(NEUTRINO, config(tmp_path / "straight"))
    with pytest.raises(RuntimeError, match="simulated crash"):
        train(NEUTRINO, config(tmp_path / "crashed"), callbacks=[CrashAtEpoch(2)])
    assert not (tmp_path / "crashed" / "model.pt").exists()
    train(NEUTRINO, config(tmp_path / "crashed", resume=True))
    assert_same_weights(tmp_path / "straight", tmp_path / "crashed")


@pytest.mark.slow
def test_vipr_resume_after_a_crash_equals_the_uninterrupted_run(top_jets, minbias_file, tmp_path):
    def config(out, resume=False):
        return PileupTraining(
            jets=[str(top_jets)],
            pileup=[str(minbias_file)],
            out=str(out),
            max_events=48,
            max_epochs=3,
            batch_size=16,
            dim=16,
            blocks=1,
            encoder_blocks=1,
            accelerator="cpu",
            devices=1,
            progress=False,
            resume=resume,
            seed=4,
            mu=20.0,
            mu_sigma=5.0,
        )

    train(PILEUP, config(tmp_path / "straight"))
    with pytest.raises(RuntimeError, match="simulated crash"):
        train(PILEUP, config(tmp_path / "crashed"), callbacks=[CrashAtEpoch(1)])
    train(PILEUP, config(tmp_path / "crashed", resume=True))
    assert_same_weights(tmp_path / "straight", tmp_path / "crashed")


DDP_SCRIPT = """
import json, sys
from pathlib import Path
from lightning.pytorch.callbacks import Callback
from hepgen.tasks.neutrino import NEUTRINO, NeutrinoTraining
from hepgen.tasks.training import train

data, out = sys.argv[1], Path(sys.argv[2])

class RecordBatches(Callback):
    \"\"\"Each rank writes, per epoch, the truth px of every event it trained on, and the whole epoch's batches.\"\"\"

    def __init__(self):
        self.seen = {}

    def on_train_batch_start(self, trainer, module, batch, batch_idx):
        self.seen.setdefault(trainer.current_epoch, []).append(batch[2][:, 0].tolist())

    def on_train_end(self, trainer, module):
        epochs = {}
        data = trainer.train_dataloader.dataset
        for epoch in self.seen:
            epochs[epoch] = [build()[2][:, 0].tolist() for build in data.make_batches(epoch)]
        (out.parent / f"rank{trainer.global_rank}.json").write_text(json.dumps({"seen": self.seen, "epoch": epochs}))

config = NeutrinoTraining(data=[data], out=str(out), max_events=1800, batch_size=200, max_epochs=2, dim=16, layers=1,
                             accelerator="cpu", devices=2, strategy="ddp", progress=False)
train(NEUTRINO, config, callbacks=[RecordBatches()])
"""


@pytest.mark.slow
def test_ddp_with_two_cpu_processes_splits_the_epochs(tmp_path):
    import json

    script = tmp_path / "ddp_train.py"
    script.write_text(DDP_SCRIPT)
    run = tmp_path / "ddp"
    result = subprocess.run(
        [sys.executable, str(script), str(TRAIN_EVENTS), str(run)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "gloo" in result.stderr or "distributed_backend=gloo" in result.stdout + result.stderr
    # 1800 events, 10 % for validation → 1620 training events in batches of 200 → 9 batches, the first 8 usable
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    for epoch in ("0", "1"):
        batches = ranks[0]["epoch"][epoch]
        assert ranks[1]["epoch"][epoch] == batches and len(batches) == 9  # both ranks build the same epoch
        seen = [ranks[r]["seen"][epoch] for r in (0, 1)]
        assert [len(s) for s in seen] == [4, 4]  # the same number of optimizer steps on each rank
        events = [{px for batch in s for px in batch} for s in seen]
        assert not events[0] & events[1]  # disjoint
        assert events[0] | events[1] == {px for batch in batches[:8] for px in batch}  # and together the epoch
        assert sum(len(e) for e in events) == 1600
    assert ranks[0]["epoch"]["0"] != ranks[0]["epoch"]["1"]  # reshuffled every epoch
    checkpoint = torch.load(run / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    assert checkpoint["global_step"] == 2 * 8 // 2  # each rank took half of every epoch
    assert (run / "model.pt").exists()
