// One helper for the SVG charts (curve.js, training.js, unitviz.js): an element with attributes and
// optional text. Text goes through textContent, so data is never parsed as markup.
export const SVG = "http://www.w3.org/2000/svg";

export function svgEl(tag, attrs, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}
