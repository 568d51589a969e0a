// BLEU and perplexity against sparsity from the study's results, with a marker at the slider's sparsity.
import { hoverTip, svgEl as s } from "./svg.js";
import { fmtLevel } from "./data.js";
import { drawRetrained, retrainedValues } from "./retrained.js";

export { fmtLevel };

// Between two measured sparsities nothing was evaluated, so a read-out never interpolates: it shows
// the measured point nearest to x (the lower one on a tie) and says where that was. null: none measured.
export function nearestMeasured(points, key, x) {
  let best = null;
  for (const p of points) {
    if (p[key] === null || p[key] === undefined) continue;
    if (!best || Math.abs(p.sparsity - x) < Math.abs(best.sparsity - x)) best = p;
  }
  return best && { sparsity: best.sparsity, value: best[key] };
}

// The command that would measure a method the results lack: its study's sweep, only this method's
// cells (cell ids: prune-eval_<score>_<selection>_s<pct>…, unit-eval_<unit score>_<scope>_u<pct>…).
export function measureCommand(d, method) {
  const info = method.units ? d.results.units || {} : d.results;
  // a score only another study measured (e.g. wanda, sparsegpt) names that study
  const path = (!method.units && method.study_path) || info.study_path || (info.study ? `studies/${info.study}.yaml` : "studies/STUDY.yaml");
  const kind = method.units ? "unit-eval" : "prune-eval";
  const part = method.units ? `${method.score.replace(/^units-/, "")}_${method.selection}_u` : `${method.score}_${method.selection}_s`;
  return `nmtprune sweep ${path} --only ${kind} --match ${part}`;
}

// What the curves say at the slider: the measured values nearest to it, or why there are none.
export function curveReadout(d, method, x) {
  const p = document.createElement("p");
  p.id = "curve-readout";
  p.className = "readout small";
  const bleu = nearestMeasured(method.curve, "bleu", x), ppl = nearestMeasured(method.curve, "ppl", x);
  if (!bleu && !ppl) {
    p.classList.add("not-measured");
    p.dataset.measured = "none";
    const code = document.createElement("code");
    code.textContent = measureCommand(d, method);
    p.append(`${method.label}: not measured; the study results in this export have no BLEU or perplexity for it. ` +
      "Its study measures it with ", code, " (once the study lists this method).");
    return p;
  }
  const at = (bleu || ppl).sparsity;
  p.dataset.measured = String(at);
  const vals = [bleu && `BLEU ${bleu.value.toFixed(1)}`, ppl && `perplexity ${ppl.value.toFixed(1)}`].filter(Boolean);
  p.textContent = `${vals.join(", ")}: measured at ${fmtLevel(at)}` +
    (at === x ? "." : ` (the nearest measured point; nothing was evaluated at ${fmtLevel(x)}).`);
  return p;
}

// One measured curve: its path (hover names it), a wide invisible stroke and a target on every measured
// point; hovering either names the curve and the measured point nearest the pointer, in the same words
// for every curve. attrs mark what it is (data-method, or data-control for a control's curve).
function drawCurve(svg, tip, pts, { X, Y, key, cls, name, what, attrs }) {
  const path = pts.map((p, i) => `${i ? "L" : "M"}${X(p.sparsity).toFixed(1)},${Y(p[key]).toFixed(1)}`).join("");
  const c = s("path", { d: path, class: cls, ...attrs });
  c.append(s("title", {}, name));
  const hit = s("path", { d: path, class: "curve-hit", ...attrs });
  const near = (ev) => {
    const x = tip.svgX(ev);
    return pts.reduce((b, p) => (Math.abs(X(p.sparsity) - x) < Math.abs(X(b.sparsity) - x) ? p : b));
  };
  const id = attrs["data-method"] || attrs["data-control"];
  const say = (p) => tip.show(X(p.sparsity), Y(p[key]), name, `${what(p[key])} measured at ${fmtLevel(p.sparsity)}`, id);
  hit.addEventListener("pointermove", (ev) => say(near(ev)));
  hit.addEventListener("pointerdown", (ev) => say(near(ev)));
  svg.append(c, hit);
  for (const p of pts) {
    const dot = s("circle", { cx: X(p.sparsity), cy: Y(p[key]), r: 6, class: "pt-hit", ...attrs, "data-sparsity": p.sparsity });
    dot.addEventListener("pointerenter", () => say(p));
    dot.addEventListener("pointerdown", () => say(p));
    svg.append(dot);
  }
}

// The control's measured points of the chart's quantity (SparseGPT's masks without its updates, beside
// SparseGPT): none when the method has no control.
function controlPoints(method, key, log) {
  return ((method.control || {}).curve || []).filter((p) => p[key] !== null && p[key] !== undefined && (!log || p[key] > 0));
}

