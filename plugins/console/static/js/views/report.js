// The activity report: one period or several side by side (a column each,
// the total last, the share of each count beside it), filters (who, where,
// what kind), charts, printable, and the same as a workbook (XLSX), CSV
// tables or the printable page the server makes. Signed in with the
// session cookie like every view (api.js); errors in French (api.js), each
// action busy while it runs (ui.js: onSubmit, busy).
import {get, request} from "../api.js";
import {h, put, field, showErrors, clearErrors, download, busy, onSubmit, loading, KINDS, LEVELS,
        GENDERS, isoDay, parseDay, dayNameYear} from "../ui.js";
import {bars} from "./charts.js";
import {go} from "../app.js";
import {refs} from "../refs.js";
import {organisations, AUDIENCE, RESIDENCE, MODALITY, MEETING_KIND, AGE} from "../records.js";

const MAX_PERIODS = 12;
const FILTERS = ["audience", "kind", "venue_id", "commune", "organisation_id"];
const GENDER_KEYS = ["F", "M", "X", "unknown"];
const unknown = (k) => (k === "unknown" ? "Non renseigné" : k);
const XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

// The periods the URL asks for: ?period=A..B repeated, or ?from=&to=.
function periodsOf(query) {
  const list = query.getAll("period").map((p) => p.split(".."))
    .filter((p) => p.length === 2 && p[0] && p[1]);
  if (list.length) return list;
  if (query.get("from") && query.get("to")) return [[query.get("from"), query.get("to")]];
  return null;
}

const fr = (s) => (/^\d{4}-\d{2}-\d{2}$/.test(s) ? dayNameYear(parseDay(s)) : s);
const short = ([a, b]) => `${a.split("-").reverse().join("/")} – ${b.split("-").reverse().join("/")}`;
const pct = (v) => (v === null || v === undefined ? "—" : `${Math.round(v * 100)} %`);
const num = (v) => (v === null || v === undefined ? "—" :
  Number.isInteger(v) ? v.toLocaleString("fr-FR") : v.toLocaleString("fr-FR", {maximumFractionDigits: 2}));
const share = (v, whole) => (whole > 0 ? `${(Math.round(v * 1000 / whole) / 10).toLocaleString("fr-FR")} %` : "—");
const at = (obj, path) => path.split(".").reduce((o, k) => (o == null ? o : o[k]), obj);
// Age brackets in order: "<26", "26-35"…, "56+", then "unknown".
const ageRank = (k) => (k === "unknown" ? 1e6 : k.startsWith("<") ? -1 : parseInt(k, 10));
const byAge = (entries) => entries.sort((a, b) => ageRank(a[0]) - ageRank(b[0]));
const AUDIENCE_SHORT = {resident: "Habitant·e·s", professional: "Professionnel·le·s"};

// One period's row of the form: its two dates, and a button to remove it.
function periodRow(i, [from, to], count, onRemove) {
  const n = i + 1;
  return h("fieldset", {class: "period-row", "data-period": n},
    h("legend", {}, count > 1 ? `Période ${n}` : "Période"),
    field({name: `from${n}`, label: "Du", type: "date", value: from, required: true}),
    field({name: `to${n}`, label: "Au (inclus)", type: "date", value: to, required: true}),
    count > 1 ? h("button", {type: "button", class: "remove", onclick: onRemove,
                             "aria-label": `Retirer la période ${n}`}, "Retirer") : null);
}

function filterFields(query, venues, orgs) {
  const communes = [...new Set(venues.map((v) => v.commune).filter(Boolean))].sort();
  return h("fieldset", {class: "report-filters"},
    h("legend", {}, "Filtres (facultatifs)"),
    h("div", {class: "grid3"},
      field({name: "audience", label: "Public", value: query.get("audience") || "",
             options: [["", "Tous"], ["resident", "Habitant·e·s"], ["professional", "Professionnel·le·s"]]}),
      field({name: "kind", label: "Type de séance", value: query.get("kind") || "",
             options: [["", "Tous"], ...Object.entries(KINDS)]}),
      field({name: "venue_id", label: "Lieu", value: query.get("venue_id") || "",
             options: [["", "Tous"], ...venues.map((v) => [v.id, v.name])]}),
      field({name: "commune", label: "Commune (lieu de la séance)", value: query.get("commune") || "",
             options: [["", "Toutes"], ...communes.map((c) => [c, c])]}),
      field({name: "organisation_id", label: "Structure (prescripteur, employeur)",
             value: query.get("organisation_id") || "",
             options: [["", "Toutes"], ...orgs.map((o) => [o.id, o.name])]})));
}

