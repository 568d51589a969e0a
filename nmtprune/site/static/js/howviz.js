// The pictures of the "how it works" steps, one per step kind (the export's ``viz``), all drawn
// from the real scores at the slider's sparsity: histograms with their thresholds, per-class bars,
// the masks on the matrix, and the frames of a real retraining run (training.js).
import { href, state } from "./state.js";
import { fmtPct, trainingOf } from "./data.js";
import { classMatrix, panelWidth } from "./matrix.js";
import { renderTraining } from "./training.js";
import { shrinkChart, unitBars } from "./unitviz.js";

const DARK = "#181818", LIGHT = "#8fb3d9", LINE = "#d7191c";

// Bars of one histogram; bins below the threshold are drawn dark (pruned), the cut bin split.
function histCanvas(counts, hist, threshold, title, w, h) {
  const cv = document.createElement("canvas");
  const dpr = window.devicePixelRatio || 1;
  cv.width = w * dpr; cv.height = h * dpr;
  cv.style.width = `${w}px`; cv.style.height = `${h}px`;
  const g = cv.getContext("2d");
  g.scale(dpr, dpr);
  const T = 18, B = 16, n = counts.length, max = Math.max(1, ...counts);
  const bw = w / n, binw = (hist.hi - hist.lo) / n;
  for (let i = 0; i < n; i++) {
    const bh = (Math.sqrt(counts[i]) / Math.sqrt(max)) * (h - T - B); // sqrt: the long tail stays visible
    const x0 = i * bw, lo = hist.lo + i * binw;
    const cut = threshold === null ? 0 : Math.max(0, Math.min(1, (threshold - lo) / binw));
    g.fillStyle = DARK; g.fillRect(x0, h - B - bh, bw * cut, bh);
    g.fillStyle = LIGHT; g.fillRect(x0 + bw * cut, h - B - bh, bw * (1 - cut) - 0.5, bh);
  }
  if (threshold !== null) {
    const x = ((threshold - hist.lo) / (hist.hi - hist.lo)) * w;
    g.strokeStyle = LINE; g.lineWidth = 2;
    g.beginPath(); g.moveTo(x, T - 4); g.lineTo(x, h - B); g.stroke();
  }
  g.fillStyle = "#222"; g.font = "12px system-ui, sans-serif";
  g.fillText(title, 2, 12);
  g.fillStyle = "#666"; g.font = "10px system-ui, sans-serif";
  // a log part's bounds are log10 values: label them as the quantities (1e-5, not -5)
  const val = (x) => (hist.log ? Number(10 ** x).toExponential(1) : x.toPrecision(2));
  g.fillText((hist.lo < 0 || hist.log ? "≤" : "") + val(hist.lo), 1, h - 3); // signed parts clip both tails
  const hiText = `≥${val(hist.hi)}`;
  g.fillText(hiText, w - g.measureText(hiText).width - 1, h - 3);
  return cv;
}

function sumCounts(hist) {
  const all = Object.values(hist.counts);
  return all[0].map((_, i) => all.reduce((a, c) => a + c[i], 0));
}

export function viz(d, m, step, width) {
  const score = d.scoreByName[m.score], hist = score.histogram, s = state.s;
  const box = document.createElement("div");
  box.className = "viz";
  if (step.viz === "histogram" && step.of === "pooled") { // a global unit method: normalised scores, one pool
    const pool = m.units.pooled, t = m.global_threshold[Math.min(s, m.units.limit)];
    box.append(histCanvas(sumCounts(pool), pool, t, `normalised unit scores of all ${m.units.groups.length} groups` +
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
      box.append(histCanvas(own.counts, own, t, `${g.name} · ${gone} of ${g.size} units removed`, w, 110));
    }
  } else if (step.viz === "histogram" && step.of) { // an intermediate quantity of the score (export: SCORE_PARTS)
    const part = score.parts[step.of];
    const zeros = part.zeros ? Object.values(part.zeros).reduce((a, z) => a + z, 0) : 0;
    box.append(histCanvas(sumCounts(part), part, null, `${part.label || step.of} over all ${d.classes.length} classes` +
      (part.log ? ` · log10 axis${zeros ? ` · ${zeros.toLocaleString("en-US")} zeros not shown` : ""}` : ""), width, 220));
  } else if (step.viz === "histogram") {
    const t = step.threshold === "global" ? m.global_threshold[s] : null;
    const over = m.units ? `all ${m.units.groups.length} unit groups` : `all ${d.classes.length} classes`;
    box.append(histCanvas(sumCounts(hist), hist, t, `${score.symbol || "score"} over ${over}` +
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
      const t = m.class_threshold[c.name][s];
      const extra = m.sigma && step.readout === "lambda" ? ` · σ_c=${m.sigma[c.name].toPrecision(2)}` : "";
      box.append(histCanvas(hist.counts[c.name], hist, t, `${c.name} · ${fmtPct(m.class_sparsity[c.name][s], 0)} pruned${extra}`, w, 110));
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
    box.append(renderTraining(d, trainingOf(d, step), state.f, width));
  } else if (step.viz === "matrix") {
    const cls = d.classByName[state.cls];
    const link = document.createElement("a");
    link.href = href({ view: "matrix" });
    link.textContent = `${cls.name}: open the matrix view →`;
    box.append(link, classMatrix(cls, m, s, panelWidth(cls, width)).node);
  }
  return box;
}

