// The read-out of one matrix cell: hover it, tap it, or focus a matrix (Tab) and move with the arrow
// keys. It says the weight's value, its score, its percentile among its class's scores and whether
// it is kept or pruned at the slider's sparsity, all from the export: the shown int8 weight, the
// method's pruned-at byte, and the score's cells (fetched the first time a read-out asks for them).
import { cellsOf, fmtLevel, prunedAt, weights } from "../data.js";

const fmtNum = (x) => (x === Infinity ? "+∞" : x === -Infinity ? "−∞" : Number.isNaN(x) ? "NaN"
  : x === 0 ? "0" : Math.abs(x) >= 1e4 || Math.abs(x) < 1e-3 ? x.toExponential(2) : x.toPrecision(3)).replaceAll("-", "−");

// The gate × input-kind block a shown cell lies in (LSTM matrices), or "".
function blockOf(p, r, c) {
  const b = p.blocks.find((x) => r >= x.r0 && r < x.r1 && c >= x.c0 && c < x.c1);
  return b ? b.name : "";
}

// What the cell says, as text plus data-* for readers and tests; `cells` may be null (not loaded yet,
// or a hidden-unit score, which scores whole units).
function describe(d, m, cls, p, i, s, cells, pending) {
  const r = Math.floor(i / p.cols), c = i % p.cols;
  const q = prunedAt(m, p.name)[i], pruned = q < s, w = (weights(p)[i] / 127) * p.scale;
  const block = blockOf(p, r, c);
  const units = !!m.units;
  const at = units ? `${s} % of the units removed` : `${s} %`;
  const first = q + 1 > d.levels.max ? `kept at every slider position` :
    `${units ? "its unit is removed" : "pruned"} from ${fmtLevel(q + 1)}${units ? " of the units removed" : ""} on`;
  const parts = [`${p.name}[${r * p.row_stride}, ${c * p.col_stride}]${block ? ` (${block})` : ""}`,
    `w ≈ ${fmtNum(w)}`];
  const data = { param: p.name, row: String(r), col: String(c), cell: String(i), q: String(q), state: pruned ? "pruned" : "kept" };
  const score = d.scoreByName.get(m.score);
  const own = cells && cells.get(p.name);
  if (own) {
    parts.push(`score ${score.symbol || m.score} = ${fmtNum(own.score[i])}`,
      `percentile ${own.pct[i]} in ${cls.name} (${own.pct[i]} % of its ${cls.size.toLocaleString("en-US")} weights score lower)`);
    data.score = String(own.score[i]);
    data.percentile = String(own.pct[i]);
  } else if (units) {
    parts.push("score: one per hidden unit, not per weight (see How it works)");
  } else {
    parts.push(pending ? "score: loading…" : "score: not in this export");
  }
  parts.push(`${pruned ? "PRUNED" : "KEPT"} at ${at} (${first})`);
  return { text: parts.join(" · "), data };
}

// Wires every matrix canvas under `node` (data-param) to one read-out paragraph, returned for the view to place.
export function cellReadout(d, m, cls, s, node) {
  const out = document.createElement("p");
  out.id = "cell-readout";
  out.className = "readout small cell-readout";
  out.setAttribute("aria-live", "polite");
  out.textContent = "Hover or tap a cell (or Tab to a matrix and use the arrow keys) for its value, score, rank and fate.";
  const byName = new Map(cls.params.map((p) => [p.name, p]));
  let cells = null, asked = false, last = null;
  const show = (p, i) => {
    last = { p, i };
    const { text, data } = describe(d, m, cls, p, i, s, cells, asked && !cells);
    out.textContent = text;
    for (const k of Object.keys(out.dataset)) delete out.dataset[k];
    Object.assign(out.dataset, data);
  };
  const ask = () => { // the score's cells: once, then the last read-out is redrawn with them
    if (asked || m.units) return;
    asked = true;
    cellsOf(d, m.score, cls.name).then((c) => { cells = c; if (last) show(last.p, last.i); })
      .catch((err) => { out.textContent = `Could not load the scores of ${cls.name}: ${err.message}`; });
  };
  for (const cv of node.querySelectorAll("canvas[data-param]")) {
    const p = byName.get(cv.dataset.param);
    if (!p) continue;
    const fig = cv.parentElement;
    const cursor = document.createElement("span");
    cursor.className = "cell-cursor";
    cursor.hidden = true;
    fig.append(cursor);
    let cur = 0;
    const place = (i) => { // the outline over the shown cell i, in the canvas's drawn (CSS) size
      const cw = cv.clientWidth / p.cols, ch = cv.clientHeight / p.rows;
      Object.assign(cursor.style, { left: `${cv.offsetLeft + cv.clientLeft + (i % p.cols) * cw}px`,
        top: `${cv.offsetTop + cv.clientTop + Math.floor(i / p.cols) * ch}px`, width: `${cw}px`, height: `${ch}px` });
      cursor.hidden = false;
      cur = i;
      ask();
      show(p, i);
    };
    const at = (ev) => {
      const b = cv.getBoundingClientRect();
      const c = Math.floor(((ev.clientX - b.left - cv.clientLeft) / cv.clientWidth) * p.cols);
      const r = Math.floor(((ev.clientY - b.top - cv.clientTop) / cv.clientHeight) * p.rows);
      if (r >= 0 && r < p.rows && c >= 0 && c < p.cols) place(r * p.cols + c);
    };
    cv.tabIndex = 0;
    cv.addEventListener("pointermove", at);
    cv.addEventListener("pointerdown", at); // a tap on a touch screen
    cv.addEventListener("pointerleave", () => { if (document.activeElement !== cv) cursor.hidden = true; });
    cv.addEventListener("focus", () => place(cur));
    cv.addEventListener("blur", () => { cursor.hidden = true; });
    cv.addEventListener("keydown", (ev) => {
      const r = Math.floor(cur / p.cols), c = cur % p.cols;
      const moves = new Map([["ArrowLeft", [r, c - 1]], ["ArrowRight", [r, c + 1]], ["ArrowUp", [r - 1, c]], ["ArrowDown", [r + 1, c]]]);
      if (!moves.has(ev.key)) return;
      const next = moves.get(ev.key);
      ev.preventDefault(); // the arrows move the cell, not the page
      const [nr, nc] = [Math.max(0, Math.min(p.rows - 1, next[0])), Math.max(0, Math.min(p.cols - 1, next[1]))];
      place(nr * p.cols + nc);
    });
  }
  return out;
}
