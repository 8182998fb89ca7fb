"""Fast exact sampling of zuko's conditional masked-autoregressive flows (NSF, MAF) with many samples per context.

``zuko``'s ``flow(c).sample((S,))`` broadcasts each event's context to every sample and evaluates the whole
hyper-network ``passes`` times per sample. For posterior sampling (S = 256 samples of one event) most of that work
is the same for every sample of an event:

* the hidden units of the masked MLP that do not depend on the flow's variables (in zuko's MADE about half of
  them: the units wired to the context only) take the same value for every sample — computed once per event;
* the first inverse pass starts from x = 0, so its whole hyper-network output, and with it the spline knots of the
  first group of variables, is per event;
* pass ``g`` only needs the outputs of the variables of order ``g`` (the others are already known).

:class:`ContextCachedSampler` does exactly the arithmetic of zuko's inverse, reordered so that the per-event part
runs once per event; the per-sample part is a narrow MLP and one spline inversion per variable. The result equals
zuko's sample for the same base noise up to float32 rounding (tested). The splines are zuko's own
``MonotonicRQSTransform`` (constructed with per-event knots and broadcast over the samples).

Supported: ``zuko.flows.Flow`` whose transforms are all ``MaskedAutoregressiveTransform`` (NSF, MAF, in any
number of passes) with a ``MaskedMLP`` hyper-network of ReLU-family activations and no residual blocks, on an
unconditional base. :func:`supports` says whether a flow qualifies; others should use zuko's ``sample``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

__all__ = ["ContextCachedSampler", "supports"]


def supports(flow: nn.Module) -> bool:
    """Whether ``flow`` is a zuko flow this sampler reproduces exactly."""
    try:
        from zuko.flows.autoregressive import MaskedAutoregressiveTransform
        from zuko.lazy import Flow, LazyComposedTransform, UnconditionalDistribution
        from zuko.nn import MaskedLinear, MaskedMLP
    except ImportError:  # pragma: no cover - zuko is a dependency
        return False
    if not isinstance(flow, Flow) or not isinstance(flow.base, UnconditionalDistribution):
        return False
    if not isinstance(flow.transform, LazyComposedTransform):
        return False
    for t in flow.transform.transforms:
        if not isinstance(t, MaskedAutoregressiveTransform) or t.order is None or not isinstance(t.hyper, MaskedMLP):
            return False
        layers = list(t.hyper)
        linears, activations = layers[0::2], layers[1::2]
        if not all(isinstance(m, MaskedLinear) for m in linears):
            return False
        if not all(isinstance(m, (nn.ReLU, nn.ELU, nn.GELU, nn.SiLU, nn.Tanh, nn.LeakyReLU)) for m in activations):
            return False
    return True


@dataclass
class _Block:
    """Weights ``(mask ⊙ W)`` of some output units of a masked layer, split by input column: the x-independent
    inputs (the context, or the context-only units of the previous layer) and the x-dependent ones."""

    from_context: Tensor  # [out, n_context_inputs]
    from_x: Tensor  # [out, n_x_inputs]
    bias: Tensor  # [out]

    @classmethod
    def of(cls, weight: Tensor, bias: Tensor, rows: Tensor, x_in: Tensor) -> _Block:
        return cls(weight[rows][:, ~x_in].contiguous(), weight[rows][:, x_in].contiguous(), bias[rows].contiguous())

    def __call__(self, context_part: Tensor, x_part: Tensor | None) -> Tensor:
        out = nn.functional.linear(context_part, self.from_context, self.bias)
        return out if x_part is None else out + nn.functional.linear(x_part, self.from_x)


class _Transform:
    """One masked-autoregressive transform, its hyper-network split into the units that depend on the flow's
    variables x and those that do not (which are per event)."""

    def __init__(self, transform: nn.Module, features: int) -> None:
        self.univariate = transform.univariate
        self.shapes = [tuple(s) for s in transform.shapes]
        self.total = transform.total
        modules = list(transform.hyper)
        linears, self.activations = modules[0::2], modules[1::2]
        x_in = torch.zeros(linears[0].in_features, dtype=torch.bool)
        x_in[:features] = True  # zuko's hyper-network input is cat(x, context)
        self.context_blocks: list[_Block] = []  # hidden layers: the x-independent units
        self.x_blocks: list[_Block] = []  # hidden layers: the x-dependent units
        for linear in linears[:-1]:
            weight, bias = (linear.mask * linear.weight).detach(), linear.bias.detach()
            x_out = linear.mask[:, x_in].any(dim=1)
            self.context_blocks.append(_Block.of(weight, bias, ~x_out, x_in))
            self.x_blocks.append(_Block.of(weight, bias, x_out, x_in))
            x_in = x_out
        last = linears[-1]
        weight, bias = (last.mask * last.weight).detach(), last.bias.detach()
        # variables of each order group, and their output rows: feature-major blocks of `total` parameters (zuko
        # unflattens the output to (features, total))
        order = transform.order
        self.groups = [torch.nonzero(order == g).squeeze(-1) for g in range(int(order.max()) + 1)]
        self.output_blocks = [
            _Block.of(weight, bias, (f[:, None] * self.total + torch.arange(self.total)).reshape(-1), x_in)
            for f in self.groups
        ]

    def _params(self, group: int, context_units: list[Tensor], context: Tensor, x: Tensor | None) -> list[Tensor]:
        """Spline parameters of the variables of order ``group``, ``[*batch, n_group, *shape]``, given the known
        variables ``x`` ``[S, B, D]`` (None in the first pass, where x = 0: then everything is per event)."""
        previous_context, x_units = context, x
        for i, block in enumerate(self.x_blocks):
            x_units = self.activations[i](block(previous_context, x_units))
            previous_context = context_units[i]
        params = self.output_blocks[group](previous_context, x_units).unflatten(-1, (-1, self.total))
        parts = params.split([math.prod(s) for s in self.shapes], dim=-1)
        return [p.unflatten(-1, s) if s else p.squeeze(-1) for p, s in zip(parts, self.shapes, strict=True)]

    def inverse(self, context: Tensor, y: Tensor, *, with_ladj: bool) -> tuple[Tensor, Tensor | None]:
        """x = f⁻¹(y | c) for y ``[S, B, D]`` and context ``[B, C]``; with the forward log|det J| at x ``[S, B]``."""
        context_units, a = [], context
        for i, block in enumerate(self.context_blocks):  # the x-independent units: once per event
            a = self.activations[i](block(a, None))
            context_units.append(a)
        x = torch.zeros_like(y)
        ladj = y.new_zeros(y.shape[:-1]) if with_ladj else None
        for group, features in enumerate(self.groups):
            spline = self.univariate(*self._params(group, context_units, context, None if group == 0 else x))
            y_group = y[..., features]
            x_group = spline.inv(y_group)
            x = x.index_copy(-1, features, x_group)
            if ladj is not None:
                ladj = ladj + spline.log_abs_det_jacobian(x_group, y_group).sum(-1)
        return x, ladj


class ContextCachedSampler:
    """Samples ``[S, B, D]`` of a zuko flow given contexts ``[B, C]``, doing per-event work once per event.

    Built once per flow (it reads the weights: rebuild it after training steps).
    """

    def __init__(self, flow: nn.Module) -> None:
        if not supports(flow):
            raise TypeError(f"{type(flow).__name__} is not a zuko masked-autoregressive flow this sampler supports")
        self.flow = flow
        features = flow.transform.transforms[0].order.shape[0]
        self.transforms = [_Transform(t, features) for t in flow.transform.transforms]

    @torch.no_grad()
    def transform_noise(
        self, context: Tensor, z: Tensor, *, with_log_prob: bool = False
    ) -> tuple[Tensor, Tensor | None]:
        """Map base noise ``z [S, B, D]`` to flow samples ``x [S, B, D]`` (and ``log p(x | c)`` ``[S, B]``)."""
        base = self.flow.base(context).expand(context.shape[:-1])
        y, total_ladj = z, None
        for t in reversed(self.transforms):
            y, ladj = t.inverse(context, y, with_ladj=with_log_prob)
            if with_log_prob:
                total_ladj = ladj if total_ladj is None else total_ladj + ladj
        if not with_log_prob:
            return y, None
        return y, base.log_prob(z) + total_ladj

    @torch.no_grad()
    def sample(self, context: Tensor, n: int, *, with_log_prob: bool = False) -> tuple[Tensor, Tensor | None]:
        """``n`` samples per context row ``[n, B, D]`` (and their log density ``[n, B]``)."""
        base = self.flow.base(context).expand(context.shape[:-1])
        z = base.sample((n,))
        return self.transform_noise(context, z, with_log_prob=with_log_prob)
