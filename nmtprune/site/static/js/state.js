// The site's state (method, selection, sparsity, class, step, ...) lives in the URL hash, so every
// view can be linked and reloaded exactly. Slider moves replace the history entry (no history spam);
// view changes come from real <a href="#..."> links, so Back works between views.
// f: the frame of a retraining run shown by a walk-through's training step.
const KEYS = ["view", "score", "sel", "s", "cls", "step", "f", "cmp"];
const INTS = new Set(["s", "step", "f"]);
export const VIEWS = ["model", "matrix", "how", "compare"];

export const state = { view: "model", score: "", sel: "", s: 50, cls: "", step: 0, f: 0, cmp: "" };
const listeners = [];

export function parseHash(hash) {
  const out = {};
  const params = new URLSearchParams(hash.replace(/^#/, ""));
  for (const k of KEYS) {
    if (!params.has(k)) continue;
    const v = params.get(k);
    if (INTS.has(k)) {
      const n = Number.parseInt(v, 10);
      if (Number.isFinite(n)) out[k] = n;
    } else out[k] = v;
  }
  return out;
}

export function toHash(st) {
  const p = new URLSearchParams();
  for (const k of KEYS) if (st[k] !== "" && st[k] !== undefined && st[k] !== null) p.set(k, String(st[k]));
  return "#" + p.toString();
}

// A link to the current state with some fields changed (used by every view's cross-links).
export function href(patch) {
  return toHash({ ...state, ...patch });
}

let normalizer = (st) => st;
export function setNormalizer(fn) { normalizer = fn; }

function apply(patch) {
  Object.assign(state, patch);
  Object.assign(state, normalizer({ ...state }));
}

export function set(patch) {
  apply(patch);
  const h = toHash(state);
  if (location.hash !== h) history.replaceState(null, "", h);
  for (const f of listeners) f(state);
}

export function subscribe(fn) { listeners.push(fn); }

export function initFromUrl() {
  apply(parseHash(location.hash));
  history.replaceState(null, "", toHash(state));
  window.addEventListener("hashchange", () => {
    apply(parseHash(location.hash));
    const h = toHash(state);
    if (location.hash !== h) history.replaceState(null, "", h);
    for (const f of listeners) f(state);
  });
}