// One small chart: all methods' curves faint, the chosen one bold, its control (if any) dashed beside it,
// marker at x. A hidden-unit method's x is the % of units removed (unit-eval results), not a weight
// sparsity: only curves of the same kind share its axes, since one x would mean two things otherwise.
export function chart(d, method, key, label, x, { log = false } = {}) {
  const W = 320, H = 170, L = 44, R = 18, T = 18, B = 30;
  const xname = method.units ? "the fraction of units removed" : "sparsity";
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img", "aria-label": `${label} against ${xname}`,
    "data-x": method.units ? "units" : "sparsity" });
  const methods = d.methods.filter((m) => !m.units === !method.units);
  const control = controlPoints(method, key, log);
  const all = methods.flatMap((m) => m.curve.map((p) => p[key]))
    .concat(control.map((p) => p[key]), key === "bleu" ? retrainedValues(method) : [])
    .filter((v) => v !== null && v !== undefined && (!log || v > 0));
  if (!all.length) {
    svg.append(s("text", { x: W / 2, y: H / 2, "text-anchor": "middle", class: "muted" }, "no study results in this export"));
    return svg;
  }
  const f = log ? Math.log : (v) => v;
  let lo = Math.min(...all.map(f)), hi = Math.max(...all.map(f));
  if (hi === lo) hi = lo + 1;
  const X = (v) => L + (v / 100) * (W - L - R), Y = (v) => T + (1 - (f(v) - lo) / (hi - lo)) * (H - T - B);
  svg.append(s("line", { x1: L, y1: H - B, x2: W - R, y2: H - B, class: "axis" }));
  svg.append(s("line", { x1: L, y1: T, x2: L, y2: H - B, class: "axis" }));
  for (const t of [0, 25, 50, 75, 100]) svg.append(s("text", { x: X(t), y: H - B + 14, "text-anchor": "middle", class: "tick" }, `${t}%`));
  const ticks = [lo, (lo + hi) / 2, hi].map((v) => (log ? Math.exp(v) : v));
  for (const v of ticks) svg.append(s("text", { x: L - 4, y: Y(v) + 4, "text-anchor": "end", class: "tick" }, v >= 100 ? v.toFixed(0) : v.toFixed(1)));
  svg.append(s("text", { x: L, y: 12, class: "tick" }, label + (log ? " (log scale)" : "") + (method.units ? " · x: units removed" : "")));
  const tip = hoverTip(svg, W, H);
  const what = (v) => `${label.split(" (")[0]} ${v.toFixed(key === "bleu" ? 2 : 1)}`;
  const at = { X, Y, key, what };
  for (const m of methods.filter((o) => o.id !== method.id)) {
    const pts = m.curve.filter((p) => p[key] !== null && (!log || p[key] > 0));
    if (pts.length) drawCurve(svg, tip, pts, { ...at, cls: "curve other", name: m.label, attrs: { "data-method": m.id } });
  }
  // the control under the chosen method, whose line and points lie over it and the grey ones
  if (control.length) {
    drawCurve(svg, tip, control, { ...at, cls: "curve control", name: `${method.control.label} (control)`,
      attrs: { "data-control": method.control.score } });
  }
  const own = method.curve.filter((p) => p[key] !== null && (!log || p[key] > 0));
  if (own.length) drawCurve(svg, tip, own, { ...at, cls: "curve current", name: method.label, attrs: { "data-method": method.id } });
  // a mouse that leaves takes the tip with it; a lifted finger leaves it, to be read
  svg.addEventListener("pointerleave", (ev) => { if (ev.pointerType === "mouse") tip.hide(); });
  if (key === "bleu") drawRetrained(svg, method, X, Y, tip);
  svg.append(s("line", { x1: X(x), y1: T, x2: X(x), y2: H - B, class: "marker-line" }));
  const pt = nearestMeasured(method.curve, key, x);
  if (!pt || (log && pt.value <= 0)) {
    svg.dataset.measured = "none";
    svg.append(s("text", { x: (L + W - R) / 2, y: (T + H - B) / 2, "text-anchor": "middle", class: "not-measured" }, "not measured"));
    tip.raise();
    return svg;
  }
  // the marker sits on a measured point (a vertex of the curve, on the axis scale the curve is drawn on)
  Object.assign(svg.dataset, { measured: String(pt.sparsity), value: String(pt.value) });
  const lx = Math.min(X(pt.sparsity) + 7, W - 90), ly = Math.max(Y(pt.value) - 7, T + 10);
  svg.append(s("circle", { cx: X(pt.sparsity), cy: Y(pt.value), r: 5, class: "marker" }));
  svg.append(s("text", { x: lx, y: ly, class: "marker-label" }, pt.value.toFixed(1)));
  svg.append(s("text", { x: lx, y: ly + 12, class: "marker-at" }, `measured at ${fmtLevel(pt.sparsity)}`));
  tip.raise();
  return svg;
}

// What the chart's lines and dots are: grey curves are the other methods (hover one for its name), a
// dashed one the method's control.
export function curveLegend(d, method) {
  const p = document.createElement("p");
  p.className = "legend";
  p.id = "curve-legend";
  const key = (cls, text) => { // one entry: its mark and its words, kept together when the line wraps
    const item = document.createElement("span"), k = document.createElement("span");
    item.className = "legend-item";
    k.className = cls;
    item.append(k, ` ${text}`);
    p.append(item);
  };
  key("key-line", `${method.label}, pruned only`);
  if (method.control && method.control.curve.length) key("key-line control", `${method.control.label} (control)`);
  const others = d.methods.filter((m) => !m.units === !method.units && m.id !== method.id && m.curve.length).length;
  if (others) key("key-line other", `the ${others} other method${others === 1 ? "" : "s"} (hover or tap any curve or dot for its method and value)`);
  (method.retrained || []).forEach((r, i) => key(`key-dot r${i % 3}`, `${r.label} (${r.study}): mean ± std over training seeds`));
  key("key-marker", "dashed vertical line: the slider; red dot: the measured point nearest it");
  return p;
}
