// View 5, compare: two methods at the same sparsity on the same class: where do their masks differ?
import { set, state } from "../state.js";
import { fmtInt, fmtPct, methodOf } from "../data.js";
import { compareMatrix, legend, panelWidth } from "../matrix.js";
import { option } from "../controls.js";
import { leftWidth } from "./matrix.js";

export function renderCompare(d, root) {
  const a = methodOf(d, state.score, state.sel), b = d.methodById[state.cmp];
  const cls = d.classByName[state.cls];
  const bar = document.createElement("div");
  bar.className = "compare-bar";
  const la = document.createElement("span");
  la.textContent = `A = ${a.label} (the controls above)   vs   B = `;
  const pick = document.createElement("select");
  pick.id = "cmp";
  for (const m of d.methods) pick.append(option(m.id, m.label));
  pick.value = b.id;
  pick.addEventListener("change", () => set({ cmp: pick.value }));
  const clsPick = document.createElement("select");
  clsPick.id = "cmp-cls";
  for (const c of d.classes) clsPick.append(option(c.name, c.name));
  clsPick.value = cls.name;
  clsPick.addEventListener("change", () => set({ cls: clsPick.value }));
  bar.append(la, pick, document.createTextNode("  class "), clsPick);
  const { node, counts } = compareMatrix(cls, a, b, state.s, panelWidth(cls, leftWidth(root)));
  const total = counts.both + counts.onlyA + counts.onlyB + counts.neither;
  const read = document.createElement("p");
  read.id = "compare-readout";
  read.className = "readout";
  read.textContent = `At ${state.s} % on ${cls.name}: both prune ${fmtInt(counts.both)}, only A ${fmtInt(counts.onlyA)}, ` +
    `only B ${fmtInt(counts.onlyB)}, both keep ${fmtInt(counts.neither)}; the masks agree on ${fmtPct((counts.both + counts.neither) / total)} of shown cells.`;
  const key = legend([["pruned", "pruned by both"], ["only-a", "only A"], ["only-b", "only B"], ["kept", "kept by both"]]);
  const table = document.createElement("table");
  table.className = "cmp-table";
  const head = table.insertRow();
  for (const t of ["class", "A pruned", "B pruned"]) { const th = document.createElement("th"); th.textContent = t; head.append(th); }
  for (const c of d.classes) {
    const r = table.insertRow();
    for (const t of [c.name, fmtPct(a.class_sparsity[c.name][state.s]), fmtPct(b.class_sparsity[c.name][state.s])]) r.insertCell().textContent = t;
  }
  const grid = document.createElement("div");
  grid.className = "two-col";
  const left = document.createElement("div");
  left.append(read, key, node);
  const right = document.createElement("div");
  right.append(table);
  grid.append(left, right);
  root.append(bar, grid);
}
