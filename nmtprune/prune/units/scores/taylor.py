"""Taylor importance of hidden units: Molchanov, Mallya, Tyree, Frosio & Kautz (CVPR 2019), gate form.

A gate z_j (= 1) multiplies unit j's output h_{t,j} at every step, wherever it is used: the next
layer, its own recurrence, the decoder's initial state, the attention and W_c; for h~ the softmax
and the input feed. Tied members (:mod:`..groups`) share one gate. With E the mean per-token NLL of
a minibatch:

* first order (``taylor-unit``): I_j = (∂E/∂z_j)², with ∂E/∂z_j = Σ_{t,b} h_{t,j} ∂E/∂h_{t,j}
  summed over both the downstream and the recurrent paths;
* second order (``taylor-unit-2``): I_j = (∂E/∂z_j − ½ (H 1)_j)², H = ∂²E/∂z² over all gates of
  the model and 1 = the gate vector (the paper's (g_m w_m − ½ w_m H_m W)² with w = z = 1).

Per minibatch the gradient is computed, squared, and the squares averaged over the minibatches
(square per minibatch, never per example).

How: multiplying h_j by z_j in every consumer is the same as multiplying the consumers' columns by
z_j (every consumer is linear in h_j, and the decoder reads the encoder's final h_j through its
W_hh column), so the model runs through ``torch.func.functional_call`` with those columns scaled
by z: the recurrence stays inside the fused LSTM kernel, and autograd gives ∂E/∂z and Hz exactly.
``dot`` attention has no weight in the score h_t . h_s; it is scored as the identical
``general`` model with W_a = I, whose row j / column j carry the two top layers' share of the score.

Data: teacher-forced minibatches (``batches``: objects with ``src``, ``src_len``, ``tgt_in``,
``tgt_out``, e.g. :class:`nmtprune.data.Batch`), scored in eval mode (no dropout). Cost: first
order one forward + backward per minibatch; second order one more double backward (needs the
non-fused LSTM path, selected here by disabling oneDNN/cuDNN; about 3x slower).
"""

from __future__ import annotations

import contextlib
import dataclasses
import warnings
from typing import Iterable

import torch
from torch.func import functional_call

from ....data.vocab import PAD
from ....models.seq2seq import Seq2Seq, nll_loss
from ...spec import Paper, ScoreSpec
from ..groups import Slot, UnitError, member_slots, unit_groups

__all__ = ["taylor_unit", "taylor_unit_second_order", "SPECS"]


def _as_general(model: Seq2Seq) -> Seq2Seq:
    """``model`` itself for general attention; for dot, the same function with W_a = I (a copy)."""
    if model.cfg.attention == "general":
        return model
    p = next(model.parameters())
    twin = Seq2Seq(dataclasses.replace(model.cfg, attention="general")).to(device=p.device, dtype=p.dtype)
    state = dict(model.state_dict())
    n = model.cfg.dec_sizes[-1]  # = encoder top size under dot attention
    state["attention.W_a"] = torch.eye(n, device=p.device, dtype=p.dtype)
    twin.load_state_dict(state)
    return twin


def _gate(t: torch.Tensor, slot: Slot, n: int, z: torch.Tensor) -> torch.Tensor:
    """``t`` with the slot's positions along ``slot.axis`` multiplied by z (n,); differentiable in z."""
    length = t.shape[slot.axis]
    if slot.gates:
        scale = z.repeat(4)
    else:
        scale = torch.cat([z.new_ones(slot.offset), z, z.new_ones(length - slot.offset - n)])
    return t * (scale.unsqueeze(1) if slot.axis == 0 and t.dim() == 2 else scale)


@contextlib.contextmanager
def _differentiable_twice():
    """The fused oneDNN / cuDNN LSTM kernels have no double backward (pytorch #5261): use ATen's."""
    with warnings.catch_warnings():  # mkldnn.flags() also resets TF32 and warns about Intel GPUs
        warnings.simplefilter("ignore", UserWarning)
        with torch.backends.mkldnn.flags(enabled=False), torch.backends.cudnn.flags(enabled=False):
            yield


