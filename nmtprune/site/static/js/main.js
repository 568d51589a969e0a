// Entry point: load the export, fix the state against it, wire the controls, draw the current view.
import { VIEWS, href, initFromUrl, setNormalizer, state, subscribe } from "./state.js";
import { loadChunks, loadData, missingChunks, trainingOf } from "./data.js";
import { buildControls, syncControls } from "./controls.js";
import { renderModel } from "./views/model.js";
import { renderMatrix } from "./views/matrix.js";
import { renderHow } from "./views/how.js";
import { renderCompare } from "./views/compare.js";

const RENDER = { model: renderModel, matrix: renderMatrix, how: renderHow, compare: renderCompare };
const TITLES = { model: "1 · Start: the model", matrix: "2 · Matrix & sparsity", how: "3 · How it works", compare: "4 · Compare" };

// Any URL gives a valid state: unknown names fall back to the first available ones. Names are looked
// up in Maps (data.js), so an inherited name such as "constructor" is as unknown as any other.
function normalizer(d) {
  const methodOf = (score, sel) => d.methodById.get(`${score}/${sel}`);
  return (st) => {
    const out = { ...st };
    if (!VIEWS.includes(out.view)) out.view = "model";
    if (!d.scoreByName.has(out.score)) out.score = d.methods[0].score;
    if (!methodOf(out.score, out.sel)) {
      out.sel = (d.methods.find((m) => m.score === out.score) || d.methods[0]).selection;
    }
    const m = methodOf(out.score, out.sel);
    out.s = Math.max(d.levels.min, Math.min(d.levels.max, Number.isFinite(out.s) ? out.s : 50));
    if (!d.classByName.has(out.cls)) out.cls = d.classes[0].name;
    out.step = Math.max(0, Math.min(m.steps.length - 1, Number.isFinite(out.step) ? out.step : 0));
    const t = trainingOf(d, m.steps[out.step]);
    out.f = t ? Math.max(0, Math.min(t.frames.length - 1, Number.isFinite(out.f) ? out.f : 0)) : 0;
    // default comparison: another score of the same kind (a unit method against a unit method)
    const kin = (x) => x.id !== m.id && !x.units === !m.units;
    if (!d.methodById.has(out.cmp) || out.cmp === m.id) {
      out.cmp = (d.methods.find((x) => kin(x) && x.score !== m.score) || d.methods.find(kin) ||
        d.methods.find((x) => x.id !== m.id) || m).id;
    }
    return out;
  };
}

function renderNav() {
  const nav = document.getElementById("nav");
  nav.replaceChildren();
  for (const v of VIEWS) {
    const a = document.createElement("a");
    a.href = href({ view: v });
    a.textContent = TITLES[v];
    a.id = `nav-${v}`;
    if (v === state.view) a.setAttribute("aria-current", "page");
    nav.append(a);
  }
}

// A view that fails to draw is not a failed download: the data loaded, so say which view failed
// and keep the tabs and controls, from which the other views still work.
function renderError(err) {
  const status = document.getElementById("status");
  status.textContent = `Could not draw the view "${VIEWS.includes(state.view) ? TITLES[state.view] : state.view}": ${err.message}. ` +
    "The data loaded; the other views and methods may still work.";
  status.dataset.kind = "render";
  console.error(err);
}

function render(d) {
  renderNav(); // first: a view that throws below leaves the tabs in place
  const root = document.getElementById("view");
  root.replaceChildren();
  root.dataset.view = state.view;
  const status = document.getElementById("status");
  try {
    syncControls(d);
    RENDER[state.view](d, root);
    document.title = `${TITLES[state.view]} — pruning ${state.score}/${state.sel} at ${state.s} %`;
    if (status.dataset.kind === "render") { status.textContent = ""; delete status.dataset.kind; }
  } catch (err) {
    renderError(err);
  }
}

// The view's chunks first (with a progress bar), then the drawing. A newer state wins: a draw whose
// chunks arrive after the user moved on is dropped. While chunks load, body[data-loading] is set.
let ticket = 0;
async function show(d) {
  const mine = ++ticket;
  const need = missingChunks(d, state, VIEWS.includes(state.view) ? state.view : "model");
  const status = document.getElementById("status");
  if (need.length) {
    document.body.dataset.loading = "1";
    const bar = document.createElement("progress");
    bar.id = "load-progress";
    const text = document.createElement("span");
    try {
      await loadChunks(d, need, (done, total, what) => {
        if (mine !== ticket) return;
        bar.max = total; bar.value = done;
        text.textContent = `Loading ${what} (${Math.round(done / 1024)} of ${Math.round(total / 1024)} kB)… `;
        status.replaceChildren(text, bar);
        status.dataset.kind = "progress";
      });
    } catch (err) {
      if (mine === ticket) {
        delete document.body.dataset.loading;
        status.textContent = `Could not load part of the site's data: ${err.message}. Other methods and classes may still work.`;
        status.dataset.kind = "chunk";
        renderNav();
      }
      return;
    }
    if (mine !== ticket) return;
  }
  // the newest state is drawn: whatever an older one was still fetching no longer matters
  delete document.body.dataset.loading;
  if (status.dataset.kind === "progress" || status.dataset.kind === "chunk") { status.textContent = ""; delete status.dataset.kind; }
  render(d);
}

function enableControls() {
  for (const el of document.querySelectorAll("#controls select, #controls input, #controls button")) el.disabled = false;
  document.getElementById("controls").removeAttribute("aria-busy");
}

async function main() {
  const status = document.getElementById("status");
  let d;
  try {
    d = await loadData();
  } catch (err) {
    status.textContent = `Could not load the site's data: ${err.message}`;
    status.dataset.kind = "load";
    throw err;
  }
  status.textContent = "";
  const foot = document.getElementById("provenance");
  foot.textContent = `Model ${d.model.dir} (weights sha256 ${d.model.hash}); results: ${d.results.source || "none"}` +
    `${d.results.split ? ` (${d.results.split}, beam ${d.results.beam}, ${d.results.max_sentences ? `first ${d.results.max_sentences}` : "all"} sentences)` : ""}; export v${d.version}.`;
  try {
    setNormalizer(normalizer(d));
    buildControls(d);
    initFromUrl();
    subscribe(() => show(d));
    let pending = null;
    window.addEventListener("resize", () => { clearTimeout(pending); pending = setTimeout(() => show(d), 150); });
    await show(d);
    enableControls(); // usable only now: before, the data they would change was not there
  } catch (err) { // the state could not be set up from this export: still a drawing failure, not a load one
    renderNav();
    renderError(err);
  }
  document.body.dataset.ready = "1";
}

main();
