// BLEU and perplexity against sparsity from the study's results, with a marker at the slider's sparsity.
import { svgEl as s } from "./svg.js";

// Linear interpolation between measured points; null outside the measured range.
export function interp(points, key, x) {
  const pts = points.filter((p) => p[key] !== null && p[key] !== undefined);
  for (let i = 0; i + 1 < pts.length; i++) {
    const a = pts[i], b = pts[i + 1];
    if (x >= a.sparsity && x <= b.sparsity) {
      const t = b.sparsity === a.sparsity ? 0 : (x - a.sparsity) / (b.sparsity - a.sparsity);
      return a[key] + t * (b[key] - a[key]);
    }
  }
  return pts.length === 1 && pts[0].sparsity === x ? pts[0][key] : null;
}

// One small chart: all methods' curves faint, the chosen one bold, marker at x. A hidden-unit method's
// x is the % of units removed (unit-eval results), not a weight sparsity: only curves of the same kind
// share its axes, since one x would mean two things otherwise.
export function chart(d, method, key, label, x, { log = false } = {}) {
  const W = 320, H = 170, L = 44, R = 18, T = 18, B = 30;
  const xname = method.units ? "the fraction of units removed" : "sparsity";
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img", "aria-label": `${label} against ${xname}`,
    "data-x": method.units ? "units" : "sparsity" });
  const methods = d.methods.filter((m) => !m.units === !method.units);
  const all = methods.flatMap((m) => m.curve.map((p) => p[key])).filter((v) => v !== null && v !== undefined && (!log || v > 0));
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
  for (const m of methods) {
    const pts = m.curve.filter((p) => p[key] !== null && (!log || p[key] > 0));
    if (!pts.length) continue;
    const path = pts.map((p, i) => `${i ? "L" : "M"}${X(p.sparsity).toFixed(1)},${Y(p[key]).toFixed(1)}`).join("");
    svg.append(s("path", { d: path, class: m.id === method.id ? "curve current" : "curve other" }));
  }
  svg.append(s("line", { x1: X(x), y1: T, x2: X(x), y2: H - B, class: "marker-line" }));
  const y = interp(method.curve, key, x);
  if (y !== null && (!log || y > 0)) {
    svg.append(s("circle", { cx: X(x), cy: Y(y), r: 5, class: "marker" }));
    svg.append(s("text", { x: Math.min(X(x) + 7, W - 60), y: Math.max(Y(y) - 7, T + 10), class: "marker-label" }, y.toFixed(1)));
  }
  return svg;
}
