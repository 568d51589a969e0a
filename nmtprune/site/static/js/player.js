// The walk-through player: plays a method's steps by itself. Each step runs its own animation,
// then holds, then the next step starts; it stops after the last step's animation:
//   * steps drawn at a sparsity (thresholds, class bars, masks, kept units) sweep s from 0 up to the target
//     (the slider's value when play was pressed, 80 % if it was 0);
//   * the retraining step plays its frames (f) from the first to the last;
//   * the score-only steps just hold.
// It writes only the state (like the controls), so the URL follows. If anything else changes the
// state while it plays (a click, the slider, Back), the user has taken over and it stops.
import { set, state } from "./state.js";
import { methodOf, trainingOf } from "./data.js";

export const SPEEDS = [0.5, 1, 2, 4, 8];
const FRAME_MS = 90, HOLD_MS = 1100, SWEEP_FRAMES = 30;

let timer = null, speed = 1, expected = null;

export function isPlaying() { return timer !== null; }
export function getSpeed() { return speed; }
export function setSpeed(x) { if (SPEEDS.includes(x)) speed = x; }

export function stopWalk(redraw = true) {
  if (timer === null) return;
  clearTimeout(timer);
  timer = null;
  expected = null;
  if (redraw) set({}); // the play button shows ▶ again
}

function sweeps(d, step) {
  if (trainingOf(d, step)) return "frames";
  const drawnAtS = ["class-bars", "matrix", "units", "shrink"].includes(step.viz);
  return step.threshold !== "none" || drawnAtS ? "sparsity" : "hold";
}

// The sequence of state patches that plays one step (its animation frames, in order).
function stepFrames(d, step, target) {
  const kind = sweeps(d, step);
  if (kind === "frames") return trainingOf(d, step).frames.map((_, f) => ({ f }));
  if (kind === "sparsity") { // faster speeds also take bigger strides: each frame costs a full redraw
    const n = Math.max(6, Math.round(SWEEP_FRAMES / Math.max(1, speed / 2)));
    return Array.from({ length: n + 1 }, (_, k) => ({ s: Math.round((target * k) / n) }));
  }
  return [{}];
}

function same(a, b) {
  return a.view === b.view && a.score === b.score && a.sel === b.sel && a.step === b.step && a.s === b.s && a.f === b.f;
}

export function playWalk(d) {
  if (timer !== null) { stopWalk(); return; }
  const m = methodOf(d, state.score, state.sel);
  const target = state.s > 0 ? state.s : 80;
  let i = state.step >= m.steps.length - 1 ? 0 : state.step; // from the end: start over
  let frames = stepFrames(d, m.steps[i], target), k = 0;
  const tick = () => {
    if (expected && !same(state, expected)) { stopWalk(); return; } // the user took over
    if (k < frames.length) {
      set({ step: i, ...frames[k] });
      k += 1;
      expected = { ...state };
      timer = setTimeout(tick, (k < frames.length ? FRAME_MS : HOLD_MS) / speed);
      return;
    }
    if (i >= m.steps.length - 1) { stopWalk(); return; } // the last step has played: done
    i += 1;
    frames = stepFrames(d, m.steps[i], target);
    k = 0;
    tick();
  };
  timer = 0; // playing from now on (the first set() below redraws the button as ⏸)
  tick();
}
