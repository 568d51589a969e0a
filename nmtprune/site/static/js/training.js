// The retraining step of a walk-through: frames of a real, short retraining run under the mask
// (artifact of `nmtprune site-frames`, in the export's `training`; for an at-init score, kind
// "from-init": training the scored initialisation under its mask). Frame f shows the recorded
// matrix's surviving weights w_t and their change Δ = w_t − w_0 (pruned cells stay dark: the mask
// zeroes them after every optimizer step), the dev perplexity and training loss up to that step,
// a few survivors' values over time, and how far each weight class has moved.
import { set } from "./state.js";
import { fmtInt, trainingArrays } from "./data.js";
import { PRUNED, drawPanel, heat, panel } from "./matrix.js";
import { hoverTip, pointTargets, svgEl } from "./svg.js";

// A small line chart against the step: series [{pts: [[step, y]], cls}], a dashed marker at `x`,
// an optional horizontal reference line {y, label}.
function lineChart(label, series, x, xMax, { log = false, ref = null } = {}) {
  const W = 320, H = 150, L = 46, R = 12, T = 18, B = 26;
  const svg = svgEl("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img", "aria-label": label });
  const ys = series.flatMap((s) => s.pts.map((p) => p[1])).concat(ref ? [ref.y] : []).filter((v) => v !== null && (!log || v > 0));
  if (!ys.length) return svg;
  const f = log ? Math.log : (v) => v;
  let lo = Math.min(...ys.map(f)), hi = Math.max(...ys.map(f));
  if (hi === lo) { hi += 1e-6; lo -= 1e-6; }
  const X = (v) => L + (v / Math.max(1, xMax)) * (W - L - R), Y = (v) => T + (1 - (f(v) - lo) / (hi - lo)) * (H - T - B);
  svg.append(svgEl("line", { x1: L, y1: H - B, x2: W - R, y2: H - B, class: "axis" }),
    svgEl("line", { x1: L, y1: T, x2: L, y2: H - B, class: "axis" }),
    svgEl("text", { x: L, y: 12, class: "tick" }, label + (log ? " (log scale)" : "")),
    svgEl("text", { x: W - R, y: H - 4, "text-anchor": "end", class: "tick" }, `step ${xMax}`),
    svgEl("text", { x: L, y: H - 4, class: "tick" }, "0"));
  for (const v of [lo, hi]) {
    const y = log ? Math.exp(v) : v;
    svg.append(svgEl("text", { x: L - 4, y: Y(y) + 4, "text-anchor": "end", class: "tick" }, y.toPrecision(3)));
  }
  if (ref) {
    svg.append(svgEl("line", { x1: L, y1: Y(ref.y), x2: W - R, y2: Y(ref.y), class: "ref-line" }),
      svgEl("text", { x: W - R, y: Y(ref.y) - 3, "text-anchor": "end", class: "tick" }, ref.label));
  }
  for (const s of series) {
    const pts = s.pts.filter((p) => p[1] !== null && (!log || p[1] > 0));
    if (!pts.length) continue;
    svg.append(svgEl("path", { d: pts.map((p, i) => `${i ? "L" : "M"}${X(p[0]).toFixed(1)},${Y(p[1]).toFixed(1)}`).join(""), class: `curve ${s.cls}` }));
  }
  svg.append(svgEl("line", { x1: X(x), y1: T, x2: X(x), y2: H - B, class: "marker-line" }));
  const tip = hoverTip(svg, W, H); // every recorded point answers a hover or a tap, as the study curves do
  for (const s of series) {
    pointTargets(svg, tip, s.pts.filter((p) => p[1] !== null && (!log || p[1] > 0)).map((p) => ({ x: X(p[0]), y: Y(p[1]),
      who: s.name || label, what: `${s.name ? `${label}: ` : ""}${p[1].toPrecision(4)} at step ${p[0]}` })));
  }
  tip.raise();
  return svg;
}

function driftBars(t, f) {
  const box = document.createElement("div");
  box.className = "drift";
  const h = document.createElement("h3");
  h.textContent = "How far each class's surviving weights have moved (RMS of Δ)";
  box.append(h);
  const last = t.frames[t.frames.length - 1].drift;
  const max = Math.max(1e-12, ...Object.values(last));
  for (const [c, v] of Object.entries(t.frames[f].drift)) {
    const row = document.createElement("div");
    row.className = "bar-row";
    const lab = document.createElement("span");
    lab.textContent = c;
    const bar = document.createElement("span");
    bar.className = "bar";
    const fill = document.createElement("span");
    fill.className = "bar-fill moved";
    fill.style.width = `${(100 * v) / max}%`;
    bar.append(fill);
    const val = document.createElement("span");
    val.textContent = v.toPrecision(2);
    row.append(lab, bar, val);
    box.append(row);
  }
  return box;
}

// "abc123+dirty" is a commit plus changes that were never committed: say so in words.
function commitWords(c) {
  if (!c) return "commit unknown";
  return c.endsWith("+dirty") ? `commit ${c.slice(0, -6)} plus uncommitted changes` : `commit ${c}`;
}

