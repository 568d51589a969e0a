// A tiny TeX-subset -> MathML renderer (browsers render MathML natively, so nothing is vendored).
// Everything is built with createElementNS + textContent: the formula text is data, never HTML.
const NS = "http://www.w3.org/1998/Math/MathML";
const SYMBOLS = {
  lambda: "λ", sigma: "σ", mu: "μ", alpha: "α", beta: "β", theta: "θ", epsilon: "ε", Delta: "Δ",
  le: "≤", ge: "≥", iff: "⟺", cdot: "·", in: "∈", sim: "∼", odot: "⊙", times: "×", approx: "≈",
  sum: "∑", infty: "∞", to: "→", lvert: "|", rvert: "|",
  // for the training and second-order steps (OBD, SNIP, GraSP, Taylor walk-throughs)
  eta: "η", gamma: "γ", nabla: "∇", partial: "∂", ell: "ℓ", leftarrow: "←", prod: "∏", neq: "≠", pm: "±",
  // for the hidden-unit scores and the global unit selection (norms, sets, transposes)
  "|": "‖", "{": "{", "}": "}", top: "⊤", log: "log", tau: "τ", delta: "δ", min: "min", max: "max",
};

const OPERATORS = new Set(["le", "ge", "iff", "cdot", "in", "sim", "odot", "times", "approx", "to", "lvert", "rvert", "sum",
  "nabla", "partial", "leftarrow", "prod", "neq", "pm", "|", "{", "}", "log", "min", "max"]);

function el(tag, text) {
  const e = document.createElementNS(NS, tag);
  if (text !== undefined) e.textContent = text;
  return e;
}

// Spaces are dropped, except inside the braces of \text / \mathrm / \operatorname, where they
// separate words ("\text{ for every class }"); there they become one " " token each.
function tokenize(src) {
  const out = [];
  const re = /\\[A-Za-z]+|\\.|[A-Za-z]|[0-9.]+|\s+|./g;
  let m, raw = false, depth = 0;
  while ((m = re.exec(src))) {
    const t = m[0], space = /^\s+$/.test(t);
    if (raw && depth === 0 && !space && t !== "{") raw = false; // \text x: one token, no braces
    if (raw && t === "{") depth++;
    if (raw && t === "}" && --depth === 0) raw = false;
    if (t === "\\text" || t === "\\mathrm" || t === "\\operatorname") { raw = true; depth = 0; }
    if (space && !(raw && depth > 0)) continue;
    out.push(space ? " " : t);
  }
  return out;
}

// Recursive descent over the token list; returns an array of MathML nodes until '}' or the end.
function parseSeq(toks, pos) {
  const nodes = [];
  while (pos.i < toks.length && toks[pos.i] !== "}") {
    let node = parseAtom(toks, pos);
    if (!node) continue;
    while (toks[pos.i] === "_" || toks[pos.i] === "^") {
      const op = toks[pos.i++];
      const arg = parseAtom(toks, pos) || el("mrow");
      if (op === "^" && node.tagName === "msub") {
        const sup = el("msubsup");
        sup.append(...node.childNodes, arg);
        node = sup;
      } else {
        const wrap = el(op === "_" ? "msub" : "msup");
        wrap.append(node, arg);
        node = wrap;
      }
    }
    nodes.push(node);
  }
  return nodes;
}

function group(toks, pos) {
  if (toks[pos.i] !== "{") return parseAtom(toks, pos);
  pos.i++;
  const row = el("mrow");
  row.append(...parseSeq(toks, pos));
  pos.i++; // the closing '}'
  return row;
}

function rawText(toks, pos) {
  // \text{...} / \mathrm{...}: the braced tokens joined back into words
  if (toks[pos.i] !== "{") return toks[pos.i++] || "";
  let depth = 0, s;
  const src = [];
  for (pos.i++; pos.i < toks.length; pos.i++) {
    const t = toks[pos.i];
    if (t === "{") depth++;
    if (t === "}" && depth-- === 0) break;
    src.push(t);
  }
  pos.i++;
  s = src.join("").replace(/\s+/g, " ").trim(); // the text's own spaces (kept by tokenize)
  return s;
}

function parseAtom(toks, pos) {
  const t = toks[pos.i++];
  if (t === undefined) return null;
  if (t === "{") { pos.i--; return group(toks, pos); }
  if (t.startsWith("\\")) {
    const name = t.slice(1);
    if (name === "frac") { const f = el("mfrac"); f.append(group(toks, pos), group(toks, pos)); return f; }
    if (name === "text") return el("mtext", "\u00a0" + rawText(toks, pos) + "\u00a0");
    if (name === "mathrm" || name === "operatorname") {
      const mi = el("mi", rawText(toks, pos)); mi.setAttribute("mathvariant", "normal"); return mi;
    }
    if (name === "hat") { // an accent over its argument: \hat{s}_j
      const o = el("mover"); o.setAttribute("accent", "true"); o.append(group(toks, pos), el("mo", "^")); return o;
    }
    if (name === "quad") { const sp = el("mspace"); sp.setAttribute("width", "1em"); return sp; }
    if (name === "left" || name === "right") return el("mo", toks[pos.i++]);
    if (name === ",") { const sp = el("mspace"); sp.setAttribute("width", "0.2em"); return sp; }
    if (name in SYMBOLS) {
      const node = el(OPERATORS.has(name) ? "mo" : "mi", SYMBOLS[name]);
      if (name === "{" || name === "}") node.setAttribute("stretchy", "false"); // set braces, as ( and )
      return node;
    }
    return el("mtext", name);
  }
  if (/^[A-Za-z]$/.test(t)) return el("mi", t);
  if (/^[0-9.]+$/.test(t)) return el("mn", t);
  const mo = el("mo", t);
  if (t === "(" || t === ")") mo.setAttribute("stretchy", "false"); // only \left( \right) grow
  return mo;
}

export function renderFormula(tex) {
  const math = el("math");
  math.setAttribute("display", "block");
  const toks = tokenize(tex || "");
  const pos = { i: 0 };
  const row = el("mrow");
  while (pos.i < toks.length) {
    row.append(...parseSeq(toks, pos));
    if (toks[pos.i] === "}") pos.i++; // tolerate a stray brace
  }
  math.append(row);
  math.setAttribute("aria-label", tex || "");
  return math;
}
