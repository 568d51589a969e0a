// Views 2 + 3: the chosen class's real matrices with the mask at the slider's sparsity, the
// BLEU/perplexity curves with a marker on the measured point nearest the slider, and sample translations.
import { href, state } from "../state.js";
import { PRUNED_RULE, fmtInt, fmtPct, methodOf, sampleAt } from "../data.js";
import { classMatrix, legend, panelWidth } from "../matrix.js";
import { chart, curveLegend, curveReadout } from "../curve.js";
import { retrainReadout } from "../retrained.js";
import { cellReadout } from "./cells.js";

function classTabs(d) {
  const nav = document.createElement("nav");
  nav.className = "class-tabs";
  nav.setAttribute("aria-label", "weight class");
  for (const c of d.classes) {
    const a = document.createElement("a");
    a.href = href({ cls: c.name });
    a.textContent = c.name;
    if (c.name === state.cls) a.setAttribute("aria-current", "true");
    nav.append(a);
  }
  return nav;
}

export function samplesTable(d, m) {
  const box = document.createElement("section");
  box.className = "samples";
  if (!m.samples.length && m.samples_note) { // a method whose translations the site cannot honestly show
    const p = document.createElement("p");
    p.className = "muted samples-note";
    p.textContent = m.samples_note;
    box.append(p);
    return box;
  }
  const smp = sampleAt(m, state.s);
  const h = document.createElement("h3");
  h.textContent = `Translations at ${smp ? smp.level : 0} % (greedy; ${d.samples.corpus} ${d.samples.split})`;
  box.append(h);
  d.samples.sources.forEach((src, i) => {
    const div = document.createElement("div");
    div.className = "sample";
    for (const [cls, label, text] of [["src", "source", src], ["ref", "reference", d.samples.references[i]],
      ["hyp", `pruned ${smp ? smp.level : 0} %`, smp ? smp.hyps[i] : ""]]) {
      const p = document.createElement("p");
      p.className = cls;
      const tag = document.createElement("span");
      tag.className = "tag";
      tag.textContent = label;
      const t = document.createElement("span");
      t.className = "text";
      t.textContent = text; // model output is data: textContent, never innerHTML
      p.append(tag, t);
      div.append(p);
    }
    box.append(div);
  });
  return box;
}

// The left column's width: the whole view on phones, 1.35 of 2.35 parts from 900px (see site.css).
export function leftWidth(root) {
  const w = root.clientWidth || 800;
  return w >= 900 ? Math.floor((w - 16) * 1.35 / 2.35) : w;
}

export function renderMatrix(d, root) {
  const m = methodOf(d, state.score, state.sel);
  const cls = d.classByName.get(state.cls);
  const grid = document.createElement("div");
  grid.className = "two-col";
  const left = document.createElement("div");
  const { node, pruned, shown } = classMatrix(cls, m, state.s, panelWidth(cls, leftWidth(root)));
  const read = document.createElement("p");
  read.id = "matrix-readout";
  read.className = "readout";
  read.dataset.pruned = String(pruned);
  // a hidden-unit method's slider is the share of units removed, not a weight sparsity
  const at = !m.units ? `at ${state.s} %` : m.units.scope === "global"
    ? `removing ${state.s} % of all hidden units` : `removing ${state.s} % of every layer's units`;
  read.textContent = `${m.label} ${at}: ${fmtInt(pruned)} of ${fmtInt(shown)} shown cells of ${cls.name} pruned ` +
    `(${fmtPct(pruned / shown)}; whole class: ${fmtPct(m.class_sparsity[cls.name][state.s])}).`;
  const key = legend([["pos", "positive weight"], ["neg", "negative weight"], ["pruned", "pruned"]]);
  const rule = document.createElement("p");
  rule.className = "muted small";
  rule.textContent = `Each cell is one real weight (strided subsample, no averaging; colour ∝ √|w|). ${PRUNED_RULE}. ` +
    "LSTM matrices: rows are the gates i, f, g (cell input ĥ), o; columns the input (and input-feeding) and recurrent weights.";
  left.append(classTabs(d), read);
  if (m.matrix_note) { // a method that changes the surviving weights: these cells are not its result
    const note = document.createElement("p");
    note.id = "matrix-note";
    note.className = "note small";
    note.textContent = m.matrix_note;
    left.append(note);
  }
  left.append(key, cellReadout(d, m, cls, state.s, node), node, rule);
  const right = document.createElement("div");
  const how = document.createElement("p");
  how.className = "links";
  const a1 = document.createElement("a");
  a1.href = href({ view: "how", step: 0 });
  a1.textContent = `How does ${m.label} choose? →`;
  const a2 = document.createElement("a");
  a2.href = href({ view: "compare" });
  a2.id = "link-compare";
  a2.textContent = `Compare with ${d.methodById.get(state.cmp).label} →`;
  how.append(a1, " · ", a2);
  right.append(chart(d, m, "bleu", d.results.bleu || "BLEU", state.s),
    chart(d, m, "ppl", "perplexity", state.s, { log: true }), curveLegend(d, m), curveReadout(d, m, state.s),
    retrainReadout(d, m, state.s));
  if (d.results.source && !d.results.matched_model) {
    const warn = document.createElement("p");
    warn.className = "muted small";
    warn.textContent = "Curves come from results of another checkpoint than the exported weights.";
    right.append(warn);
  }
  right.append(samplesTable(d, m), how);
  grid.append(left, right);
  root.append(grid);
}
