// The helpers of the SVG charts (curve.js, training.js, unitviz.js): an element with attributes and
// optional text, and a chart's tooltip. Text goes through textContent, so data is never parsed as markup.
export const SVG = "http://www.w3.org/2000/svg";

export function svgEl(tag, attrs, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

// One tooltip per chart, drawn in the SVG (so it scales with it): show(x, y, name, value, method) puts
// the method's name over the measured value by the point (x, y) in chart units, with a ring on the
// point; svgX(ev) is the pointer's x in chart units.
export function hoverTip(svg, W, H) {
  const g = svgEl("g", { class: "hover-tip", visibility: "hidden" });
  const ring = svgEl("circle", { r: 5, class: "tip-ring" }), box = svgEl("rect", { rx: 3, class: "tip-box" });
  const text = svgEl("text", { class: "tip-text" }), name = svgEl("tspan", {}), value = svgEl("tspan", {});
  text.append(name, value);
  g.append(ring, box, text);
  svg.append(g);
  return {
    show(x, y, who, what, method) {
      name.textContent = who; value.textContent = what;
      g.dataset.method = method || "";
      ring.setAttribute("cx", x); ring.setAttribute("cy", y);
      g.setAttribute("visibility", "visible");
      const w = Math.min(W - 4, Math.max(name.getComputedTextLength(), value.getComputedTextLength()) + 10);
      const h = 30, bx = Math.max(2, Math.min(W - w - 2, x - w / 2)), by = y - h - 8 < 2 ? Math.min(H - h - 2, y + 8) : y - h - 8;
      for (const [k, v] of [["x", bx], ["y", by], ["width", w], ["height", h]]) box.setAttribute(k, v);
      for (const [t, dy] of [[name, 12], [value, 25]]) { t.setAttribute("x", bx + 5); t.setAttribute("y", by + dy); }
    },
    hide() { g.setAttribute("visibility", "hidden"); },
    raise() { svg.append(g); }, // above whatever was drawn after it
    svgX(ev) {
      const m = svg.getScreenCTM();
      return m ? (ev.clientX - m.e) / m.a : 0;
    },
  };
}

// A target on each measured point [{x, y, who, what, id}] (chart units) that fills the tooltip when
// hovered or tapped: the chart names what it draws the same way everywhere.
export function pointTargets(svg, tip, pts) {
  for (const p of pts) {
    const dot = svgEl("circle", { cx: p.x, cy: p.y, r: 6, class: "pt-hit" });
    if (p.id) dot.dataset.method = p.id;
    const say = () => tip.show(p.x, p.y, p.who, p.what, p.id);
    dot.addEventListener("pointerenter", say);
    dot.addEventListener("pointerdown", say);
    svg.append(dot);
  }
  // a mouse that leaves takes the tip with it; a lifted finger leaves it, to be read
  svg.addEventListener("pointerleave", (ev) => { if (ev.pointerType === "mouse") tip.hide(); });
}
