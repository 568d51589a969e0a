// The pictures of the "how it works" steps, one per step kind (the export's ``viz``), all drawn
// from the real scores at the slider's sparsity: histograms with their thresholds, per-class bars,
// the masks on the matrix, and the frames of a real retraining run (training.js).
import { href, state } from "./state.js";
import { fmtPct, trainingOf } from "./data.js";
import { classMatrix, legend, panelWidth } from "./matrix.js";
import { renderTraining } from "./training.js";
import { fillFromLeft, addPruned, histCanvas } from "./histogram.js";
import { shrinkChart, unitBars } from "./unitviz.js";
import { chart, curveLegend } from "./curve.js";
import { retrainReadout } from "./retrained.js";
import { cellReadout } from "./views/cells.js";

// Summed over keys (classes or groups): one pooled histogram's counts and zeros.
function pooledBars(hist) {
  const all = Object.values(hist.counts);
  const zeros = hist.zeros ? Object.values(hist.zeros).reduce((a, z) => a + z, 0) : 0;
  return { counts: all[0].map((_, i) => all.reduce((a, c) => a + c[i], 0)), zeros };
}

// A per-row method's pruned weights per bar of class c at s: its lowest scores are not the ones pruned
// (each row is cut on its own), so the export counts each bar's weights per pruned-at byte q
// (bin_pruned: [q0, n_q0, n_q0+1, ...]); a weight is pruned at s iff q < s.
function rowPruned(m, c, s) {
  const upTo = (e) => { let n = 0; for (let i = 1; i < e.length && e[0] + i - 1 < s; i++) n += e[i]; return n; };
  return { zeros: upTo(m.bin_pruned.zeros[c.name] || []), bins: m.bin_pruned.bars[c.name].map(upTo) };
}

// One class's bars with its pruned weights at s: the class's lowest scores, as many as it loses
// (per-row: counted per bar, rowPruned).
function classBars(d, m, hist, c, s) {
  const counts = hist.counts[c.name], zeros = hist.zeros ? hist.zeros[c.name] : 0;
  if (m.bin_pruned) return { counts, zeros, pruned: rowPruned(m, c, s) };
  return { counts, zeros, pruned: fillFromLeft(counts, zeros, m.class_sparsity[c.name][s] * c.size) };
}

// A weight score's histogram for the walk-through: on a log axis where the export found a linear one
// hides the cut (export.py, _log_histograms).
function scoreHist(score) {
  return score.histogram_log || score.histogram;
}

// The colours a step's picture uses, as a legend (null: one colour, or a chart with its own legend).
function stepLegend(step, t) {
  const hist = ["histogram", "class-histograms", "unit-histograms"].includes(step.viz);
  if (hist && step.threshold === "row") return legend([["pruned", "pruned"], ["hist-kept", "kept"]]); // no one line
  if (hist && step.threshold !== "none") {
    return legend([["pruned", step.viz === "unit-histograms" || step.of === "pooled" ? "removed" : "pruned"],
      ["hist-kept", "kept"], ["threshold", "threshold at the slider's sparsity"]]);
  }
  if (hist) return null; // no cut drawn: light bars only
  if (step.viz === "class-bars") return legend([["pruned", "share of the class pruned"], ["track", "kept"]]);
  if (step.viz === "units") return legend([["hist-kept", "units kept"], ["track", "units removed"]]);
  if (step.viz === "matrix") return legend([["pos", "positive weight"], ["neg", "negative weight"], ["pruned", "pruned"]]);
  if (step.viz === "training" && t) {
    return legend([["pos", "positive w (Δ: grew)"], ["neg", "negative w (Δ: shrank)"], ["pruned", t.kind === "greg" ? "masked" : "pruned"]]);
  }
  return null;
}

export function viz(d, m, step, width) {
  const out = vizOnly(d, m, step, width);
  const key = stepLegend(step, trainingOf(d, step));
  if (key) out.prepend(key);
  return out;
}

