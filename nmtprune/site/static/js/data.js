// Loading and decoding the one export the site reads (data/export.json, schema: data/export.schema.json).
// Binary arrays arrive as base64 and are decoded lazily, on first use, so the first view renders fast.
export const PRUNED_RULE = "shown cell pruned at sparsity S iff its pruned-at byte q < S";

export async function loadData(url = "data/export.json") {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  const d = await r.json();
  if (d.format !== "nmtprune-site" || d.version !== 3) throw new Error(`${url}: unsupported export ${d.format} v${d.version}`);
  for (const c of d.classes) for (const p of c.params) p.cls = c.name;
  // Maps, not plain objects: names come from the URL, and a plain object would also answer
  // "constructor" or "__proto__" with what it inherits
  d.methodById = new Map(d.methods.map((m) => [m.id, m]));
  d.scoreByName = new Map(d.scores.map((s) => [s.name, s]));
  d.classByName = new Map(d.classes.map((c) => [c.name, c]));
  d.trainingById = new Map(d.training.map((t) => [t.id, t]));
  return d;
}

function bytes(b64) {
  const bin = atob(b64);
  const a = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) a[i] = bin.charCodeAt(i);
  return a;
}

// Shown weights as signed values in [-1, 1] (int8 / 127; multiply by param.scale for real units).
export function weights(p) {
  if (!p._w) p._w = new Int8Array(bytes(p.weights).buffer);
  return p._w;
}

export function prunedAt(method, pname) {
  method._q = method._q || {};
  if (!method._q[pname]) method._q[pname] = bytes(method.pruned_at[pname]);
  return method._q[pname];
}

// A retraining-frames artifact decoded once: start weights (int8 / 127 · w0_scale), keep mask, and
// per frame the change since the start (int8 / 127 · delta_scale).
export function trainingArrays(t) {
  if (!t._a) {
    t._a = { w0: new Int8Array(bytes(t.w0).buffer), keep: bytes(t.keep),
      delta: t.frames.map((f) => new Int8Array(bytes(f.delta).buffer)) };
  }
  return t._a;
}

// The training artifact a walk-through step shows (null for other steps).
export function trainingOf(d, step) {
  return step && step.viz === "training" ? d.trainingById.get(step.training) || null : null;
}

export function methodOf(d, score, sel) {
  return d.methodById.get(`${score}/${sel}`);
}

export function fmtInt(n) { return Math.round(n).toLocaleString("en-US"); }
export function fmtPct(x, digits = 1) { return (100 * x).toFixed(digits) + " %"; }

// Translations exported for the largest sample level <= s (the slider moves in 1 % steps).
export function sampleAt(method, s) {
  let best = null;
  for (const smp of method.samples) if (smp.level <= s && (!best || smp.level > best.level)) best = smp;
  return best;
}
