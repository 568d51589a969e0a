// The model as a picture: See et al.'s encoder–attention–decoder with every weight class of the export
// placed where it acts (embeddings at the bottom, LSTM layers stacked above them, attention's W_a and
// the attentional combination W_c on top, the softmax last). Each class is a link to its matrices; a
// bar along a box's foot is the share of that class the chosen method prunes at the slider's sparsity.
// Classes the picture does not know (another architecture) get a row of their own, so none is missing.
import { svgEl as s } from "../svg.js";
import { href, state } from "../state.js";
import { fmtPct } from "../data.js";

const compact = (n) => (n >= 1e6 ? `${(n / 1e6).toPrecision(3)} M` : n >= 1e4 ? `${Math.round(n / 1e3)} k` : n.toLocaleString("en-US"));
const layerNo = (name, side) => { const m = new RegExp(`^${side}_layer(\\d+)$`).exec(name); return m ? Number(m[1]) : null; };

// Where each known class goes; everything else is "other".
function placeClasses(d) {
  const byName = new Map(d.classes.map((c) => [c.name, c]));
  const layers = (side) => d.classes.filter((c) => layerNo(c.name, side) !== null)
    .sort((a, b) => layerNo(a.name, side) - layerNo(b.name, side));
  const att = byName.get("attention") || null;
  const param = (suffix) => (att ? att.params.find((p) => p.name.endsWith(suffix)) || null : null);
  const out = { srcEmb: byName.get("src_emb") || null, tgtEmb: byName.get("tgt_emb") || null, enc: layers("src"),
    dec: layers("tgt"), att, wa: param("W_a"), wc: param("W_c"), softmax: byName.get("softmax") || null };
  const placed = new Set([out.srcEmb, out.tgtEmb, ...out.enc, ...out.dec, out.att, out.softmax].filter(Boolean).map((c) => c.name));
  out.other = d.classes.filter((c) => !placed.has(c.name));
  return out;
}

function arrow(g, x1, y1, x2, y2, cls = "") {
  g.append(s("line", { x1, y1, x2, y2, class: `diag-arrow ${cls}`.trim(), "marker-end": "url(#diag-head)" }));
}