function vizOnly(d, m, step, width) {
  const score = d.scoreByName.get(m.score), hist = score.histogram, s = state.s;
  const box = document.createElement("div");
  box.className = "viz";
  if (step.viz === "histogram" && step.of === "pooled") { // a global unit method: normalised scores, one pool
    const pool = m.units.pooled, t = m.global_threshold[Math.min(s, m.units.limit)];
    box.append(histCanvas(pooledBars(pool), pool, t, `normalised unit scores of all ${m.units.groups.length} groups` +
      (t !== null ? ` · t_k = ${t.toPrecision(3)}` : ""), width, 220));
  } else if (step.viz === "unit-histograms") { // one histogram per unit group, each on its own bins
    box.classList.add("multiples");
    const w = width >= 560 ? Math.floor(width / 2) - 8 : width, lv = Math.min(s, m.units.limit);
    for (const g of m.units.groups) {
      // raw scores: each group on its own axis; compared scores of a global method: the pool's shared
      // axis (normalised scores are on one scale, so one threshold sits at the same place in every group)
      const pool = m.units.pooled;
      const own = step.hist === "score"
        ? { lo: hist.ranges[g.name][0], hi: hist.ranges[g.name][1], counts: hist.counts[g.name] }
        : pool ? { lo: pool.lo, hi: pool.hi, counts: pool.counts[g.name] } : g.hist;
      const t = step.threshold === "group" ? g.cut[lv] : step.threshold === "global" ? m.global_threshold[lv] : null;
      const gone = g.size - g.kept[lv];
      box.append(histCanvas({ counts: own.counts }, own, t, `${g.name} · ${gone} of ${g.size} units removed`, w, 110));
    }
  } else if (step.viz === "histogram" && step.of) { // an intermediate quantity of the score (export: its spec's parts)
    const part = score.parts[step.of];
    box.append(histCanvas(pooledBars(part), part, null, `${part.label || step.of} over all ${d.classes.length} classes` +
      (part.log ? " · log10 axis, zeros in the bar 0" : ""), width, 220));
  } else if (step.viz === "histogram") {
    const t = step.threshold === "global" ? m.global_threshold[s] : null;
    const h = m.units ? hist : scoreHist(score), bars = pooledBars(h);
    if (t !== null && !m.units) { // per class, summed: each class's pruned weights are its lowest scores
      bars.pruned = d.classes.reduce((sum, c) => addPruned(sum, classBars(d, m, h, c, s).pruned), null);
    }
    const over = m.units ? `all ${m.units.groups.length} unit groups` : `all ${d.classes.length} classes`;
    box.append(histCanvas(bars, h, t, `${score.symbol || "score"} over ${over}` + (h.log ? " · log10 axis" : "") +
      (t !== null ? ` · t_k = ${t.toPrecision(3)}` : ""), width, 220));
  } else if (step.viz === "class-histograms") {
    box.classList.add("multiples");
    const w = width >= 560 ? Math.floor(width / 2) - 8 : width;
    if (step.readout === "lambda") {
      const p = document.createElement("p");
      p.className = "readout";
      const lam = m.global_threshold[s];
      p.textContent = `λ = ${lam === null ? "—" : lam.toPrecision(3)} at ${s} %`;
      box.append(p);
    }
    for (const c of d.classes) {
      const t = m.class_threshold[c.name][s], h = scoreHist(score);
      const extra = m.sigma && step.readout === "lambda" ? ` · σ_c=${m.sigma[c.name].toPrecision(2)}` : "";
      const bars = classBars(d, m, h, c, s);
      if (t === null && !m.bin_pruned) bars.pruned = null; // nothing cut yet; per-row has no threshold at all
      box.append(histCanvas(bars, h, t, `${c.name} · ${fmtPct(m.class_sparsity[c.name][s], 0)} pruned${extra}`, w, 110));
    }
  } else if (step.viz === "class-bars") {
    for (const c of d.classes) {
      const row = document.createElement("div");
      row.className = "bar-row";
      const lab = document.createElement("span");
      lab.textContent = c.name;
      const bar = document.createElement("span");
      bar.className = "bar";
      const fill = document.createElement("span");
      fill.className = "bar-fill";
      fill.style.width = `${100 * m.class_sparsity[c.name][s]}%`;
      bar.append(fill);
      const v = document.createElement("span");
      v.textContent = fmtPct(m.class_sparsity[c.name][s]);
      row.append(lab, bar, v);
      box.append(row);
    }
  } else if (step.viz === "units") {
    box.append(unitBars(m, s));
  } else if (step.viz === "shrink") {
    box.append(shrinkChart(m, s, width));
  } else if (step.viz === "training") {
    const t = trainingOf(d, step);
    box.append(renderTraining(d, t, state.f, width));
    if (t && t.kind !== "greg") box.append(retrainReadout(d, m, s)); // the measured end of such a run
  } else if (step.viz === "retrained") {
    box.append(chart(d, m, "bleu", d.results.bleu || "BLEU", s), curveLegend(d, m), retrainReadout(d, m, s));
  } else if (step.viz === "matrix") {
    const cls = d.classByName.get(state.cls);
    const link = document.createElement("a");
    link.href = href({ view: "matrix" });
    link.textContent = `${cls.name}: open the matrix view →`;
    const { node } = classMatrix(cls, m, s, panelWidth(cls, width));
    box.append(link, cellReadout(d, m, cls, s, node), node);
  }
  return box;
}

