// Display formulas. A generated page writes each formula's TeX as <div class="nmt-formula"><code>TeX</code></div>;
// this turns it into MathML with the interactive site's own renderer (formula.js, copied from
// nmtprune/site/static/js at build time), so formulas need nothing from the network. Without
// JavaScript the TeX stays readable as code.
import { renderFormula } from "./formula.js";

function render() {
  for (const el of document.querySelectorAll(".nmt-formula:not([data-rendered])")) {
    const tex = el.textContent;
    el.replaceChildren(renderFormula(tex));
    el.setAttribute("data-rendered", "");
  }
}

render();
// material's instant navigation, if it is switched on, swaps pages without reloading scripts
if (window.document$) window.document$.subscribe(render);
