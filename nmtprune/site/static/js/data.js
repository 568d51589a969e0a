// Loading and decoding the export the site reads: a small core (data/export.json, schema:
// data/export.schema.json) first, then the bulky arrays in chunks, fetched when a view needs them
// (a class's weights, a method's per-level arrays and its pruned-at bytes per class, a retraining
// run's frames; each object names its chunk and size). Binary arrays arrive as base64 and are
// decoded lazily, on first use.
export const PRUNED_RULE = "shown cell pruned at sparsity S iff its pruned-at byte q < S";

export async function loadData(url = "data/export.json") {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  const d = await r.json();
  if (d.format !== "nmtprune-site" || d.version !== 4) throw new Error(`${url}: unsupported export ${d.format} v${d.version}`);
  d.base = new URL(".", new URL(url, location.href)).href;
  for (const c of d.classes) for (const p of c.params) p.cls = c.name;
  // Maps, not plain objects: names come from the URL, and a plain object would also answer
  // "constructor" or "__proto__" with what it inherits
  d.methodById = new Map(d.methods.map((m) => [m.id, m]));
  d.scoreByName = new Map(d.scores.map((s) => [s.name, s]));
  d.classByName = new Map(d.classes.map((c) => [c.name, c]));
  d.trainingById = new Map(d.training.map((t) => [t.id, t]));
  for (const m of d.methods) m.classChunks = new Map(Object.entries(m.class_chunks || {}));
  d.chunks = new Map(); // path -> promise of its parsed JSON (one fetch per chunk)
  return d;
}

// The chunks a view of state `st` needs that are not loaded yet: [{path, bytes, what, apply(chunk)}].
export function missingChunks(d, st, view) {
  const out = [];
  const m = d.methodById.get(`${st.score}/${st.sel}`);
  const methods = [m, view === "compare" ? d.methodById.get(st.cmp) : null].filter(Boolean);
  for (const x of methods) {
    if (x.chunk && !x._meta) out.push({ path: x.chunk, bytes: x.chunk_bytes, what: x.label,
      apply: (ch) => { const { units, ...rest } = ch; Object.assign(x, rest); if (units) Object.assign(x.units, units); x._meta = true; } });
  }
  const step = m && m.steps[st.step];
  const needsMatrix = view === "matrix" || view === "compare" || (view === "how" && step && step.viz === "matrix");
  const c = d.classByName.get(st.cls);
  if (needsMatrix && c) {
    if (c.chunk && !c._loaded) out.push({ path: c.chunk, bytes: c.chunk_bytes, what: `${c.name} weights`,
      apply: (ch) => { for (const p of c.params) p.weights = ch.weights[p.name]; c._loaded = true; } });
    for (const x of methods) {
      const path = x.classChunks.get(c.name);
      x._cls = x._cls || new Set();
      if (path && !x._cls.has(c.name)) out.push({ path, bytes: x.class_chunk_bytes[c.name], what: `${x.label} · ${c.name} masks`,
        apply: (ch) => { x.pruned_at = Object.assign(x.pruned_at || {}, ch.pruned_at); x._cls.add(c.name); } });
    }
  }
  const t = view === "how" ? trainingOf(d, step) : null;
  if (t && t.chunk && !t._loaded) out.push({ path: t.chunk, bytes: t.chunk_bytes, what: "retraining frames",
    apply: (ch) => { t.w0 = ch.w0; t.keep = ch.keep; t.frames.forEach((f, i) => { f.delta = ch.deltas[i]; }); t._loaded = true; } });
  return out;
}

// One chunk's parsed JSON, fetched once however many ask; a failed fetch is forgotten, so a retry fetches again.
async function fetchChunk(d, path) {
  if (!d.chunks.has(path)) {
    d.chunks.set(path, fetch(d.base + path).then((r) => {
      if (!r.ok) throw new Error(`data/${path}: HTTP ${r.status}`);
      return r.json();
    }));
  }
  try { return await d.chunks.get(path); } catch (err) { d.chunks.delete(path); throw err; }
}

// Fetch the chunks (each once), reporting (bytes loaded, bytes total, what) as each arrives.
export async function loadChunks(d, need, onProgress) {
  const total = need.reduce((a, n) => a + n.bytes, 0);
  let done = 0;
  onProgress(0, total, need.map((n) => n.what).join(", "));
  await Promise.all(need.map(async (n) => {
    const ch = await fetchChunk(d, n.path);
    n.apply(ch);
    done += n.bytes;
    onProgress(done, total, n.what);
  }));
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

// A weight score's shown cells of one class, for the matrix read-out: Map param -> {score: Float32Array,
// pct: Uint8Array (percentile in the class, floor(100·r/N_c))}. Fetched the first time a read-out asks
// (no view waits for it); null when the score has none (hidden-unit scores score units, not weights).
export async function cellsOf(d, scoreName, clsName) {
  const sc = d.scoreByName.get(scoreName);
  const paths = sc && sc.class_chunks ? new Map(Object.entries(sc.class_chunks)) : new Map();
  if (!paths.has(clsName)) return null;
  sc._cells = sc._cells || new Map();
  if (!sc._cells.has(clsName)) {
    const ch = await fetchChunk(d, paths.get(clsName));
    const out = new Map();
    for (const [p, b] of Object.entries(ch.score_at)) {
      out.set(p, { score: new Float32Array(bytes(b).buffer), pct: bytes(ch.class_percentile[p]) });
    }
    sc._cells.set(clsName, out);
  }
  return sc._cells.get(clsName);
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

export function fmtLevel(x) { return `${Number(x.toFixed(1))} %`; }
export function fmtInt(n) { return Math.round(n).toLocaleString("en-US"); }
export function fmtPct(x, digits = 1) { return (100 * x).toFixed(digits) + " %"; }

// Translations exported for the largest sample level <= s (the slider moves in 1 % steps).
export function sampleAt(method, s) {
  let best = null;
  for (const smp of method.samples) if (smp.level <= s && (!best || smp.level > best.level)) best = smp;
  return best;
}
