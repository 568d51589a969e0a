// View 4, compare: two methods at the same sparsity on the same class, side by side: A's mask, B's
// mask, and the cells where they differ (pruned by A only / B only / both), with counts. A is the
// method of the global controls, B the one picked here; both, the class and s live in the URL.
import { href, set, state } from "../state.js";
import { fmtInt, fmtPct, methodOf } from "../data.js";
import { compareMatrix, legend } from "../matrix.js";
import { option } from "../controls.js";

function link(text, patch, id) {
  const a = document.createElement("a");
  a.href = href(patch);
  a.textContent = text;
  if (id) a.id = id;
  return a;
}

export function renderCompare(d, root) {
  const a = methodOf(d, state.score, state.sel), b = d.methodById.get(state.cmp);
  const cls = d.classByName.get(state.cls);
  const bar = document.createElement("div");
  bar.className = "compare-bar";
  const la = document.createElement("span");
  la.textContent = `A = ${a.label} (the controls above)  vs  B =`;
  const pick = document.createElement("select");
  pick.id = "cmp";
  pick.setAttribute("aria-label", "method B");
  for (const m of d.methods) if (m.id !== a.id) pick.append(option(m.id, m.label));
  pick.value = b.id;
  pick.addEventListener("change", () => set({ cmp: pick.value }));
  const clsPick = document.createElement("select");
  clsPick.id = "cmp-cls";
  clsPick.setAttribute("aria-label", "weight class");
  for (const c of d.classes) clsPick.append(option(c.name, c.name));
  clsPick.value = cls.name;
  clsPick.addEventListener("change", () => set({ cls: clsPick.value }));
  const swap = document.createElement("button");
  swap.id = "cmp-swap";
  swap.textContent = "⇄ swap A and B";
  swap.addEventListener("click", () => set({ score: b.score, sel: b.selection, cmp: a.id }));
  bar.append(la, pick, document.createTextNode(" class "), clsPick, swap);

  const width = root.clientWidth || 900;
  const each = Math.max(120, Math.floor((width - 24) / 3)); // A, B and the difference in one row
  const { node, counts } = compareMatrix(cls, a, b, state.s, each);
  const total = counts.both + counts.onlyA + counts.onlyB + counts.neither;
  const read = document.createElement("p");
  read.id = "compare-readout";
  read.className = "readout";
  Object.assign(read.dataset, { both: counts.both, onlyA: counts.onlyA, onlyB: counts.onlyB, neither: counts.neither });
  read.textContent = `At ${state.s} % on ${cls.name}: the masks differ in ${fmtInt(counts.onlyA + counts.onlyB)} of ` +
    `${fmtInt(total)} shown cells (only A prunes ${fmtInt(counts.onlyA)}, only B ${fmtInt(counts.onlyB)}); both prune ` +
    `${fmtInt(counts.both)}, both keep ${fmtInt(counts.neither)}: they agree on ${fmtPct((counts.both + counts.neither) / total)}.`;
  const key = legend([["pruned", "pruned by both"], ["only-a", "only A"], ["only-b", "only B"], ["kept", "kept by both"]]);
  const cap = document.createElement("p");
  cap.className = "muted small";
  cap.textContent = "Per matrix: A's mask, B's mask, and their difference. Counts are over the shown cells (a strided " +
    "subsample of real weights); the table gives each whole class.";

  const table = document.createElement("table");
  table.className = "cmp-table";
  const head = table.insertRow();
  for (const t of ["class", "A pruned", "B pruned", "B − A"]) { const th = document.createElement("th"); th.textContent = t; head.append(th); }
  for (const c of d.classes) {
    const sa = a.class_sparsity[c.name][state.s], sb = b.class_sparsity[c.name][state.s];
    const r = table.insertRow();
    if (c.name === cls.name) r.className = "chosen";
    for (const t of [c.name, fmtPct(sa), fmtPct(sb), `${sb >= sa ? "+" : "−"}${fmtPct(Math.abs(sb - sa))}`]) r.insertCell().textContent = t;
  }
  const links = document.createElement("p");
  links.className = "links";
  links.append(link(`A in the matrix view →`, { view: "matrix" }), " · ",
    link(`How does B choose? →`, { view: "how", score: b.score, sel: b.selection, step: 0 }, "cmp-how-b"));
  root.append(bar, read, key, node, cap, table, links);
}
