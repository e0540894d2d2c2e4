// The programme's records in the console: their vocabulary (read once from
// /vocabulary), the organisations of the network, French words for the
// API's values, big toggle buttons for tablets, and the person form's
// organisation, audience and residence fields (shared by the people views).
// Saving goes through ui.js's busy()/onSubmit(), as everywhere in the
// console: a double click never records twice.
import {get, getAll} from "./api.js";
import {h, field, newId, scrollBox} from "./ui.js";

let vocab = null, orgs = null;
export async function vocabulary() {
  if (!vocab) vocab = await get("/vocabulary");
  return vocab;
}
export async function organisations(force) {
  if (!orgs || force) orgs = await getAll("/organisations");
  return orgs;
}
export const forgetOrganisations = () => { orgs = null; };

// --- words -----------------------------------------------------------------
export const MODALITY = {on_site: "Sur place", phone: "Téléphone", home: "À domicile",
  remote: "À distance"};
export const EQUIPMENT = {own_smartphone: "Son smartphone", own_computer: "Son ordinateur",
  own_tablet: "Sa tablette", venue_computer: "Ordinateur du lieu", venue_tablet: "Tablette du lieu",
  loaned_device: "Matériel prêté", none: "Aucun"};
export const RESIDENCE = {qpv: "Quartier prioritaire (QPV)", qva: "Quartier de veille (QVA)",
  outside: "Hors quartier prioritaire"};
export const AUDIENCE = {resident: "Habitant·e", professional: "Professionnel·le en formation"};
export const ORG_KIND = {ccas: "CCAS", caf: "CAF", centre_social: "Centre social",
  association: "Association", france_services: "France Services", mission_locale: "Mission locale",
  france_travail: "France Travail", bailleur: "Bailleur social", ecole: "École",
  mediatheque: "Médiathèque", commune: "Commune", departement: "Département", other: "Autre"};
export const MEETING_KIND = {steering_committee: "Comité de pilotage",
  technical_committee: "Comité technique", working_group: "Groupe de travail",
  network: "Rencontre du réseau", professional_training: "Formation de professionnels",
  other: "Autre"};
export const DEVICE_KIND = {computer: "Ordinateur", tablet: "Tablette", smartphone: "Smartphone",
  other: "Autre"};
export const AUTONOMY = {1: "Pas autonome", 2: "En partie autonome", 3: "Autonome"};
export const GENDER = {F: "Femme", M: "Homme", X: "Autre"};
export const AGE = (b) => b === "<26" ? "Moins de 26 ans" : b.endsWith("+") ?
  `${b.slice(0, -1)} ans et plus` : `${b.replace("-", " à ")} ans`;

// Gives ERR's fields the LABELS of this form (the messages are already
// French: api.js maps the records' checks with the others).
export function relabel(err, labels) {
  for (const f of err.fields || []) {
    const key = String(f.field).replace(/^counts\[\d+\]\./, "");
    if (labels[f.field]) f.label = labels[f.field];
    else if (labels[key]) f.label = labels[key];
  }
  return err;
}

// --- big toggle buttons ------------------------------------------------------
// A fieldset of toggle buttons (aria-pressed), for a tablet: one choice, or
// several (MULTIPLE). OPTIONS: [[value, text]…]. Returns the element with
// .value() and .set(v) (a value, or a list when MULTIPLE; null for none).
// The fieldset carries data-field NAME, so showErrors() finds its slot.
export function toggles({name, legend, options, multiple = false, value = null, onchange,
                         hint, compact = false}) {
  const id = newId(name);
  let chosen = multiple ? new Set(value || []) : value;
  const buttons = options.map(([v, text]) => h("button", {type: "button", class: "toggle big",
    "data-value": String(v), "aria-pressed": "false", onclick: () => {
      if (multiple) {
        if (chosen.has(v)) chosen.delete(v); else chosen.add(v);
      } else {
        chosen = chosen === v ? null : v;
      }
      paint();
      if (onchange) onchange(el.value());
    }}, text));
  const paint = () => buttons.forEach((b, i) => b.setAttribute("aria-pressed",
    String(multiple ? chosen.has(options[i][0]) : chosen === options[i][0])));
  const el = h("fieldset", {class: `toggles${compact ? " compact" : ""}`, "data-field": name,
                            "aria-describedby": id + "-err"},
    h("legend", {}, legend),
    hint ? h("p", {class: "hint"}, hint) : null,
    h("div", {class: "toggle-row"}, buttons),
    h("p", {class: "field-error", id: id + "-err"}));
  el.value = () => multiple ? options.map(([v]) => v).filter((v) => chosen.has(v)) : chosen;
  el.set = (v) => { chosen = multiple ? new Set(v || []) : v; paint(); };
  paint();
  return el;
}

// --- the person form ------------------------------------------------------------
// Organisation (the prescriber or, for a professional, the employer),
// audience and residence, added to the people form. The organisation list
// arrives after the form is shown.
export function personRecordFields(p) {
  p = p || {};
  const org = field({name: "organisation_id", label: "Structure (orientée par, ou employeur)",
    value: p.organisation_id ?? "", options: [["", "Aucune"]],
    hint: "Une structure du réseau ; à défaut, le prescripteur ci-dessus en crée une."});
  const select = org.querySelector("select");
  organisations().then((list) => {
    for (const o of list) select.append(h("option", {value: o.id, selected: o.id === p.organisation_id},
      `${o.name}${o.commune ? " (" + o.commune + ")" : ""}`));
  }).catch(() => { /* the field stays with "Aucune": the API says the rest */ });
  return [org,
    field({name: "audience", label: "Public", value: p.audience || "resident",
           options: Object.entries(AUDIENCE)}),
    field({name: "residence", label: "Résidence", value: p.residence ?? "",
           hint: "Vide : déduite du quartier quand il est prioritaire.",
           options: [["", "Non précisée"], ...Object.entries(RESIDENCE)]})];
}

// Adds the fields above to BODY. A POST leaves a blank residence out (the
// quarter may set it); a PATCH sends the residence only when it was changed
// in the form, so that a new quarter sets it again on the server.
export function personRecordBody(el, body, forPatch, before) {
  const org = el.organisation_id.value;
  if (org) body.organisation_id = Number(org);
  else if (forPatch) body.organisation_id = null;
  body.audience = el.audience.value;
  const res = el.residence.value || null;
  if (forPatch ? res !== ((before && before.residence) || null) : res) body.residence = res;
}

// A person's accompaniments (the export's), as a table.
export function accompanimentsTable(items, caption) {
  if (!items || !items.length) return h("p", {class: "empty"}, "Aucun accompagnement.");
  const when = (a) => new Intl.DateTimeFormat("fr-FR", {day: "numeric", month: "short",
    year: "numeric"}).format(new Date(a.started_at));
  // In a box of its own, which scrolls on a phone rather than the page.
  return scrollBox(h("table", {class: "compact"},
    h("caption", {class: "visually-hidden"}, caption),
    h("thead", {}, h("tr", {}, ["Date", "Thèmes", "Durée", "Comment", "Démarche"].map((t) =>
      h("th", {scope: "col"}, t)))),
    h("tbody", {}, items.map((a) => h("tr", {},
      h("td", {}, when(a)), h("td", {}, a.themes.join(", ")), h("td", {}, `${a.minutes} min`),
      h("td", {}, MODALITY[a.modality] || a.modality),
      h("td", {}, a.procedure ? `${a.procedure.operator}${a.procedure.done ? " (aboutie)" : ""}` :
        "—"))))));
}
