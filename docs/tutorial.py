# %% [markdown]
# # Tutorial: prune the shipped model three ways
#
# This page is a Python script, `docs/tutorial.py`, cut into cells (`# %%`, the format jupytext and
# VS Code open as a notebook). Everything below was printed and drawn by running it: `python
# docs/tutorial_render.py` runs it cell by cell and writes this page, and the test suite runs it end to end
# with smaller sizes. Run it yourself from the root of the repository with `python docs/tutorial.py`.
#
# The same cells are a Jupyter notebook, [`docs/tutorial.ipynb`](tutorial.ipynb), written from the script
# without outputs. Open it in VS Code (with its Python and Jupyter extensions), or install Jupyter, which
# nmtprune does not depend on: `pip install notebook`, then `jupyter notebook docs/tutorial.ipynb`.
#
# It takes the shipped English→German model, prunes 70 % of its weights with three methods, scores each
# pruned model on a slice of the test set, shows where each method pruned, then removes half of the hidden
# units instead and times decoding. No retraining happens here: the numbers are what pruning alone does.
#
# The sizes come from the environment so that the test can make them small; the defaults made this page.

# %%
import os

import matplotlib.pyplot as plt
import torch

from nmtprune import api as nmt
from nmtprune.prune import get_score

SENTENCES = int(os.environ.get("TUTORIAL_SENTENCES", "200"))  # the first test sentences BLEU is scored on
BATCHES = int(os.environ.get("TUTORIAL_BATCHES", "20"))  # training batches (64 sentences) Taylor reads
BEAM = int(os.environ.get("TUTORIAL_BEAM", "5"))  # beam size: 5 as in the reports, 1 is greedy
THREADS = int(os.environ.get("TUTORIAL_THREADS", "2"))
SPARSITY = 0.7
torch.set_num_threads(THREADS)
# a notebook's kernel starts in the notebook's folder, docs/; the model's path below is from the root
if not os.path.isdir("models") and os.path.isdir(os.path.join("..", "models")):
    os.chdir("..")
print(f"{SENTENCES} test sentences, beam {BEAM}, {THREADS} thread(s), {SPARSITY:.0%} of the weights pruned")

# %% [markdown]
# ## The model and its weight classes
#
# `nmt.load` returns the network with its config and vocabularies. See et al. (2016) group the weights of
# an LSTM translation model into classes: each layer of the encoder and decoder, the attention layer,
# the softmax and the two embeddings. Every selection works on these classes; biases are never pruned.

# %%
MODEL = "models/multi30k-en-de"
dense = nmt.load(MODEL)
classes = nmt.weight_classes(dense)
for name, c in classes.items():
    shapes = " + ".join("x".join(map(str, shape)) for shape in c["params"].values())
    print(f"{name:11s} {c['paper']:17s} {shapes:24s} {c['size']:>11,d}")
print(f"{'total':54s} {sum(c['size'] for c in classes.values()):>11,d}")

# %% [markdown]
# ## The dense model on a slice of the test set
#
# `nmt.sentences` loads a split of the model's own corpus, tokenised as in training; `nmt.evaluate` decodes
# it and scores BLEU on tokenised lowercased text (the Multi30k protocol), perplexity and speed.

# %%
test = nmt.sentences(dense, "test_2016_flickr", limit=SENTENCES)
base = nmt.evaluate(dense, test, beam=BEAM)
print(f"dense: BLEU {base['bleu_tok_lc']:.2f}, perplexity {base['ppl']:.2f} on {len(test)} sentences")

# %% [markdown]
# ## Three methods at the same sparsity
#
# Each method is a score, one number per weight, low ones pruned first; what each computes, in the words
# of its registry entry, is printed first. Taylor reads training batches, loaded once here and shared. All
# three use See et al.'s class-blind selection: one threshold over all classes, so each class loses what its
# scores say. `nmt.prune` scores, selects and zeroes the pruned weights of a freshly loaded copy.

# %%
METHODS = ("magnitude", "taylor", "random")
for method in METHODS:
    print(f"{method}: {get_score(method).text}")
