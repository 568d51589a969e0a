// Retraining results (export: method.retrained, results.dense_continued): BLEU after training under the
// mask, mean ± std over training seeds, drawn on the BLEU chart and read out at the slider's position.
// Only measured points: a position without a run says "not measured" and the sweep that would run it.
import { svgEl as s } from "./svg.js";
import { fmtLevel } from "./data.js";

const SHAPES = ["circle", "rect", "circle"]; // series 0, 1, 2 of one method (each its own colour too)
export const retrainedOf = (m) => m.retrained || [];

// The values a chart's axis must hold: every retrained mean ± std of the method.
export function retrainedValues(m) {
  return retrainedOf(m).flatMap((r) => r.points.flatMap((p) => (p.bleu === null ? [] :
    [p.bleu - (p.bleu_std || 0), p.bleu + (p.bleu_std || 0)])));
}

// Dots with ± std bars on the BLEU chart (X, Y: the chart's scales); tip: the chart's tooltip
// (curve.js hoverTip), which a hovered or tapped dot fills in the curves' words.
export function drawRetrained(svg, m, X, Y, tip = null) {
  retrainedOf(m).forEach((r, i) => {
    const g = s("g", { class: `retrained r${i % 3}`, "data-series": r.label });
    g.append(s("title", {}, `${m.label}, ${r.label} (${r.study})`));
    for (const p of r.points) {
      if (p.bleu === null) continue;
      const x = X(p.sparsity), sd = p.bleu_std || 0;
      if (sd) g.append(s("line", { x1: x, x2: x, y1: Y(p.bleu - sd), y2: Y(p.bleu + sd), class: "err" }));
      const dot = SHAPES[i % 3] === "circle" ? s("circle", { cx: x, cy: Y(p.bleu), r: 3.5, class: "dot" })
        : s("rect", { x: x - 3, y: Y(p.bleu) - 3, width: 6, height: 6, class: "dot" });
      if (tip) {
        const say = () => tip.show(x, Y(p.bleu), `${m.label}, ${r.label}`,
          `BLEU ${fmtBleu(p)} measured at ${fmtLevel(p.sparsity)}`, m.id);
        dot.addEventListener("pointerenter", say);
        dot.addEventListener("pointerdown", say);
      }
      g.append(dot);
    }
    svg.append(g);
  });
}

const fmtBleu = (p) => `${p.bleu.toFixed(2)}${p.bleu_std !== null && p.n > 1 ? ` ± ${p.bleu_std.toFixed(2)}` : ""}` +
  ` (${p.n} seed${p.n === 1 ? "" : "s"})`;

// The sweep cells that would retrain `m` at `x` % (cell ids: retrain_<score>[_<schedule>]_<selection>_s<pct>…).
export function retrainCommand(d, m, x, r) {
  // a score only another study measured (wanda, sparsegpt) is retrained by that study too
  const path = (r && r.study_path) || (!m.units && m.study_path) || d.results.study_path || "studies/STUDY.yaml";
  if (m.units) return `nmtprune sweep ${path} --only unit-retrain --match ${m.score.replace(/^units-/, "")}_${m.selection}_u${x}_`;
  const sched = r && r.schedule !== "one-shot" ? `${r.schedule}_` : "";
  return `nmtprune sweep ${path} --only ${r ? r.kind : "retrain"} --match ${m.score}_${sched}${m.selection}_s${x}_`;
}

function code(text) { const c = document.createElement("code"); c.textContent = text; return c; }

// The read-out: per series, the retrained BLEU at exactly x beside the dense model's, or "not measured".
export function retrainReadout(d, m, x) {
  const box = document.createElement("div");
  box.id = "retrain-readout";
  box.className = "readout small";
  const dense = (m.curve.find((p) => p.sparsity === 0) || {}).bleu;
  const denseTxt = dense === undefined || dense === null ? "dense: not measured" : `dense ${dense.toFixed(2)}`;
  const series = retrainedOf(m);
  if (!series.length) {
    box.dataset.measured = "none";
    box.append(`${m.label}: retraining not measured; the study results in this export have no retraining run of it. `,
      "Its study retrains it with ", code(retrainCommand(d, m, x, null)), " (once the study lists this method).");
    return box;
  }
  const what = m.units ? `${x} % of the units removed` : `${fmtLevel(x)} pruned`;
  for (const r of series) {
    const p = document.createElement("p");
    const pt = r.points.find((q) => q.sparsity === x && q.bleu !== null);
    p.dataset.series = r.label;
    if (pt) {
      p.dataset.measured = String(pt.sparsity);
      const dc = (d.results.dense_continued || {})[r.study];
      p.textContent = `${r.label}, ${what}: BLEU ${fmtBleu(pt)} beside ${denseTxt}` +
        (dc && dc.bleu !== null ? `; the dense model trained as long: ${fmtBleu(dc)}.` : ".") + ` Study ${r.study}.`;
    } else {
      p.dataset.measured = "none";
      p.className = "not-measured";
      const at = r.points.map((q) => fmtLevel(q.sparsity)).join(", ");
      p.append(`${r.label}, ${what}: not measured (study ${r.study} measured ${at}; move the slider there). `,
        "It would be measured by ", code(retrainCommand(d, m, x, r)), " (once the study lists this sparsity).");
    }
    box.append(p);
  }
  return box;
}
