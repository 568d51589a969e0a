// View 1, the opening view: the model drawn as encoder, attention and decoder with every weight class
// in its place (diagram.js; a class opens its matrices), what pruning is and what See et al. found
// with this model's numbers (teach.js), then every weight class as a tile whose area is its parameter
// count (squarified treemap), filled from the bottom by the fraction the chosen method prunes.
import { href, state } from "../state.js";
import { fmtInt, fmtPct, methodOf } from "../data.js";
import { legend } from "../matrix.js";
import { modelDiagram } from "./diagram.js";
import { teachText } from "./teach.js";

// Squarified treemap (Bruls et al. 2000): rows of tiles laid along the short side, keeping aspect ratios near 1.
function squarify(items, x, y, w, h) {
  const out = [];
  let rest = items.slice();
  while (rest.length) {
    const total = rest.reduce((a, it) => a + it.value, 0);
    const short = Math.min(w, h), area = w * h;
    let row = [], best = Infinity;
    for (const it of rest) {
      const cand = [...row, it];
      const sum = cand.reduce((a, c) => a + (c.value / total) * area, 0);
      const side = sum / short;
      const worst = Math.max(...cand.map((c) => { const l = (c.value / total) * area / side; return Math.max(side / l, l / side); }));
      if (worst > best) break;
      best = worst; row = cand;
    }
    const sum = row.reduce((a, c) => a + (c.value / total) * area, 0);
    const side = sum / short;
    let off = 0;
    for (const c of row) {
      const len = (c.value / total) * area / side;
      out.push(w >= h ? { item: c, x, y: y + off, w: side, h: len } : { item: c, x: x + off, y, w: len, h: side });
      off += len;
    }
    if (w >= h) { x += side; w -= side; } else { y += side; h -= side; }
    rest = rest.slice(row.length);
  }
  return out;
}

export function renderModel(d, root) {
  const m = methodOf(d, state.score, state.sel);
  const intro = document.createElement("p");
  intro.className = "lead";
  intro.textContent = `${d.model.corpus} (${d.model.langs.join("→")}), ${d.model.arch.enc_layers}+${d.model.arch.dec_layers}-layer LSTM, ` +
    `${fmtInt(d.model.total)} prunable weights in ${d.classes.length} classes (See et al. 2016). Click a class in the ` +
    "picture, or a tile below, to open its matrices.";
  // the picture beside the words where both fit, above them otherwise
  const width = root.clientWidth || 800, side = width >= 1080;
  const top = document.createElement("div");
  top.className = "teach-grid" + (side ? " side" : "");
  const fig = document.createElement("figure");
  fig.className = "diagram-fig";
  fig.append(modelDiagram(d, m, side ? Math.min(760, Math.floor(width * 0.6)) : width),
    legend([["emb", "embedding"], ["lstm", "LSTM layer"], ["att", "attention"], ["softmax", "softmax"],
      ["pruned", `share of the class pruned by ${m.label} at ${state.s} %`]]));
  top.append(fig, teachText(d));
  const sizes = document.createElement("h2");
  sizes.textContent = "Where the weights are";
  const mapKey = legend([["tile-key", "a class: area ∝ its weights"], ["pruned", `its share pruned by ${m.label} at ${state.s} %`]]);
  const map = document.createElement("div");
  map.className = "treemap";
  map.id = "treemap";
  const cmp = document.createElement("a");
  cmp.href = href({ view: "compare" });
  cmp.textContent = `Where do ${m.label} and ${d.methodById.get(state.cmp).label} disagree? Compare →`;
  const links = document.createElement("p");
  links.className = "links";
  links.append(cmp);
  root.append(intro, top, sizes, mapKey, map, links);
  const W = map.clientWidth || 800, H = map.clientHeight || 500;
  const tiles = squarify(d.classes.map((c) => ({ value: c.size, cls: c })), 0, 0, W, H);
  for (const t of tiles) {
    const c = t.item.cls;
    const frac = m.class_sparsity[c.name][state.s];
    const a = document.createElement("a");
    a.className = "tile" + (c.name === state.cls ? " chosen" : "");
    a.href = href({ view: "matrix", cls: c.name });
    a.dataset.cls = c.name;
    Object.assign(a.style, { left: `${(100 * t.x) / W}%`, top: `${(100 * t.y) / H}%`, width: `${(100 * t.w) / W}%`, height: `${(100 * t.h) / H}%` });
    const fill = document.createElement("span");
    fill.className = "fill";
    fill.style.height = `${100 * frac}%`;
    const name = document.createElement("b");
    name.textContent = c.name;
    const info = document.createElement("span");
    info.className = "tile-info";
    info.textContent = `${c.paper} · ${fmtInt(c.size)} (${fmtPct(c.size / d.model.total)}) · pruned ${fmtPct(frac)}`;
    a.append(fill, name, info);
    a.title = info.textContent;
    map.append(a);
  }
}