def taylor_unit(model: Seq2Seq, batches: Iterable | None = None, order: int = 1, **_unused) -> dict[str, torch.Tensor]:
    """Gate Taylor importance per unit, averaged over ``batches``.

    Args:
        model: a Seq2Seq (not modified; its train/eval mode is irrelevant, scoring runs in eval mode).
        batches: iterable of teacher-forced minibatches (see the module docstring); required.
        order: 1 (first order) or 2 (second order).
    Returns:
        ``{group: FloatTensor (n,)}`` (float32, on the CPU), lower = removed first.
    Raises:
        UnitError: no batches, or a bad order.
    """
    if order not in (1, 2):
        raise UnitError(f"taylor-unit order must be 1 or 2, got {order!r}")
    if batches is None:
        raise UnitError("taylor-unit needs minibatches (batches=...) to compute gradients")
    net = _as_general(model)
    groups = unit_groups(model.cfg)  # the original ties: dot ties the top layers to one gate
    slots = [[(s, g.size) for m in g.members for s in member_slots(net.cfg, m) if s.role == "out"] for g in groups]
    params = {name: p.detach() for name, p in net.named_parameters()}
    p0 = next(iter(params.values()))
    total = [torch.zeros(g.size, dtype=torch.float64) for g in groups]
    n_batches = 0
    was_training = net.training
    net.eval()
    try:
        with _differentiable_twice() if order == 2 else contextlib.nullcontext():
            for batch in batches:
                z = [torch.ones(g.size, device=p0.device, dtype=p0.dtype, requires_grad=True) for g in groups]
                gated = dict(params)
                for zg, group_slots in zip(z, slots):
                    for slot, n in group_slots:
                        gated[slot.param] = _gate(gated[slot.param], slot, n, zg)
                args = (batch.src.to(p0.device), batch.src_len, batch.tgt_in.to(p0.device))
                logits = functional_call(net, gated, args)
                tgt_out = batch.tgt_out.to(p0.device)
                loss = nll_loss(logits, tgt_out) / max(1, int((tgt_out != PAD).sum()))
                grads = torch.autograd.grad(loss, z, create_graph=order == 2)
                if order == 2:
                    h1 = torch.autograd.grad(sum(g.sum() for g in grads), z)  # H·1: Hessian times the gates
                    grads = [g - 0.5 * h for g, h in zip(grads, h1)]
                for acc, g in zip(total, grads):
                    acc += g.detach().double().cpu() ** 2
                n_batches += 1
    finally:
        net.train(was_training)
    if n_batches == 0:
        raise UnitError("taylor-unit got no minibatches")
    return {g.name: (acc / n_batches).float() for g, acc in zip(groups, total)}


def taylor_unit_second_order(model: Seq2Seq, batches: Iterable | None = None, **kwargs) -> dict[str, torch.Tensor]:
    """:func:`taylor_unit` with ``order=2``."""
    kwargs.pop("order", None)
    return taylor_unit(model, batches, order=2, **kwargs)


_MOLCHANOV = Paper("Taylor (Molchanov et al. 2019)", "(∂E/∂z)² of a unit's gate, squared per minibatch")
SPECS = (
    ScoreSpec(
        "taylor-unit",
        taylor_unit,
        kind="unit",
        n_batches=16,
        cost="one forward+backward per minibatch",
        paper=_MOLCHANOV,
        label="Taylor",
        site_label="Units · Taylor",
        symbol="(∂E/∂zⱼ)²",
        text="Taylor importance of a unit (Molchanov et al. 2019): a gate z_j = 1 multiplies the unit's output "
        "wherever it is read; the squared first-order estimate of the loss change when z_j goes to 0, squared "
        "per training minibatch and averaged.",
        formula=r"\mathrm{score}(j) = \frac{1}{B} \sum_b \left( \sum_t h_{t,j} \frac{\partial E_b}{\partial h_{t,j}} "
        r"\right)^2",
        how="The gradient of the minibatch loss with respect to the unit's gate, squared per minibatch and averaged "
        "over 16 training minibatches.",
    ),
    ScoreSpec(
        "taylor-unit-2",
        taylor_unit_second_order,
        kind="unit",
        n_batches=16,
        cost="one forward+backward and one double backward per minibatch (non-fused LSTM path)",
        paper=_MOLCHANOV,
        site_label="Units · Taylor (2nd order)",
        symbol="(gⱼ − ½(Hz)ⱼ)²",
        text="Second-order Taylor importance (Molchanov et al. 2019): the first-order term corrected by the Hessian of "
        "the loss over all unit gates, times the gate vector.",
        formula=r"\mathrm{score}(j) = \frac{1}{B} \sum_b \left( \frac{\partial E_b}{\partial z_j} - \frac{1}{2} "
        r"(H_b z)_j \right)^2",
        how="The gate gradient minus half the Hessian-gate product, squared per minibatch and averaged.",
    ),
)