export async function render(main, params) {
  loading(main);
  const now = new Date();
  let periods = periodsOf(params.query) || [[`${now.getFullYear()}-01-01`, isoDay(now)]];
  const [{venues}, orgs] = await Promise.all([refs(), organisations()]);
  const form = h("form", {class: "report-form no-print", novalidate: true});
  const rows = h("div", {class: "periods"});
  const drawRows = () => put(rows, periods.map((p, i) => periodRow(i, p, periods.length, () => {
    read();
    periods.splice(i, 1);
    drawRows();
  })));
  // The dates as typed, kept when a row is added or removed.
  const read = () => {
    periods = periods.map((p, i) => [form.elements[`from${i + 1}`].value,
                                     form.elements[`to${i + 1}`].value]);
  };
  drawRows();
  const add = h("button", {type: "button", onclick: () => {
    read();
    if (periods.length >= MAX_PERIODS) return;
    const last = periods[periods.length - 1];
    const next = new Date(parseDay(last[1]).getTime() + 86400e3);
    periods.push([isoDay(next), isoDay(new Date(next.getFullYear() + 1, next.getMonth(),
                                                 next.getDate() - 1))]);
    drawRows();
    rows.querySelector(`[data-period="${periods.length}"] input`).focus();
  }}, "Ajouter une période");
  put(form, rows, h("div", {class: "actions"}, add), filterFields(params.query, venues, orgs),
    h("button", {type: "submit", class: "primary"}, "Afficher"));
  const out = h("div", {class: "report"});
  // The view is drawn again for the new address: the button stays busy
  // until then ("leave").
  onSubmit(form, async () => {
    read();
    const q = new URLSearchParams();
    periods.forEach(([a, b]) => q.append("period", `${a}..${b}`));
    for (const k of FILTERS) if (form.elements[k].value) q.set(k, form.elements[k].value);
    go(`/rapport?${q}`);
    return "leave";
  }, "Calcul…");
  put(main, h("h1", {}, "Rapport d'activité"), form, out);
  if (!periodsOf(params.query)) return;

  loading(out, "Calcul du rapport…");
  clearErrors(form);
  const query = {period: periods.map(([a, b]) => `${a}..${b}`)};
  for (const k of FILTERS) if (params.query.get(k)) query[k] = params.query.get(k);
  let rep;
  try {
    rep = await get("/reports/activity", query);
  } catch (err) {
    out.replaceChildren();
    showErrors(form, err);
    return;
  }
  // The columns: each period, then their total (one period: itself).
  const reps = periods.length > 1 ? [...rep.periods, rep.total] : [rep.periods[0]];
  const heads = periods.length > 1 ? [...periods.map(short), "Total"] : [short(periods[0])];
  const last = reps[reps.length - 1];
  // A download: the button busy while the server prepares the file; a
  // failure said in French beside the buttons.
  const problem = h("p", {class: "form-errors", role: "alert", hidden: true});
  const fetchAs = (accept, name) => async (ev) => {
    problem.hidden = true;
    await busy(ev.currentTarget, async () => {
      try {
        const res = await request("GET", "/reports/activity", {query, accept, raw: true});
        download(name, await res.blob());
      } catch (err) {
        problem.textContent = err.message;
        problem.hidden = false;
      }
    }, "Préparation…");
  };
  const stamp = periods.length > 1 ? `${periods[0][0]}-${periods[periods.length - 1][1]}`
    : `${periods[0][0]}-${periods[0][1]}`;
  const scope = [];
  if (query.audience) scope.push(AUDIENCE[query.audience]);
  if (query.kind) scope.push(KINDS[query.kind]);
  if (query.venue_id) scope.push(venues.find((v) => String(v.id) === query.venue_id)?.name);
  if (query.commune) scope.push(query.commune);
  if (query.organisation_id) scope.push(orgs.find((o) => String(o.id) === query.organisation_id)?.name);

  put(out,
    h("p", {class: "period"}, periods.length > 1
      ? `${periods.length} périodes, du ${fr(periods[0][0])} au ${fr(periods[periods.length - 1][1])}, et leur total`
      : `Du ${fr(periods[0][0])} au ${fr(periods[0][1])}`),
    scope.length ? h("p", {}, `Périmètre : ${scope.filter(Boolean).join(", ")}`) : null,
    h("div", {class: "actions no-print"},
      h("button", {type: "button", onclick: () => window.print()}, "Imprimer"),
      h("button", {type: "button", class: "primary", onclick: fetchAs(XLSX, `activite-${stamp}.xlsx`)},
        "Télécharger le classeur (Excel)"),
      h("button", {type: "button", onclick: fetchAs("text/csv", `activite-${stamp}.csv`)},
        "Télécharger en CSV"),
      h("button", {type: "button", onclick: fetchAs("text/html", `activite-${stamp}.html`)},
        "Télécharger la page imprimable")),
    problem,
    h("dl", {class: "figures"},
      h("dt", {}, "Personnes accompagnées"), h("dd", {}, num(last.people.total)),
      h("dt", {}, "dont habitant·e·s"), h("dd", {}, num(last.people.by_audience.resident)),
      h("dt", {}, "dont professionnel·le·s formé·e·s"), h("dd", {}, num(last.people.by_audience.professional)),
      h("dt", {}, "Présences (services)"), h("dd", {}, num(last.attendances.total)),
      h("dt", {}, "Accompagnements individuels"), h("dd", {}, num(last.accompaniments.total)),
      h("dt", {}, "Heures-personnes"), h("dd", {}, num(last.hours.person_hours)),
      h("dt", {}, "Séances tenues"), h("dd", {}, num(last.sessions.total)),
      h("dt", {}, "Taux d'absence"), h("dd", {}, pct(last.no_show_rate))),
    h("div", {class: "charts"},
      bars("Personnes par genre", GENDER_KEYS.map((k) => [GENDERS[k] || "Non renseigné", last.people.by_gender[k] ?? 0])),
      bars("Personnes par âge", byAge(Object.entries(last.people.by_age_bracket)).map(([k, v]) => [k === "unknown" ? "Non renseigné" : AGE(k), v])),
      bars("Personnes par quartier", Object.entries(last.people.by_neighborhood).sort((a, b) => b[1] - a[1]).map(([k, v]) => [unknown(k), v])),
      bars("Présences : habitants et professionnels", ["resident", "professional"].map((k) => [AUDIENCE_SHORT[k], last.attendances.by_audience[k] ?? 0]))),
    h("h2", {}, "Indicateurs"),
    indicators(heads, reps),
    h("h2", {}, "Personnes et présences"),
    compare("Personnes par genre", "Genre", heads, reps, "people.by_gender", GENDER_KEYS, (k) => GENDERS[k] || "Non renseigné", "people.total"),
    compare("Personnes par tranche d'âge", "Tranche d'âge", heads, reps, "people.by_age_bracket", null, (k) => (k === "unknown" ? "Non renseigné" : AGE(k)), "people.total"),
    compare("Personnes : habitants et professionnels", "Public", heads, reps, "people.by_audience", ["resident", "professional"], (k) => AUDIENCE[k], "people.total"),
    compare("Personnes par lieu de résidence", "Résidence", heads, reps, "people.by_residence", ["qpv", "qva", "outside", "unknown"], (k) => RESIDENCE[k] || "Non renseigné", "people.total"),
    compare("Personnes par quartier", "Quartier", heads, reps, "people.by_neighborhood", null, unknown, "people.total"),
    compare("Présences par genre", "Genre", heads, reps, "attendances.by_gender", GENDER_KEYS, (k) => GENDERS[k] || "Non renseigné", "attendances.total"),
    compare("Présences : habitants et professionnels", "Public", heads, reps, "attendances.by_audience", ["resident", "professional"], (k) => AUDIENCE[k], "attendances.total"),
    h("h2", {}, "Séances et accompagnements"),
    compare("Séances tenues par type", "Type", heads, reps, "sessions.by_kind", ["workshop", "permanence", "training"], (k) => KINDS[k], "sessions.total", "sessions"),
    compare("Présences par type de séance", "Type", heads, reps, "sessions.by_kind", ["workshop", "permanence", "training"], (k) => KINDS[k], null, "attended"),
    compare("Séances par niveau", "Niveau", heads, reps, "sessions.by_level", ["1", "2", "3", "unknown"], (k) => LEVELS[k] || "Sans niveau", "sessions.total", "sessions"),
    compare("Séances annulées par motif", "Motif", heads, reps, "sessions.cancelled.by_reason", null, (k) => (k === "unknown" ? "Sans motif" : k), "sessions.cancelled.total"),
    compare("Accompagnements par thème", "Thème", heads, reps, "accompaniments.by_theme", null, (k) => k, "accompaniments.total"),
    compare("Accompagnements par modalité", "Modalité", heads, reps, "accompaniments.by_modality", Object.keys(MODALITY), (k) => MODALITY[k], "accompaniments.total"),
    h("h2", {}, "Réseau et matériel"),
    compare("Réunions du réseau par type", "Type", heads, reps, "coordination.by_kind", Object.keys(MEETING_KIND), (k) => MEETING_KIND[k], "coordination.meetings"),
    compare("Utilisateurs du matériel par tranche d'âge", "Tranche d'âge", heads, reps, "equipment.by_age_bracket", null, (k) => (k === "unknown" ? "Non renseigné" : AGE(k)), "equipment.people"),
    h("h2", {}, "Messages"),
    h("p", {}, `SMS facturés : ${num(last.sms_segments)} segment(s) de 160 caractères.`));
}