batches = nmt.training_batches(dense, BATCHES)
results = {}
for method in METHODS:
    m = nmt.load(MODEL)
    masks = nmt.prune(m, method, SPARSITY, "class-blind", batches=batches)
    stats = masks.stats(m.net)
    results[method] = (nmt.evaluate(m, test, beam=BEAM), stats)
    print(
        f"{method:9s} pruned {stats['overall']['pruned']:>10,d} of {stats['overall']['total']:,d} weights: "
        f"BLEU {results[method][0]['bleu_tok_lc']:5.2f}, perplexity {results[method][0]['ppl']:9.2f}"
    )
best = max(results, key=lambda k: results[k][0]["bleu_tok_lc"])
print(f"closest to dense ({base['bleu_tok_lc']:.2f}) without retraining: {best}")

# %% [markdown]
# ## Where each method pruned
#
# The overall sparsity is the same, the share of each class is not. The chart shows, per weight class,
# the fraction of its weights each method removed.

# %%
names = list(classes)
fig, ax = plt.subplots(figsize=(9, 3.6))
width = 0.8 / len(results)
for i, (method, (_, stats)) in enumerate(results.items()):
    ax.bar([j + i * width for j in range(len(names))], [stats[n]["sparsity"] for n in names], width, label=method)
ax.axhline(SPARSITY, color="gray", linestyle=":", linewidth=1)
ax.set_xticks([j + width * (len(results) - 1) / 2 for j in range(len(names))], names, rotation=20)
ax.set_ylabel("fraction pruned")
ax.set_ylim(0, 1)
ax.legend(loc="upper left", ncols=3)
ax.set_title(f"Class-blind pruning at {SPARSITY:.0%}, per weight class")
fig.tight_layout()
plt.show()
for method, (_, stats) in results.items():
    most, least = max(names, key=lambda n: stats[n]["sparsity"]), min(names, key=lambda n: stats[n]["sparsity"])
    print(
        f"{method:9s} most pruned: {most} ({stats[most]['sparsity']:.0%}), "
        f"least: {least} ({stats[least]['sparsity']:.0%})"
    )

# %% [markdown]
# ## Fewer hidden units instead: a smaller dense model
#
# Weight pruning leaves every matrix its size, with zeros in it. Removing whole hidden units (here the half
# of every layer's units with the smallest L1 norm of incoming weights) gives a genuinely smaller dense
# model. It is scored here without retraining; the [hidden-unit report](reports/units/REPORT.md) retrains
# such models.

# %%
small = nmt.shrink_units(dense, "l1", 0.5)
n_dense = sum(p.numel() for p in dense.net.parameters())
n_small = sum(p.numel() for p in small.net.parameters())
print(f"parameters: {n_dense:,d} -> {n_small:,d} ({n_small / n_dense:.0%})")
print(f"hidden units per layer: {dense.cfg.model.hidden} -> {small.cfg.model.hidden}")
print(f"BLEU without retraining: {nmt.evaluate(small, test, beam=BEAM)['bleu_tok_lc']:.2f}")

# %%
repeats = 3 if SENTENCES >= 100 else 1
speed = {
    name: nmt.time_decoding(m, test, beam=BEAM, repeats=repeats) for name, m in (("dense", dense), ("small", small))
}
print(f"beam {BEAM}, {THREADS} thread(s), median of {repeats}; load average {os.getloadavg()[0]:.1f}")
for clock, label in (("wall", "wall clock"), ("cpu", "CPU time")):
    rates = f"dense {speed['dense'][clock]:6.1f}, small {speed['small'][clock]:6.1f} sentences/s"
    print(f"{label:10s}: {rates}, speed-up {speed['small'][clock] / speed['dense'][clock]:.2f}x")

# %% [markdown]
# The timing is of whatever machine ran this page. The wall clock includes the time other work held its
# cores (the load average says how busy it was); the CPU time counts only what decoding used.
# [Benchmarks](BENCHMARKS.md) has the careful measurements, on an idle machine.
#
# ## Next
#
# * Retrain a pruned model with its masks fixed: `nmt.retrain(m, masks, "runs/p70r")`, or
#   `nmtprune retrain` ([Getting started](getting-started.md)).
# * Every method, what it computes and how it did: [Pruning methods](methods/index.md).
# * The whole API: [Python API](api/index.md).
