"""The epistemic options on a 1-D heteroscedastic toy with a gap in x (a known answer): each method's spread between
network draws grows in the gap and stays small where the data are dense, and its total predictive is calibrated on
held-out toy data; the Bayesian layer's KL against its closed form; ensembles of one seed reduce to one model."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import Tensor, nn

from hepgen.models import make_head
from hepgen.models.configured import ConfiguredModel
from hepgen.nn.epistemic import BayesianLinear, kl_divergence, stochastic_pass
from hepgen.tasks.epistemic import EpistemicSampler, epistemic_share


class ToyModel(ConfiguredModel):
    """x → an MLP (dropout after each hidden layer; with ``bayesian`` a variational last hidden layer) → a Gaussian
    head: the epistemic parts of the event encoders, on one scalar input."""

    def __init__(self, *, dropout: float = 0.0, bayesian: bool = False, hidden: int = 64) -> None:
        super().__init__(locals())
        last = BayesianLinear(hidden, hidden) if bayesian else nn.Linear(hidden, hidden)
        self.net = nn.Sequential(
            nn.Linear(1, hidden), nn.GELU(), nn.Dropout(dropout), last, nn.GELU(), nn.Dropout(dropout)
        )
        self.head = make_head("gauss", hidden, 1, hidden=hidden)
        self.training_events = 1

    @staticmethod
    def inputs(x: Tensor) -> tuple[dict[str, Tensor], dict[str, Tensor]]:
        return {"x": x[:, None]}, {}

    def loss(self, x: Tensor, y: Tensor) -> Tensor:
        kl = sum(m.kl() for m in self.modules() if isinstance(m, BayesianLinear)) / self.training_events
        return -self.head(self.net(x[:, None])).log_prob(y[:, None]).mean() + kl

    @torch.no_grad()
    def sample(self, objects, masks, n: int, *, with_log_prob: bool = False):
        dist = self.head(self.net(objects["x"]))
        draws = dist.sample((n,))
        out = draws.transpose(0, 1)
        return (out, dist.log_prob(draws).transpose(0, 1)) if with_log_prob else out


def toy(n: int, rng: np.random.Generator) -> tuple[Tensor, Tensor]:
    """x uniform on [−4, −2] ∪ [2, 4] (nothing in between); y = sin 2x + (0.05 + 0.03|x|) ε."""
    x = rng.uniform(2.0, 4.0, n) * rng.choice([-1.0, 1.0], n)
    y = np.sin(2 * x) + (0.05 + 0.03 * np.abs(x)) * rng.standard_normal(n)
    return torch.tensor(x, dtype=torch.float32), torch.tensor(y, dtype=torch.float32)


def trained(x: Tensor, y: Tensor, *, seed: int, steps: int = 1000, **options) -> ToyModel:
    torch.manual_seed(seed)
    model = ToyModel(**options)
    model.training_events = len(x)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    model.train()
    for _ in range(steps):
        opt.zero_grad()
        model.loss(x, y).backward()
        opt.step()
    return model.eval()


def epistemic_scores(method: str, seed: int) -> dict[str, float]:
    """The between-draw std in the gap (|x| ≤ 0.5) and outside the data (|x| ∈ [5.5, 6]) over that where the data
    are dense (|x| ∈ [2.5, 3.5]), and the 68 % coverage of the total predictive (its central interval) on 2 000
    held-out toy points."""
    rng = np.random.default_rng(seed)
    x, y = toy(1000, rng)
    if method == "ensemble":
        sampler = EpistemicSampler([trained(x, y, seed=10 * seed + k) for k in range(5)])
    else:
        options = {"dropout": 0.1} if method == "mc_dropout" else {"bayesian": True}
        sampler = EpistemicSampler([trained(x, y, seed=seed, **options)], passes=8)
    draws = sampler.draws
    torch.manual_seed(seed)
    regions = {"dense": [-3.5, -3.0, -2.5, 2.5, 3.0, 3.5], "gap": [-0.5, 0.0, 0.5], "outside": [-6.0, -5.5, 5.5, 6.0]}
    grid = torch.tensor(sum(regions.values(), []))
    samples = sampler.sample(*ToyModel.inputs(grid), 512 * draws).numpy()  # each draw's mean known to ~0.006
    between = samples.reshape(len(grid), draws, -1).mean(axis=2).std(axis=1)
    parts = dict(zip(regions, np.split(between, np.cumsum([len(v) for v in regions.values()])[:-1])))
    dense = parts["dense"].mean()
    x_test, y_test = toy(2000, rng)
    test_samples = sampler.sample(*ToyModel.inputs(x_test), 8 * draws)[..., 0].numpy()
    low, high = np.quantile(test_samples, [0.16, 0.84], axis=1)
    coverage = float(np.mean((y_test.numpy() > low) & (y_test.numpy() < high)))
    return {
        "gap_over_dense": float(parts["gap"].mean() / dense),
        "outside_over_dense": float(parts["outside"].mean() / dense),
        "coverage68": coverage,
    }


@pytest.mark.slow
def test_each_epistemic_method_knows_where_it_saw_no_data_and_its_total_predictive_is_calibrated():
    """Worst over seeds 0-4 × 1 and 2 torch threads (tools/measure_margins.py, MEASURES["epistemic_*"]): gap / dense
    3.9 (MC dropout) and 16 (ensemble), outside / dense 1.22 (Bayesian layer); 68 % coverage 0.669–0.686 (dropout),
    0.633–0.656 (ensemble: its members are a little over-confident on this toy, and so is their mixture),
    0.680–0.705 (Bayesian). The mean-field Bayesian layer grows outside the data but not reliably in the gap between the two populations
    (gap / dense 0.5–2.6 over seeds): the known limit of mean-field variational inference (Foong et al. 2019,
    "'In-between' uncertainty in Bayesian neural networks"), so its test asks for the growth outside."""
    for method, region, floor in (("mc_dropout", "gap", 2.0), ("ensemble", "gap", 2.0), ("bayesian", "outside", 1.1)):
        scores = epistemic_scores(method, seed=0)
        assert scores[f"{region}_over_dense"] > floor, (method, scores)
        # 2 000 held-out points: the coverage's binomial error is 0.010; ±0.06 leaves room for the fit's imperfection
        assert abs(scores["coverage68"] - 0.68) < 0.06, (method, scores)


def test_an_ensemble_of_one_seed_is_that_model_and_its_epistemic_share_is_zero():
    x, y = toy(300, np.random.default_rng(0))
    model = trained(x, y, seed=3, steps=50)
    inputs = ToyModel.inputs(torch.linspace(-3, 3, 7))
    torch.manual_seed(1)
    single = model.sample(*inputs, 8)
    twin = trained(x, y, seed=3, steps=50)  # the same seed, the same data: the same network
    torch.manual_seed(1)
    both = EpistemicSampler([model, twin]).sample(*inputs, 16)
    torch.manual_seed(1)
    expected = torch.cat([model.sample(*inputs, 8), twin.sample(*inputs, 8)], dim=1)
    torch.testing.assert_close(both, expected, rtol=0, atol=0)
    torch.testing.assert_close(both[:, :8], single, rtol=0, atol=0)  # the first member's draws are the model's own
    # with one network draw's distribution repeated the share between draws is only the samples' noise: with many
    # samples per draw it tends to 0 (here 4 000 per draw: the share's expectation is 1/4 000)
    torch.manual_seed(2)
    many = EpistemicSampler([model, twin]).sample(*inputs, 8000).numpy()
    assert epistemic_share(many, 2).max() < 0.005


def test_the_epistemic_share_is_the_law_of_total_variance():
    rng = np.random.default_rng(0)
    # 4 draws with means 0, 1, 2, 3 and unit spread: Var between = 1.25, Var within = 1 → share 1.25 / 2.25
    samples = np.concatenate([rng.normal(m, 1.0, (2, 50_000, 1)) for m in range(4)], axis=1)
    np.testing.assert_allclose(epistemic_share(samples, 4), 1.25 / 2.25, rtol=0.02)
    assert (epistemic_share(np.zeros((3, 8, 2)), 4) == 0).all()  # no spread at all: 0, not NaN


def test_the_bayesian_layer_is_its_mean_in_eval_random_in_training_and_fixed_within_a_pass():
    torch.manual_seed(0)
    layer = BayesianLinear(5, 3)
    with torch.no_grad():
        layer.weight_rho.fill_(0.0)  # σ = log 2 ≈ 0.69: visible randomness
    x = torch.randn(4, 5)
    layer.eval()
    torch.testing.assert_close(layer(x), x @ layer.weight_mean.T + layer.bias_mean)
    layer.train()
    assert not torch.allclose(layer(x), layer(x))
    layer.eval()
    with stochastic_pass(layer):
        first = layer(x)
        torch.testing.assert_close(layer(x), first)  # one weight draw for the whole pass
    with stochastic_pass(layer):
        assert not torch.allclose(layer(x), first)  # the next pass draws again
    assert not layer.training and layer._draw is None  # modes restored
    # the closed-form KL against torch's, weight by weight
    w_std, b_std = layer.stds()
    prior = torch.distributions.Normal(0.0, layer.prior_std)
    expected = sum(
        torch.distributions.kl_divergence(torch.distributions.Normal(m, s), prior).sum()
        for m, s in ((layer.weight_mean, w_std), (layer.bias_mean, b_std))
    )
    torch.testing.assert_close(layer.kl(), expected, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(kl_divergence(torch.zeros(3), torch.full((3,), 0.5), 0.5), torch.tensor(0.0))


def test_passes_need_a_stochastic_model_and_samples_divisible_by_the_draws():
    from hepgen.errors import HepgenInputError

    x, y = toy(100, np.random.default_rng(0))
    plain = trained(x, y, seed=0, steps=5)
    with pytest.raises(HepgenInputError, match="neither dropout nor a Bayesian layer"):
        EpistemicSampler([plain], passes=4)
    with pytest.raises(HepgenInputError, match="not a multiple"):
        EpistemicSampler([plain, plain]).sample(*ToyModel.inputs(x), 5)


def epistemic_mc_dropout_scores(seed: int) -> dict[str, float]:
    return epistemic_scores("mc_dropout", seed)


def epistemic_ensemble_scores(seed: int) -> dict[str, float]:
    return epistemic_scores("ensemble", seed)


def epistemic_bayesian_scores(seed: int) -> dict[str, float]:
    return epistemic_scores("bayesian", seed)
