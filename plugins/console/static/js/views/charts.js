// Horizontal bar charts in SVG, drawn from the same numbers as the table
// beside them (the table is what screen readers read; the chart is hidden
// from them).
import {h, svg} from "../ui.js";

export function bars(title, entries) {
  const max = Math.max(1, ...entries.map(([, v]) => v));
  const row = 28, labelW = 150, barW = 260, H = entries.length * row + 4;
  const chart = svg("svg", {viewBox: `0 0 ${labelW + barW + 60} ${H}`, class: "chart",
                            "aria-hidden": "true", focusable: "false"},
    ...entries.flatMap(([k, v], i) => [
      svg("text", {x: labelW - 8, y: i * row + 19, "text-anchor": "end", class: "lbl"}, k),
      svg("rect", {x: labelW, y: i * row + 5, height: row - 10, width: Math.max(1, (v / max) * barW),
                   class: "bar", rx: 3}),
      svg("text", {x: labelW + (v / max) * barW + 6, y: i * row + 19, class: "val"}, String(v))]));
  return h("figure", {class: "chart-box"},
    h("figcaption", {}, title), chart,
    h("table", {class: "compact"},
      h("caption", {class: "visually-hidden"}, title),
      h("tbody", {}, entries.map(([k, v]) => h("tr", {}, h("th", {scope: "row"}, k), h("td", {}, v))))));
}
