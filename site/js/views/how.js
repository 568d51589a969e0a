// View 4, how it works: the method's steps (data from the export) walked one at a time; each step
// draws one visualisation of the real scores, animated by the global sparsity slider / play button.
import { href, set, state } from "../state.js";
import { fmtPct, methodOf } from "../data.js";
import { renderFormula } from "../formula.js";
import { classMatrix, panelWidth } from "../matrix.js";

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
  g.fillText(hist.lo.toPrecision(2), 1, h - 3);
  const hiText = `≥${hist.hi.toPrecision(2)}`;
  g.fillText(hiText, w - g.measureText(hiText).width - 1, h - 3);
  return cv;
}

function sumCounts(hist) {
  const all = Object.values(hist.counts);
  return all[0].map((_, i) => all.reduce((a, c) => a + c[i], 0));
}

function viz(d, m, step, width) {
  const score = d.scoreByName[m.score], hist = score.histogram, s = state.s;
  const box = document.createElement("div");
  box.className = "viz";
  if (step.viz === "histogram") {
    const t = step.threshold === "global" ? m.global_threshold[s] : null;
    box.append(histCanvas(sumCounts(hist), hist, t, `${score.symbol || "score"} over all ${d.classes.length} classes` +
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
  } else if (step.viz === "matrix") {
    const cls = d.classByName[state.cls];
    const link = document.createElement("a");
    link.href = href({ view: "matrix" });
    link.textContent = `${cls.name}: open the matrix view →`;
    box.append(link, classMatrix(cls, m, s, panelWidth(cls, width)).node);
  }
  return box;
}

export function renderHow(d, root) {
  const m = methodOf(d, state.score, state.sel);
  const steps = m.steps, i = state.step, step = steps[i];
  const head = document.createElement("div");
  head.className = "step-nav";
  const prev = document.createElement("button");
  prev.id = "how-prev"; prev.textContent = "← Previous"; prev.disabled = i === 0;
  prev.addEventListener("click", () => set({ step: i - 1 }));
  const next = document.createElement("button");
  next.id = "how-next"; next.textContent = "Next →"; next.disabled = i === steps.length - 1;
  next.addEventListener("click", () => set({ step: i + 1 }));
  const label = document.createElement("span");
  label.id = "how-step-label";
  label.textContent = `${m.label}: step ${i + 1} of ${steps.length}`;
  head.append(prev, label, next);
  const dots = document.createElement("ol");
  dots.className = "step-dots";
  steps.forEach((st, j) => {
    const li = document.createElement("li");
    const a = document.createElement("a");
    a.href = href({ step: j });
    a.textContent = st.title;
    if (j === i) a.setAttribute("aria-current", "step");
    li.append(a);
    dots.append(li);
  });
  const h = document.createElement("h2");
  h.textContent = step.title;
  const text = document.createElement("p");
  text.textContent = step.text;
  const formula = document.createElement("div");
  formula.className = "formula";
  formula.append(renderFormula(step.formula));
  const width = Math.min(760, (root.clientWidth || 760) - 8);
  root.append(head, dots, h, text, formula, viz(d, m, step, width));
}
