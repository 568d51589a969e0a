// Canvas heat maps of the real (strided-subsampled) weights, with pruned cells in a distinct colour.
// One panel per parameter; LSTM panels get gate × input-kind block outlines and labels.
import { weights, prunedAt } from "./data.js";

export const PRUNED = [24, 24, 24];        // pruned weights: near-black, far from every heat-map colour
export const ONLY_A = [230, 97, 0];        // compare view: pruned by A only (orange)
export const ONLY_B = [93, 58, 155];       // compare view: pruned by B only (purple)

// Diverging red (positive) / blue (negative) on white; sqrt boosts small weights so structure shows.
// A colour legend: items are [swatch CSS class, label] pairs.
export function legend(items) {
  const p = document.createElement("p");
  p.className = "legend";
  for (const [c, t] of items) {
    const item = document.createElement("span"); // a swatch and its words stay together when the line wraps
    item.className = "legend-item";
    const sw = document.createElement("span");
    sw.className = `swatch ${c}`;
    const lab = document.createElement("span");
    lab.textContent = t;
    item.append(sw, lab);
    p.append(item);
  }
  return p;
}

export function heat(v) {
  const a = Math.sqrt(Math.min(1, Math.abs(v)));
  const lo = Math.round(255 * (1 - 0.85 * a));
  return v >= 0 ? [255, lo, lo] : [lo, lo, 255];
}

// Integer zoom (crisp pixels) so that a class's panels fit side by side and stay under ~540px tall.
function pixelScale(p, maxWidth, maxHeight = 540) {
  return Math.max(1, Math.min(6, Math.floor(maxWidth / p.cols), Math.floor(maxHeight / p.rows)));
}

// Width available to each of a class's panels in a container of the given width.
export function panelWidth(cls, width) {
  return Math.floor((width - 12 * (cls.params.length - 1)) / cls.params.length);
}

// Draws one parameter (or anything with rows, cols, blocks); colorOf(i) returns an [r,g,b] for
// shown cell i. Returns the canvas. Also used by the retraining frames (training.js).
export function drawPanel(p, colorOf, maxWidth) {
  const k = pixelScale(p, maxWidth);
  const img = new ImageData(p.cols, p.rows);
  for (let i = 0, n = p.rows * p.cols; i < n; i++) {
    const c = colorOf(i);
    img.data[4 * i] = c[0]; img.data[4 * i + 1] = c[1]; img.data[4 * i + 2] = c[2]; img.data[4 * i + 3] = 255;
  }
  const src = document.createElement("canvas");
  src.width = p.cols; src.height = p.rows;
  src.getContext("2d").putImageData(img, 0, 0);
  const cv = document.createElement("canvas");
  cv.width = p.cols * k; cv.height = p.rows * k;
  const g = cv.getContext("2d");
  g.imageSmoothingEnabled = false;
  g.drawImage(src, 0, 0, cv.width, cv.height);
  g.strokeStyle = "rgba(0,0,0,0.55)";
  g.lineWidth = 1;
  g.font = `${Math.max(10, Math.min(13, 4 * k + 4))}px system-ui, sans-serif`;
  for (const b of p.blocks) {
    g.strokeRect(b.c0 * k + 0.5, b.r0 * k + 0.5, (b.c1 - b.c0) * k - 1, (b.r1 - b.r0) * k - 1);
    const label = b.name.replace(".input", " · in").replace(".recurrent", " · rec").replace(".feed", " · feed");
    const w = g.measureText(label).width + 6;
    g.fillStyle = "rgba(255,255,255,0.8)";
    g.fillRect(b.c0 * k + 2, b.r0 * k + 2, w, 15);
    g.fillStyle = "#000";
    g.fillText(label, b.c0 * k + 5, b.r0 * k + 13);
  }
  cv.className = "matrix-canvas";
  cv.setAttribute("role", "img");
  cv.setAttribute("aria-label", `matrix ${p.name || p.param || ""}: ${p.rows} × ${p.cols} shown weights` +
    (p.blocks.length ? `, blocks ${p.blocks.map((b) => b.name).join(", ")}` : ""));
  return cv;
}

