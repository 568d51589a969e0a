// One histogram of scores on a canvas: bars on a sqrt height scale (the long tail stays visible),
// pruned weights dark, kept ones light, and the threshold as a red line.
//
// A log-binned histogram (hist.log: lo/hi are log10 bounds) draws the scores ≤ 0, which have no
// log, as a bar of their own left of the axis, labelled 0: they are the first to go.
//
// Shading: a pooled weight selection prunes each class's lowest scores (a class's order is its score
// order under class-blind, class-uniform and class-distribution), so given the number pruned in a class,
// each bar's pruned share is exact: fill the bars from the left with that count. Per-row cuts every row
// on its own, so its counts per bar come from the export (howviz.js, rowPruned). Without counts
// (hidden-unit groups) a bar is split where the threshold crosses it. The canvas's data-* attributes say what was drawn, for tests and readers.
export const DARK = "#181818", LIGHT = "#8fb3d9", LINE = "#d7191c";

// Pruned weights per bar when the `k` lowest of these bars' weights are pruned: {zeros, bins}.
export function fillFromLeft(counts, zeros, k) {
  let left = Math.max(0, Math.round(k));
  const z = Math.min(zeros, left);
  left -= z;
  const bins = counts.map((c) => { const p = Math.min(c, left); left -= p; return p; });
  return { zeros: z, bins };
}

// Adds per-bar pruned counts (one class's fillFromLeft) into a running sum.
export function addPruned(sum, part) {
  if (!sum) return { zeros: part.zeros, bins: part.bins.slice() };
  sum.zeros += part.zeros;
  part.bins.forEach((p, i) => { sum.bins[i] += p; });
  return sum;
}

// counts: per bin on hist's axis; zeros: scores ≤ 0 (log axis only); pruned: fillFromLeft's result or
// null (then the threshold splits the bars); threshold in score units (null: no cut shown).
export function histCanvas({ counts, zeros = 0, pruned = null }, hist, threshold, title, w, h) {
  const cv = document.createElement("canvas");
  const dpr = window.devicePixelRatio || 1;
  cv.width = w * dpr; cv.height = h * dpr;
  cv.style.width = `${w}px`; cv.style.height = `${h}px`;
  cv.setAttribute("role", "img");
  cv.setAttribute("aria-label", `histogram: ${title}`);
  const g = cv.getContext("2d");
  g.scale(dpr, dpr);
  const log = !!hist.log, n = counts.length;
  const zw = log ? Math.max(8, w / (n + 2)) : 0; // the zero bar's width, plus a gap as wide as a third of it
  const x0 = log ? zw * 1.33 : 0, aw = w - x0; // the axis: from x0 to w
  const T = 18, B = 16, max = Math.max(1, zeros, ...counts);
  const bw = aw / n, binw = (hist.hi - hist.lo) / n;
  const height = (c) => (Math.sqrt(c) / Math.sqrt(max)) * (h - T - B);
  const at = threshold === null ? null : log ? (threshold > 0 ? Math.log10(threshold) : -Infinity) : threshold;
  let dark = 0, bars = 0, prunedSum = 0;
  const bar = (x, width, c, share) => { // share: the pruned fraction of this bar, drawn from its left
    if (c > 0) bars += 1;
    if (c > 0 && share > 0) dark += 1;
    const bh = height(c);
    g.fillStyle = DARK; g.fillRect(x, h - B - bh, width * share, bh);
    g.fillStyle = LIGHT; g.fillRect(x + width * share, h - B - bh, width * (1 - share) - 0.5, bh);
  };
  if (log) {
    const share = pruned ? (zeros ? pruned.zeros / zeros : 0) : at === null ? 0 : threshold >= 0 ? 1 : 0;
    prunedSum += share * zeros;
    bar(0, zw, zeros, share);
  }
  for (let i = 0; i < n; i++) {
    const lo = hist.lo + i * binw;
    const share = pruned ? (counts[i] ? pruned.bins[i] / counts[i] : 0)
      : at === null ? 0 : Math.max(0, Math.min(1, (at - lo) / binw));
    prunedSum += share * counts[i];
    bar(x0 + i * bw, bw, counts[i], share);
  }
  if (at !== null) {
    const x = at === -Infinity ? zw / 2 : x0 + Math.max(0, Math.min(1, (at - hist.lo) / (hist.hi - hist.lo))) * aw;
    g.strokeStyle = LINE; g.lineWidth = 2;
    g.beginPath(); g.moveTo(x, T - 4); g.lineTo(x, h - B); g.stroke();
  }
  g.fillStyle = "#222"; g.font = "12px system-ui, sans-serif";
  g.fillText(title, 2, 12);
  g.fillStyle = "#666"; g.font = "10px system-ui, sans-serif";
  // a log axis's bounds are log10 values: label them as the quantities (1e-5, not -5)
  const val = (x) => (log ? Number(10 ** x).toExponential(1) : x.toPrecision(2));
  if (log) g.fillText("0", zw / 2 - 3, h - 3);
  g.fillText((hist.lo < 0 || log ? "≤" : "") + val(hist.lo), x0 + 1, h - 3); // signed axes clip both tails
  const hiText = `≥${val(hist.hi)}`;
  g.fillText(hiText, w - g.measureText(hiText).width - 1, h - 3);
  const total = zeros + counts.reduce((a, c) => a + c, 0);
  Object.assign(cv.dataset, { axis: log ? "log" : "linear", bars: String(bars), darkBars: String(dark),
    pruned: String(Math.round(prunedSum)), total: String(total) });
  cv.setAttribute("role", "img");
  cv.setAttribute("aria-label", `${title}: ${dark} of ${bars} bars hold pruned weights (${Math.round(prunedSum)} of ${total})`);
  return cv;
}