// A table that scrolls on a narrow screen, reachable from the keyboard.
function scroller(caption, table) {
  return h("div", {class: "scroll", tabindex: "0", role: "region", "aria-label": caption}, table);
}

function indicators(heads, reps) {
  const list = [
    ["Personnes accompagnées", "people.total"], ["dont habitant·e·s", "people.by_audience.resident"],
    ["dont professionnel·le·s", "people.by_audience.professional"],
    ["Présences (services)", "attendances.total"], ["Heures de séances", "hours.sessions"],
    ["Heures-personnes", "hours.person_hours"], ["Séances tenues", "sessions.total"],
    ["Séances annulées", "sessions.cancelled.total"], ["Accompagnements", "accompaniments.total"],
    ["Taux d'absence", "no_show_rate", pct], ["Réponses aux enquêtes", "surveys.responses"],
    ["Personnes évaluées avec Pix", "pix.people_assessed"], ["Réunions du réseau", "coordination.meetings"],
    ["Prêts de matériel", "equipment.loans"], ["Utilisateurs du matériel", "equipment.people"]];
  const caption = "Indicateurs par période";
  return scroller(caption, h("table", {class: "compare"},
    h("caption", {}, caption),
    h("thead", {}, h("tr", {}, h("th", {scope: "col"}, "Indicateur"), heads.map((t) => h("th", {scope: "col"}, t)))),
    h("tbody", {}, list.map(([label, path, f]) => h("tr", {}, h("th", {scope: "row"}, label),
      reps.map((r) => h("td", {}, (f || num)(at(r, path)))))))));
}

