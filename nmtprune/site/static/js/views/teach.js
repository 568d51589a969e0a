// The opening view's words: what pruning is and what See et al. found, with this model's numbers read
// from the export, never typed in here. A number the export lacks is said to be not measured, with
// the sweep that would measure it.
import { href, state } from "../state.js";
import { fmtInt, fmtLevel } from "../data.js";
import { retrainCommand } from "../retrained.js";

// See et al.'s method (magnitude scores, one threshold over all classes) and the sparsity their
// headline speaks of; what this model reaches there is looked up in the export.
const SEE_METHOD = "magnitude/class-blind", SEE_LEVEL = 80;

const para = (id, ...parts) => {
  const p = document.createElement("p");
  if (id) p.id = id;
  p.append(...parts);
  return p;
};
const code = (t) => { const c = document.createElement("code"); c.textContent = t; return c; };
const strong = (t) => { const b = document.createElement("strong"); b.textContent = t; return b; };
const link = (t, patch, id) => { const a = document.createElement("a"); a.href = href(patch); a.textContent = t; if (id) a.id = id; return a; };
const bleu = (v) => v.toFixed(2);

// The measured values behind See et al.'s sentence: {dense, continued, pruned, retrained, series};
// each null where the export has none.
export function seeNumbers(d) {
  const m = d.methodById.get(SEE_METHOD) || null;
  if (!m) return { m, dense: null, continued: null, pruned: null, retrained: null, series: null };
  const at = (pts, x) => pts.find((p) => p.sparsity === x && p.bleu !== null && p.bleu !== undefined) || null;
  const dense = at(m.curve, 0), pruned = at(m.curve, SEE_LEVEL);
  const all = m.retrained || [];
  // See et al. retrain once after a one-shot prune: that series first, any other retraining after
  const series = all.find((r) => r.kind === "retrain" && r.schedule === "one-shot") || all.find((r) => r.kind === "retrain") || null;
  const retrained = series ? at(series.points, SEE_LEVEL) : null;
  const dc = series ? (d.results.dense_continued || {})[series.study] : null;
  return { m, dense: dense && dense.bleu, continued: dc && dc.bleu !== null ? dc : null, pruned: pruned && pruned.bleu, retrained, series };
}

export function teachText(d) {
  const box = document.createElement("section");
  box.className = "teach";
  box.id = "teach";
  const h = document.createElement("h2");
  h.textContent = "What pruning is";
  const total = fmtInt(d.model.total), n = d.classes.length;
  const what = para("teach-pruning", "Pruning sets weights to zero for good. Every weight gets a score, and the S % with the ",
    "lowest scores are removed. ", strong("Magnitude"), " pruning scores a weight by its size |w|; ", strong("class-blind"),
    ` selection ranks all ${total} weights of this model's ${n} classes together, `, strong("class-uniform"),
    " removes S % of every class. The slider above sets S; the dark bar under each box of the picture is the share of that ",
    `class the chosen method (now ${d.methodById.get(`${state.score}/${state.sel}`).label}) removes.`);
  const h2 = document.createElement("h2");
  h2.textContent = "What See et al. found";
  const x = seeNumbers(d);
  const see = para("see-finding");
  see.dataset.level = String(SEE_LEVEL);
  for (const k of ["dense", "pruned"]) see.dataset[k] = x[k] === null ? "none" : String(x[k]);
  see.dataset.retrained = x.retrained ? String(x.retrained.bleu) : "none";
  see.append("See, Luong & Manning (2016) pruned an LSTM attention model like this one. Of their three schemes, ",
    "class-blind magnitude pruning worked best, and retraining the pruned model won back most of the BLEU that pruning had cost. ");
  if (!x.m) {
    see.append(`This export has no ${SEE_METHOD} method: nothing of it was measured here.`);
  } else {
    const lv = fmtLevel(SEE_LEVEL);
    see.append(`This model, ${lv} pruned by ${x.m.label}: `);
    see.append(x.pruned === null ? "BLEU without retraining not measured" : strong(`BLEU ${bleu(x.pruned)} without retraining`), ", ");
    if (x.retrained) {
      const r = x.retrained;
      see.append(strong(`${bleu(r.bleu)}${r.n > 1 && r.bleu_std !== null ? ` ± ${bleu(r.bleu_std)}` : ""} after retraining`),
        ` (${r.n > 1 ? `mean ± std over ${r.n} training seeds` : "one training seed"}), `);
    } else {
      see.append("after retraining not measured (", code(retrainCommand(d, x.m, SEE_LEVEL, x.series)), " would measure it), ");
    }
    see.append(x.dense === null ? "against a dense model whose BLEU was not measured" : strong(`against ${bleu(x.dense)} for the dense model`));
    see.append(x.continued ? ` (${bleu(x.continued.bleu)} for the dense model trained as long as the retraining).` : ".");
  }
  const go = para("", link(`See ${SEE_LEVEL} % of magnitude · class-blind on the matrices →`,
    { view: "matrix", score: "magnitude", sel: "class-blind", s: SEE_LEVEL }, "teach-see-matrix"), " · ",
  link("How does a method choose? →", { view: "how", step: 0 }));
  go.className = "links";
  box.append(h, what, h2, see, go);
  return box;
}
