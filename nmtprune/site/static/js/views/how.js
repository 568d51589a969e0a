// View 3, how it works: the method's steps (data from the export) walked one at a time, by hand
// (previous / next / the step list) or by the player (▶ plays every step's animation in turn, at a
// chosen speed). Each step draws one picture of the real scores (howviz.js).
import { href, set, state } from "../state.js";
import { methodOf } from "../data.js";
import { renderFormula } from "../formula.js";
import { option, stop } from "../controls.js";
import { SPEEDS, getSpeed, isPlaying, playWalk, setSpeed, stopWalk } from "../player.js";
import { viz } from "../howviz.js";

function button(id, text, onClick, disabled = false) {
  const b = document.createElement("button");
  b.id = id; b.textContent = text; b.disabled = disabled;
  b.addEventListener("click", onClick);
  return b;
}

// The buttons and the speed are made once and moved into each redraw: while the steps play, the view
// is redrawn many times a second, and a press whose button was replaced between its mouse-down and
// mouse-up would be lost (the click lands on no button).
let kept = null;

function playerControls(d) {
  if (!kept) {
    const box = document.createElement("span");
    box.className = "walk-player";
    const play = button("how-play", "", () => { stop(); playWalk(d); });
    const speed = document.createElement("select");
    speed.id = "how-speed";
    speed.setAttribute("aria-label", "playing speed");
    for (const x of SPEEDS) speed.append(option(String(x), `${x}×`));
    speed.addEventListener("change", () => setSpeed(Number(speed.value)));
    box.append(play, speed);
    const step = (delta) => () => { stopWalk(false); set({ step: state.step + delta }); };
    kept = { box, play, speed, prev: button("how-prev", "← Previous", step(-1)), next: button("how-next", "Next →", step(1)) };
  }
  const playing = isPlaying();
  kept.play.textContent = playing ? "❚❚ Pause" : "▶ Play the steps";
  kept.play.setAttribute("aria-pressed", String(playing));
  kept.speed.value = String(getSpeed());
  return kept;
}

export function renderHow(d, root) {
  const m = methodOf(d, state.score, state.sel);
  const steps = m.steps, i = state.step, step = steps[i];
  const head = document.createElement("div");
  head.className = "step-nav";
  const { box, prev, next } = playerControls(d);
  prev.disabled = i === 0;
  next.disabled = i === steps.length - 1;
  const label = document.createElement("span");
  label.id = "how-step-label";
  label.textContent = `${m.label}: step ${i + 1} of ${steps.length}`;
  head.append(prev, label, next, box);
  const dots = document.createElement("ol");
  dots.className = "step-dots";
  steps.forEach((st, j) => {
    const li = document.createElement("li");
    const a = document.createElement("a");
    a.href = href({ step: j });
    a.textContent = st.title;
    if (j === i) a.setAttribute("aria-current", "step");
    li.append(a);
    dots.append(li);
  });
  const h = document.createElement("h2");
  h.textContent = step.title;
  const text = document.createElement("p");
  text.textContent = step.text;
  const formula = document.createElement("div");
  formula.className = "formula";
  formula.append(renderFormula(step.formula));
  const width = Math.min(760, (root.clientWidth || 760) - 8);
  const more = document.createElement("p");
  more.className = "links";
  const cmp = document.createElement("a");
  cmp.href = href({ view: "compare" });
  cmp.textContent = `Compare ${m.label} with ${d.methodById.get(state.cmp).label} →`;
  more.append(cmp);
  root.append(head, dots, h, text, formula, viz(d, m, step, width), more);
}