export function renderTraining(d, t, f, width) {
  const box = document.createElement("div");
  box.className = "training";
  const { w0, keep, delta } = trainingArrays(t);
  const fr = t.frames[f], last = t.frames[t.frames.length - 1].step;
  // an at-init score's run (kind "from-init") starts from a fresh initialisation, not the pruned trained model
  const fromInit = t.kind === "from-init";
  const read = document.createElement("p");
  read.id = "training-readout";
  read.className = "readout";
  read.dataset.frame = String(f);
  read.dataset.step = String(fr.step);
  const greg = t.kind === "greg"; // GReg's penalty phase: nothing pruned yet, the chosen units fade out
  read.textContent = greg
    ? `Step ${fr.step} of ${last}: λ = ${fr.lam} on the units to remove; kept / removed mean L1 norm ` +
      `${fr.mag_ratio === null ? "—" : fr.mag_ratio.toPrecision(3)}; dev perplexity of the unpruned model ` +
      `${fr.dev_ppl.toFixed(1)} (dense ${t.dense_dev_ppl.toFixed(1)}).`
    : `Step ${fr.step} of ${last}: dev perplexity ${fr.dev_ppl.toFixed(1)} ` +
    `(${fromInit ? "at initialisation" : "right after pruning"} ${t.frames[0].dev_ppl.toFixed(1)}, ` +
    `${fromInit ? "trained dense model" : "dense"} ${t.dense_dev_ppl.toFixed(1)})` +
    (fr.train_loss !== null ? `; training loss ${fr.train_loss.toFixed(3)} over the last ${t.recipe.every} steps.` : ".");
  const ctl = document.createElement("p");
  ctl.className = "frame-controls";
  const lab = document.createElement("label");
  lab.htmlFor = "frame-slider";
  lab.textContent = "frame ";
  const slider = document.createElement("input");
  Object.assign(slider, { id: "frame-slider", type: "range", min: 0, max: t.frames.length - 1, step: 1, value: f });
  slider.setAttribute("aria-valuetext", `step ${fr.step}`);
  slider.addEventListener("input", () => set({ f: Number(slider.value) }));
  ctl.append(lab, slider, ` step ${fr.step}`);

  const grid = { name: t.param, shape: t.shape, rows: t.rows, cols: t.cols, blocks: t.blocks, rule: t.rule };
  const d8 = delta[f], ratio = t.delta_scale / t.w0_scale;
  const each = Math.max(120, Math.floor((width - 16) / 2));
  const wNow = drawPanel(grid, (i) => (keep[i] ? heat(w0[i] / 127 + (d8[i] / 127) * ratio) : PRUNED), each);
  const dNow = drawPanel(grid, (i) => (keep[i] ? heat(d8[i] / 127) : PRUNED), each);
  const kept = keep.reduce((a, v) => a + v, 0);
  const title = document.createElement("p");
  title.className = "panel-title";
  const nm = document.createElement("b");
  nm.textContent = t.param;
  title.append(nm, ` ${t.shape.join("×")} · shown: ${t.rule} (${t.rows}×${t.cols} cells)`);
  const panels = document.createElement("div");
  panels.className = "panels";
  panels.append(panel(grid, wNow, `w_t: ${fmtInt(kept)} of ${fmtInt(t.rows * t.cols)} shown cells survive`, true),
    panel(grid, dNow, `Δ = w_t − w_0: colour scale ±${t.delta_scale.toPrecision(2)}, the largest change in the run`, true));
  if (greg) title.append(" · the rows of the units to remove fade to 0; nothing is masked yet");

  const steps = t.frames.map((x) => x.step);
  const charts = document.createElement("div");
  charts.className = "panels";
  charts.append(
    lineChart("dev perplexity", [{ pts: t.frames.map((x) => [x.step, x.dev_ppl]), cls: "current" }], fr.step, last,
      { log: true, ref: { y: t.dense_dev_ppl, label: fromInit ? "trained dense" : "dense" } }));
  if (greg) {
    charts.append(
      lineChart("λ on the units to remove", [{ pts: t.frames.map((x) => [x.step, x.lam]), cls: "current" }], fr.step, last),
      lineChart("kept / removed mean unit L1 norm", [{ pts: t.frames.map((x) => [x.step, x.mag_ratio]), cls: "current" }],
        fr.step, last, { log: true }));
  } else {
    charts.append(
      lineChart("training loss", [{ pts: t.frames.map((x) => [x.step, x.train_loss]), cls: "current" }], fr.step, last),
      lineChart(`${t.traces.length} surviving weights that moved most`, t.traces.map((tr) => ({
        pts: tr.values.map((v, i) => [steps[i], v]), cls: "trace", name: `weight [${tr.row}, ${tr.col}] of ${t.param}` })), fr.step, last));
  }
  const src = document.createElement("p");
  src.className = "muted small";
  const p = t.provenance;
  if (greg) { // what the phase buys: removing the units now against removing them with no penalty phase
    const g = t.greg, out = document.createElement("p");
    out.className = "readout";
    out.id = "greg-readout";
    out.textContent = `After the phase, removing the ${Object.values(g.removed).reduce((a, v) => a + v, 0)} chosen ` +
      `units gives dev perplexity ${g.ppl_after_penalty_pruned.toFixed(1)}` + (g.ppl_pruned_without_penalty === null
        ? "." : `; removing the same units without the penalty phase gave ${g.ppl_pruned_without_penalty.toFixed(1)}.`);
    charts.append(out);
  }
  src.textContent = (fromInit ? "Sparse from scratch: the initialisation the score saw, trained under its mask. " : "") +
    (greg ? `GReg's penalty phase (${t.greg.mode}), the schedule of the units study. ` : "") +
    `Recorded with \`${p.command}\` (${commitWords(p.commit)}, seed ${p.seed}) on ${t.model.corpus}` +
    `${t.matched_model ? "" : " — another checkpoint than the exported one"}; matrix ${t.param}, ${t.rule}.`;
  box.append(read, ctl, title, panels, charts, driftBars(t, f), src);
  return box;
}
