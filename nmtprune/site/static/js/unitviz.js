// The hidden-unit method's pictures (export: method.units, nmtprune/site/units.py): the units each
// layer keeps at the slider's fraction f, and the parameter count of the physically shrunk model
// against f. The slider of a unit method is f, the share of the hidden units removed (of every
// layer per-layer, of all layers together globally).
import { fmtInt, fmtPct } from "./data.js";
import { hoverTip, pointTargets, svgEl as s } from "./svg.js";

// One bar per unit group: kept units out of its size at level f (tied members share one bar).
export function unitBars(m, f) {
  const box = document.createElement("div");
  box.className = "unit-bars";
  const read = document.createElement("p");
  read.className = "readout";
  read.id = "units-readout";
  const kept = m.units.groups.reduce((a, g) => a + g.kept[f], 0), all = m.units.groups.reduce((a, g) => a + g.size, 0);
  read.dataset.kept = String(kept);
  read.textContent = `At f = ${f} %: ${fmtInt(kept)} of ${fmtInt(all)} hidden units kept.` + (f > m.units.limit
    ? ` ${m.selection} selection cannot go past ${m.units.limit} % (it would empty a layer): held there.` : "");
  box.append(read);
  for (const g of m.units.groups) {
    const row = document.createElement("div");
    row.className = "bar-row unit-row";
    const lab = document.createElement("span");
    lab.textContent = g.members.join(" + ");
    const bar = document.createElement("span");
    bar.className = "bar";
    const fill = document.createElement("span");
    fill.className = "bar-fill kept-fill";
    fill.style.width = `${(100 * g.kept[f]) / g.size}%`;
    bar.append(fill);
    const v = document.createElement("span");
    v.textContent = `${g.kept[f]} / ${g.size}`;
    row.append(lab, bar, v);
    box.append(row);
  }
  return box;
}

// The shrunk model's parameter count against f (0..98 %), with a marker at the slider.
export function shrinkChart(m, f, width) {
  const box = document.createElement("div");
  const u = m.units, n = u.params[f];
  const read = document.createElement("p");
  read.className = "readout";
  read.id = "shrink-readout";
  read.dataset.params = String(n);
  read.textContent = `At f = ${f} %: ${fmtInt(n)} parameters, ${fmtPct(n / u.dense_params)} of the dense ` +
    `${fmtInt(u.dense_params)} (${fmtPct(1 - n / u.dense_params)} smaller).`;
  const W = Math.max(280, Math.min(width, 640)), H = 200, L = 64, R = 16, T = 16, B = 30;
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart shrink-chart", role: "img",
    "aria-label": "parameter count against the fraction of units removed" });
  const hi = u.dense_params, last = u.params.length - 1;
  const X = (lv) => L + (lv / last) * (W - L - R), Y = (v) => T + (1 - v / hi) * (H - T - B);
  svg.append(s("line", { x1: L, y1: H - B, x2: W - R, y2: H - B, class: "axis" }));
  svg.append(s("line", { x1: L, y1: T, x2: L, y2: H - B, class: "axis" }));
  for (const t of [0, 25, 50, 75, last]) svg.append(s("text", { x: X(t), y: H - B + 14, "text-anchor": "middle", class: "tick" }, `${t}%`));
  for (const v of [0, hi / 2, hi]) svg.append(s("text", { x: L - 4, y: Y(v) + 4, "text-anchor": "end", class: "tick" }, fmtInt(v)));
  svg.append(s("text", { x: L, y: 11, class: "tick" }, "parameters of the shrunk model (units removed →)"));
  svg.append(s("path", { d: u.params.map((v, i) => `${i ? "L" : "M"}${X(i).toFixed(1)},${Y(v).toFixed(1)}`).join(""), class: "curve current" }));
  svg.append(s("line", { x1: X(f), y1: T, x2: X(f), y2: H - B, class: "marker-line" }));
  svg.append(s("circle", { cx: X(f), cy: Y(n), r: 5, class: "marker" }));
  const tip = hoverTip(svg, W, H); // every level answers a hover or a tap, as the study curves do
  pointTargets(svg, tip, u.params.map((v, i) => ({ x: X(i), y: Y(v), who: `${m.label}: the shrunk model`,
    what: `${fmtInt(v)} parameters at ${i} % of the units removed` })));
  tip.raise();
  box.append(read, svg, unitBars(m, f));
  return box;
}