// A breakdown with the periods as columns, each count with its share of
// WHOLE (a path; none: no share). MEASURE picks a field of each entry.
function compare(caption, head, heads, reps, path, order, name, whole, measure) {
  const keys = new Set(order || []);
  for (const r of reps) Object.keys(at(r, path) || {}).forEach((k) => keys.add(k));
  const rank = (k) => (order ? (order.includes(k) ? order.indexOf(k) : 999)
    : path.endsWith("by_age_bracket") ? ageRank(k) : 0);
  const list = [...keys].sort((a, b) => rank(a) - rank(b) || (a === "unknown") - (b === "unknown"));
  const value = (r, k) => {
    const v = (at(r, path) || {})[k];
    return measure ? (v ? v[measure] : 0) : (v ?? 0);
  };
  return scroller(caption, h("table", {class: "compare"},
    h("caption", {}, caption),
    h("thead", {}, h("tr", {}, h("th", {scope: "col"}, head),
      heads.flatMap((t) => [h("th", {scope: "col"}, t), whole ? h("th", {scope: "col", class: "pc"}, "%") : null]))),
    h("tbody", {}, list.map((k) => h("tr", {}, h("th", {scope: "row"}, name(k) || k),
      reps.flatMap((r) => [h("td", {}, num(value(r, k))),
        whole ? h("td", {class: "pc"}, share(value(r, k), at(r, whole))) : null]))))));
}
