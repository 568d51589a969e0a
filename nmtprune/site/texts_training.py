"""The walk-through's last steps, from what the export measured: the retraining frames, the retrained BLEU.

:func:`training_step` describes a real run recorded for the site (:mod:`nmtprune.experiments.siteframes`) with
its own numbers; :func:`retrained_step` the study's retraining results under the slider (:mod:`.retrained`).
"""

from __future__ import annotations

from .texts_selections import step

__all__ = ["retrained_step", "training_step"]


def training_step(art: dict) -> dict:
    f0, f1 = art["frames"][0], art["frames"][-1]
    rec = art["recipe"]
    opt = r"\mathrm{" + rec["optimizer"].capitalize() + r"}\left(w_t, \nabla L(w_t)\right)"
    if art.get("kind") == "greg":  # GReg's penalty phase (siteframes.greg): no mask yet, a penalty
        g = art["greg"]
        n0, n1 = f0["norms"], f1["norms"]

        def mean(fr_norms: dict, key: str) -> float:  # the groups' mean norms, averaged over the groups
            vals = [v[key] for v in fr_norms.values() if v[key] is not None]
            return sum(vals) / max(1, len(vals))

        without = g.get("ppl_pruned_without_penalty")
        return step(
            f"Or fade them out first: {g['mode'].upper()} (growing regularization)",
            "training",
            f"Instead of cutting at once, {g['mode'].upper()} (Wang et al. 2021) puts a penalty λ‖w_j‖² on the "
            f"{round(100 * g['fraction'])} % of each layer's units it will remove (chosen by L1, as above) and keeps "
            f"training: λ grows by {g['delta']:g} every {g['every']} steps up to {g['ceiling']:g}, then "
            f"{g['stabilize']} more steps ({rec['steps']} real optimizer steps, {rec['optimizer']}, learning rate "
            f"{rec['lr']:g}). The chosen units' incoming rows fade towards 0 while the rest of the network adapts: "
            f"their mean L1 norm goes from {mean(n0, 'removed'):.3g} to {mean(n1, 'removed'):.3g} (the kept units': "
            f"{mean(n0, 'kept'):.3g} to {mean(n1, 'kept'):.3g}). Removing them then gives dev perplexity "
            f"{g['ppl_after_penalty_pruned']:.1f} on {rec['dev_sentences']} sentences (dense {art['dense_dev_ppl']:.1f})"
            + (
                f", against {without:.1f} when the same units are removed without the penalty phase."
                if without
                else "."
            ),
            r"w_j \leftarrow (1 - \eta \lambda_j) w_j, \quad \lambda_j = \min\left(\tau, \delta \cdot "
            r"\mathrm{floor}(s / K)\right)",
            training=art["id"],
        )
    if art.get("kind") == "from-init":  # an at-init score: the mask was chosen before any training
        return step(
            "Train from the initialisation under the mask",
            "training",
            f"The score saw a fresh initialisation, not the trained model, so the mask is kept and that same "
            f"initialisation trains: {rec['steps']} real optimizer steps of the reference training recipe "
            f"({rec['optimizer']}, learning rate {rec['lr']:g}, batches of {rec['batch_size']}) with "
            f"{round(100 * art['sparsity'])} % of the weights zero from the start. Every step moves the surviving "
            "weights (Δ = w_t − w_0, right) and the mask keeps the pruned ones at exactly 0 (dark). The dev "
            f"perplexity on {rec['dev_sentences']} sentences goes from {f0['dev_ppl']:.1f} at initialisation to "
            f"{f1['dev_ppl']:.1f} (the trained dense model: {art['dense_dev_ppl']:.1f}); a short run shows the start "
            "of training, not where it converges.",
            r"w_0 \sim \mathrm{init}, \quad w_{t+1} = M \odot " + opt,
            training=art["id"],
        )
    return step(
        "Retrain under the mask",
        "training",
        f"{rec['steps']} real optimizer steps of the retraining recipe ({rec['optimizer']}, learning rate "
        f"{rec['lr']:g}, batches of {rec['batch_size']}) with {round(100 * art['sparsity'])} % pruned. Every step "
        "moves the surviving weights (Δ = w_t − w_0, right) and the mask sets the pruned ones back to exactly 0 "
        f"(dark). The dev perplexity on {rec['dev_sentences']} sentences goes from {f0['dev_ppl']:.1f} right after "
        f"pruning to {f1['dev_ppl']:.1f} (dense: {art['dense_dev_ppl']:.1f}).",
        r"w_{t+1} = M \odot " + opt,
        training=art["id"],
    )


def retrained_step(unit: bool) -> dict:
    """The measured outcome of retraining under the mask (:mod:`.retrained`): it follows the slider."""
    what = "hidden units" if unit else "weights"
    return step(
        "What retraining wins back",
        "retrained",
        f"Pruning alone costs BLEU. Training the network again with the removed {what} held at zero wins much "
        "of it back (See et al. 2016: 80 % of the weights pruned, then retrained, matched the dense model). "
        "The chart shows the BLEU measured after pruning only (the line) and after retraining under the mask "
        "(dots: the mean over training seeds, bars: ± one standard deviation). The read-out gives the "
        "retrained BLEU at the slider's position beside the dense model's, where a run exists there.",
        r"w_{t+1} = M \odot \left(w_t - \eta \nabla L(w_t)\right)",
    )
