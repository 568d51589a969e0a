// The global controls: method (score × selection), one sparsity slider, play/pause and ±1 % steps.
// They only write the state; every view redraws from the state.
import { state, set } from "./state.js";

let timer = null;
const TICK_MS = 110;

export function option(value, label) {
  const o = document.createElement("option");
  o.value = value; o.textContent = label;
  return o;
}

export function stop() {
  if (timer) clearInterval(timer);
  timer = null;
  const b = document.getElementById("play");
  if (b) { b.textContent = "▶ Play"; b.setAttribute("aria-pressed", "false"); }
}

function play(d) {
  if (timer) { stop(); return; }
  if (state.s >= d.levels.max) set({ s: 0 });
  const b = document.getElementById("play");
  b.textContent = "❚❚ Pause"; b.setAttribute("aria-pressed", "true");
  timer = setInterval(() => {
    if (state.s >= d.levels.max) { stop(); return; }
    set({ s: state.s + 1 });
  }, TICK_MS);
}

export function buildControls(d) {
  const score = document.getElementById("score"), sel = document.getElementById("sel");
  for (const s of d.scores) score.append(option(s.name, s.label));
  for (const s of d.selections) sel.append(option(s.name, s.label));
  // a score without the current selection falls back to its first one (main.js's normalizer)
  score.addEventListener("change", () => set({ score: score.value }));
  sel.addEventListener("change", () => set({ sel: sel.value }));
  const slider = document.getElementById("slider");
  slider.min = d.levels.min; slider.max = d.levels.max; slider.step = d.levels.step;
  slider.addEventListener("input", () => { stop(); set({ s: Number(slider.value) }); });
  document.getElementById("play").addEventListener("click", () => play(d));
  document.getElementById("step-back").addEventListener("click", () => { stop(); set({ s: state.s - 1 }); });
  document.getElementById("step-fwd").addEventListener("click", () => { stop(); set({ s: state.s + 1 }); });
}

export function syncControls(d) {
  document.getElementById("score").value = state.score;
  const sel = document.getElementById("sel");
  // only the selections this score has (hidden-unit scores: per-layer, global; weight scores: the three
  // schemes, and per-row where the score's data holds it)
  for (const o of sel.options) o.disabled = !d.methodById.has(`${state.score}/${o.value}`);
  sel.value = state.sel;
  const slider = document.getElementById("slider");
  if (Number(slider.value) !== state.s) slider.value = String(state.s);
  document.getElementById("s-readout").textContent = `${state.s} %`;
  // a hidden-unit method's slider is the share of its units removed, not a weight sparsity
  const units = !!(d.methodById.get(`${state.score}/${state.sel}`) || {}).units;
  document.getElementById("slider-label").textContent = units ? "units removed" : "sparsity";
  slider.setAttribute("aria-valuetext", `${state.s} percent ${units ? "of the units removed" : "of the weights pruned"}`);
}