// A canvas with its caption: the matrix's name and what is shown, or (short) just `caption`, for
// rows of panels of one matrix that name it once (compare view).
export function panel(p, canvas, caption, short = false) {
  const fig = document.createElement("figure");
  fig.className = "panel";
  fig.style.width = `${Math.max(canvas.width + 2, short ? 150 : 0)}px`; // the caption wraps to the canvas's width
  const cap = document.createElement("figcaption");
  const name = document.createElement("b");
  name.textContent = short ? caption.split(":")[0] : p.name;
  const rule = document.createElement("span");
  rule.className = "rule";
  rule.textContent = short ? caption.slice(caption.indexOf(":")) :
    ` ${p.shape.join("×")} · shown: ${p.rule} (${p.rows}×${p.cols} cells)` + (caption ? ` · ${caption}` : "");
  cap.append(name, rule);
  fig.append(canvas, cap);
  return fig;
}

// The masks of one method at sparsity s over all params of a class; returns {node, pruned, shown}.
export function classMatrix(cls, method, s, maxWidth = 360) {
  const wrap = document.createElement("div");
  wrap.className = "panels";
  let pruned = 0, shown = 0;
  for (const p of cls.params) {
    const w = weights(p), q = prunedAt(method, p.name);
    let np = 0;
    const cv = drawPanel(p, (i) => {
      if (q[i] < s) { np++; return PRUNED; }
      return heat(w[i] / 127);
    }, maxWidth);
    pruned += np; shown += p.rows * p.cols;
    cv.dataset.pruned = String(np);
    cv.dataset.param = p.name; // which matrix a cell read-out (views/cells.js) reads
    wrap.append(panel(p, cv, `${np.toLocaleString("en-US")} shown cells pruned`));
  }
  return { node: wrap, pruned, shown };
}

// Two methods' masks on one class, side by side: per parameter, A's mask, B's mask and where they
// differ (pruned by A only / by B only / by both). Returns {node, counts} over all shown cells.
export function compareMatrix(cls, a, b, s, maxWidth = 360) {
  const wrap = document.createElement("div");
  wrap.className = "compare-panels";
  const n = { both: 0, onlyA: 0, onlyB: 0, neither: 0 };
  for (const p of cls.params) {
    const w = weights(p), qa = prunedAt(a, p.name), qb = prunedAt(b, p.name);
    const title = document.createElement("p");
    title.className = "panel-title";
    const nm = document.createElement("b");
    nm.textContent = p.name;
    title.append(nm, ` ${p.shape.join("×")} · shown: ${p.rule} (${p.rows}×${p.cols} cells)`);
    const row = document.createElement("div");
    row.className = "panels";
    const own = (q) => drawPanel(p, (i) => (q[i] < s ? PRUNED : heat(w[i] / 127)), maxWidth);
    const cn = { both: 0, onlyA: 0, onlyB: 0, neither: 0 };
    const diff = drawPanel(p, (i) => {
      const pa = qa[i] < s, pb = qb[i] < s;
      if (pa && pb) { cn.both++; return PRUNED; }
      if (pa) { cn.onlyA++; return ONLY_A; }
      if (pb) { cn.onlyB++; return ONLY_B; }
      cn.neither++;
      const h = heat(w[i] / 127);
      return h.map((x) => Math.round(200 + x * 0.2)); // kept by both: faded, so the differences stand out
    }, maxWidth);
    for (const k of Object.keys(n)) n[k] += cn[k];
    diff.dataset.onlyA = String(cn.onlyA); diff.dataset.onlyB = String(cn.onlyB);
    const f = (x) => x.toLocaleString("en-US");
    row.append(panel(p, own(qa), `A: ${f(cn.both + cn.onlyA)} pruned`, true),
      panel(p, own(qb), `B: ${f(cn.both + cn.onlyB)} pruned`, true),
      panel(p, diff, `A vs B: differ in ${f(cn.onlyA + cn.onlyB)} (A only ${f(cn.onlyA)}, B only ${f(cn.onlyB)})`, true));
    row.lastChild.classList.add("diff-panel");
    wrap.append(title, row);
  }
  return { node: wrap, counts: n };
}
