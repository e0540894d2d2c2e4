// The activity report for a chosen period: figures, tables and charts,
// printable (print stylesheet), and the same as a CSV file.
import {get, request} from "../api.js";
import {h, put, field, showErrors, clearErrors, download, busy, scrollBox, loading, KINDS, LEVELS,
        GENDERS, isoDay, parseDay, dayNameYear} from "../ui.js";
import {bars} from "./charts.js";
import {go} from "../app.js";

const AGE = {"<26": "Moins de 26 ans", "26-35": "26 à 35 ans", "36-45": "36 à 45 ans",
  "46-55": "46 à 55 ans", "56+": "56 ans et plus", unknown: "Non renseigné"};
const label = (map) => ([k, v]) => [map[k] || (k === "unknown" ? "Non renseigné" : k), v];
// The server's objects have no set key order: show them in a fixed one.
const GENDER_KEYS = ["F", "M", "X", "unknown"];
const AGE_KEYS = ["<26", "26-35", "36-45", "46-55", "56+", "unknown"];
const ordered = (obj, keys) => [...keys.filter((k) => k in obj).map((k) => [k, obj[k]]),
  ...Object.entries(obj).filter(([k]) => !keys.includes(k))];

export async function render(main, params) {
  loading(main);
  const now = new Date();
  const from = params.query.get("from") || `${now.getFullYear()}-01-01`;
  const to = params.query.get("to") || isoDay(now);
  const form = h("form", {class: "filters no-print", novalidate: true},
    field({name: "from", label: "Du", type: "date", value: from, required: true}),
    field({name: "to", label: "Au (inclus)", type: "date", value: to, required: true}),
    h("button", {type: "submit", class: "primary"}, "Afficher"));
  const out = h("div", {class: "report"});
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    go(`/rapport?from=${form.elements.from.value}&to=${form.elements.to.value}`);
  });
  put(main, h("h1", {}, "Rapport d'activité"), form, out);
  if (!params.query.get("from")) return;
  loading(out, "Calcul du rapport…");
  clearErrors(form);
  let rep;
  try {
    rep = await get("/reports/activity", {from, to});
  } catch (err) {
    showErrors(form, err);
    return;
  }
  const pct = rep.no_show_rate === null ? "—" : `${Math.round(rep.no_show_rate * 100)} %`;
  const sms = rep.notifications.sms || {}, mail = rep.notifications.email || {};
  put(out, 
    h("p", {class: "period"}, `Du ${dayNameYear(parseDay(from))} au ${dayNameYear(parseDay(to))}`),
    h("div", {class: "actions no-print"},
      h("button", {type: "button", onclick: () => window.print()}, "Imprimer"),
      h("button", {type: "button", onclick: async (ev) => {
        await busy(ev.currentTarget, async () => {
          const res = await request("GET", "/reports/activity", {query: {from, to},
            accept: "text/csv", raw: true});
          download(`activite-${from}-${to}.csv`, await res.blob());
        }, "Préparation…");
      }}, "Télécharger en CSV (tableur)")),
    h("dl", {class: "figures"},
      h("dt", {}, "Personnes accompagnées"), h("dd", {}, rep.people.total),
      h("dt", {}, "Présences (services)"), h("dd", {}, rep.attendances.total),
      h("dt", {}, "Séances"), h("dd", {}, rep.sessions.total),
      h("dt", {}, "Taux d'absence"), h("dd", {}, pct)),
    h("div", {class: "charts"},
      bars("Personnes par genre", ordered(rep.people.by_gender, GENDER_KEYS).map(label(GENDERS))),
      bars("Personnes par âge", ordered(rep.people.by_age_bracket, AGE_KEYS).map(label(AGE))),
      bars("Personnes par quartier", ordered(rep.people.by_neighborhood, []).sort((a, b) => b[1] - a[1]).map(label({}))),
      bars("Présences par genre", ordered(rep.attendances.by_gender, GENDER_KEYS).map(label(GENDERS))),
      bars("Présences par âge", ordered(rep.attendances.by_age_bracket, AGE_KEYS).map(label(AGE)))),
    h("h2", {}, "Séances"),
    table("Séances par type", ["Type", "Séances", "Inscrit·e·s", "Présent·e·s", "Absent·e·s"],
      ordered(rep.sessions.by_kind, ["workshop", "permanence", "training"]).map(([k, v]) => [KINDS[k] || k, v.sessions, v.enrolled, v.attended, v.absent])),
    table("Par thème", ["Thème", "Séances", "Inscrit·e·s", "Présent·e·s", "Absent·e·s"],
      Object.entries(rep.sessions.by_theme).map(([k, v]) =>
        [k === "unknown" ? "Non renseigné" : k, v.sessions, v.enrolled, v.attended, v.absent])),
    table("Par niveau", ["Niveau", "Séances", "Inscrit·e·s", "Présent·e·s", "Absent·e·s"],
      ordered(rep.sessions.by_level, ["1", "2", "3", "unknown"]).map(([k, v]) =>
        [LEVELS[k] || "Non renseigné", v.sessions, v.enrolled, v.attended, v.absent])),
    h("h2", {}, "Messages"),
    table("Messages envoyés", ["Canal", "Envoyés", "Reçus", "Échecs", "Non envoyés"],
      [["SMS", sms.sent, sms.delivered, sms.failed, sms.suppressed],
       ["E-mail", mail.sent, mail.delivered, mail.failed, mail.suppressed]]),
    h("p", {}, `SMS facturés : ${rep.sms_segments} (en segments de 160 caractères).`));
}

function table(caption, heads, rows) {
  return scrollBox(h("table", {},
    h("caption", {}, caption),
    h("thead", {}, h("tr", {}, heads.map((t) => h("th", {scope: "col"}, t)))),
    h("tbody", {}, rows.map((r) => h("tr", {}, r.map((c, i) =>
      i === 0 ? h("th", {scope: "row"}, c) : h("td", {}, c ?? 0)))))));
}