// width: the pixel width to draw at (the SVG is drawn 1:1, so its words keep their size on a phone).
export function modelDiagram(d, m, width) {
  const pl = placeClasses(d);
  const W = Math.max(320, Math.min(920, Math.floor(width)));
  const wide = W >= 640, pad = 8, right = 16; // right: room for the input-feeding loop
  const gap = wide ? Math.round(W * 0.16) : 18;
  const colW = Math.floor((W - pad - right - gap) / 2), xe = pad, xd = pad + colW + gap;
  const L = Math.max(pl.enc.length, pl.dec.length, 1);
  const rh = 46, bh = 36, otherRows = pl.other.length ? Math.ceil(pl.other.length / 2) : 0;
  const rows = L + 5 + otherRows; // words, embeddings, L layers, attention, softmax, next word, others
  const H = rows * rh + 10;
  // a box's top; row 0 (the words) at the bottom, above the other classes' rows (negative rows)
  const y = (row) => H - 6 - (row + 1 + otherRows) * rh + (rh - bh) / 2;
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, width: W, height: H, class: "diagram", id: "diagram", role: "group",
    "aria-label": `the model: encoder, attention and decoder, with its ${d.classes.length} weight classes (each a link to its matrices)` });
  const defs = s("defs");
  const head = s("marker", { id: "diag-head", viewBox: "0 0 8 8", refX: 7, refY: 4, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" });
  head.append(s("path", { d: "M0,0 L8,4 L0,8 z", class: "diag-head" }));
  defs.append(head);
  svg.append(defs);
  const lines = s("g", { class: "diag-lines" });
  svg.append(lines);

  // one box: a weight class (a link to its matrices) or, for a part this model lacks, a dashed note
  const box = (x, row, w, kind, c, title, sub, part = null) => {
    const top = y(row);
    const g = c ? s("a", { href: href({ view: "matrix", cls: c.name }), class: `diag-cls ${kind}${c.name === state.cls ? " chosen" : ""}`,
      "data-cls": c.name })
      : s("g", { class: `diag-none ${kind}` });
    if (part) g.setAttribute("data-param", part.name);
    g.append(s("rect", { x, y: top, width: w, height: bh, rx: 5, class: "diag-box" }));
    g.append(s("text", { x: x + 7, y: top + 14, class: "diag-name" }, title));
    g.append(s("text", { x: x + 7, y: top + 27, class: "diag-sub" }, sub));
    if (c) {
      const frac = m.class_sparsity[c.name][state.s];
      g.setAttribute("data-pruned", String(frac));
      g.append(s("rect", { x: x + 1, y: top + bh - 5, width: w - 2, height: 4, class: "diag-bar" }),
        s("rect", { x: x + 1, y: top + bh - 5, width: Math.max(0, (w - 2) * frac), height: 4, class: "diag-pruned" }));
      const what = `${c.paper} (${c.name}${part ? `, ${part.name}` : ""}): ${c.size.toLocaleString("en-US")} weights in the class; ` +
        `${fmtPct(frac)} pruned by ${m.label} at ${state.s} %. Open its matrices.`;
      g.setAttribute("aria-label", what);
      g.append(s("title", {}, what));
    }
    svg.append(g);
    return { x, top, w, cx: x + w / 2 };
  };
  const cls = (c, kind, x, row) => box(x, row, colW, kind, c, c ? c.paper : "—",
    c ? `${compact(c.size)} weights · ${fmtPct(m.class_sparsity[c.name][state.s], 0)} pruned` : "");
  const text = (x, row, t, anchor = "middle") => svg.append(s("text", { x, y: y(row) + bh / 2 + 4, "text-anchor": anchor, class: "diag-words" }, t));

  // encoder: source words, their embedding, the layers; decoder the same with the previous target words
  text(xe + colW / 2, 0, "source words x₁ … xₙ");
  text(xd + colW / 2, 0, "previous target word yₜ₋₁");
  const se = cls(pl.srcEmb, "emb", xe, 1), te = cls(pl.tgtEmb, "emb", xd, 1);
  arrow(lines, se.cx, y(0) + bh / 2 + 8, se.cx, y(1) + bh);
  arrow(lines, te.cx, y(0) + bh / 2 + 8, te.cx, y(1) + bh);
  const stack = (layers, x, below) => {
    let prev = below;
    layers.forEach((c, k) => {
      const b = cls(c, "lstm", x, 2 + k);
      arrow(lines, b.cx, prev.top, b.cx, b.top + bh);
      prev = b;
    });
    return prev;
  };
  const encTop = stack(pl.enc, xe, se), decTop = stack(pl.dec, xd, te);
  // attention on top: W_a scores every encoder state against the decoder's (general attention; dot
  // attention has no weights there), W_c combines the context with the decoder state
  const ra = L + 2;
  const wa = pl.wa ? box(xe, ra, colW, "att", pl.att, "attention W_a", `${compact(pl.wa.shape.reduce((a, b) => a * b, 1))} weights · scores h̄ₛ`, pl.wa)
    : box(xe, ra, colW, "att", null, "attention score", "dot product: no weights");
  const wc = pl.wc ? box(xd, ra, colW, "att", pl.att, "combination W_c", `${compact(pl.wc.shape.reduce((a, b) => a * b, 1))} weights · h̃ₜ`, pl.wc)
    : box(xd, ra, colW, "att", pl.att, pl.att ? pl.att.paper : "attentional combination", pl.att ? `${compact(pl.att.size)} weights` : "—");
  arrow(lines, encTop.cx, encTop.top, wa.cx, y(ra) + bh); // the encoder states h̄ₛ
  arrow(lines, decTop.cx, decTop.top, wc.cx, y(ra) + bh); // the decoder state hₜ
  arrow(lines, decTop.x + 6, decTop.top, wa.x + wa.w - 6, y(ra) + bh, "query"); // hₜ asks W_a
  arrow(lines, wa.x + wa.w, y(ra) + bh / 2, wc.x, y(ra) + bh / 2, "context"); // the context cₜ
  svg.append(s("text", { x: (wa.x + wa.w + wc.x) / 2, y: y(ra) + bh / 2 - 4, "text-anchor": "middle", class: "diag-note" }, "cₜ"));
  const sm = cls(pl.softmax, "softmax", xd, ra + 1);
  arrow(lines, wc.cx, y(ra), sm.cx, y(ra + 1) + bh);
  text(xd + colW / 2, ra + 2, "next word yₜ");
  arrow(lines, sm.cx, y(ra + 1), sm.cx, y(ra + 2) + bh / 2 + 8);
  if (d.model.arch.input_feed && pl.dec.length) { // input feeding: h̃ₜ goes into the first decoder layer's next step
    const x = W - right / 2 - 2, y1 = y(ra) + bh / 2, y2 = y(2) + bh / 2;
    lines.append(s("path", { d: `M${xd + colW},${y1} H${x} V${y2} H${xd + colW + 2}`, class: "diag-arrow feed", "marker-end": "url(#diag-head)" }));
  }
  ["The encoder (left) reads", "the source; the decoder", "(right) writes the", "translation word by word."]
    .forEach((t, i) => svg.append(s("text", { x: xe, y: y(ra + 2) + 4 + 15 * i, class: "diag-caption" }, t)));
  pl.other.forEach((c, i) => cls(c, "other", i % 2 ? xd : xe, -1 - Math.floor(i / 2))); // below the words
  if (pl.other.length) svg.setAttribute("data-other", String(pl.other.length));
  return svg;
}
