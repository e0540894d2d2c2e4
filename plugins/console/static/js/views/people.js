// People: search by name or phone (in any spelling), and register someone
// (with consents, and a clear warning when SMS consent is not given).
// personForm/personBody/prefillFromSearch are shared with the session page.
// #/personnes?first_name=…&last_name=…&external_id=… opens the form
// prefilled (from the Pix import's list of people not recognised).
import {get, post} from "../api.js";
import {h, put, field, checkbox, showErrors, clearErrors, onSubmit, GENDERS, loading} from "../ui.js";
import {go} from "../app.js";
import {personRecordFields, personRecordBody} from "../records.js";

const NO_SMS = "Sans cet accord, elle ne recevra aucun rappel ni confirmation par SMS.";

export function personForm(p, submitLabel) {
  p = p || {};
  const sms = checkbox("consent_sms", "Accepte de recevoir des SMS", p.consent_sms);
  const warning = h("p", {class: "warning", id: `${sms.querySelector("input").id}-warn`,
                          role: "note"}, NO_SMS);
  const box = sms.querySelector("input");
  box.setAttribute("aria-describedby", warning.id);
  const sync = () => { warning.hidden = box.checked; };
  box.addEventListener("change", sync);
  sync();
  return h("form", {class: "card", novalidate: true},
    h("div", {class: "grid2"},
      field({name: "first_name", label: "Prénom", required: true, value: p.first_name,
             attrs: {autocomplete: "off"}}),
      field({name: "last_name", label: "Nom", required: true, value: p.last_name,
             attrs: {autocomplete: "off"}}),
      field({name: "phone", label: "Téléphone", type: "tel", value: p.phone,
             hint: "Par exemple 06 12 34 56 78", attrs: {autocomplete: "off"}}),
      field({name: "email", label: "E-mail", type: "email", value: p.email,
             attrs: {autocomplete: "off"}}),
      field({name: "birth_year", label: "Année de naissance", type: "number", value: p.birth_year,
             attrs: {min: 1900, max: new Date().getFullYear(), inputmode: "numeric"}}),
      field({name: "gender", label: "Genre", value: p.gender,
             options: [["", "Non précisé"], ...Object.entries(GENDERS)]}),
      field({name: "commune", label: "Commune", value: p.commune}),
      field({name: "neighborhood", label: "Quartier", value: p.neighborhood}),
      field({name: "prescriber", label: "Orientée par (prescripteur)", value: p.prescriber,
             hint: "Par exemple : CCAS, France Travail, assistante sociale"}),
      field({name: "external_id", label: "Identifiant externe (Pix, France Travail…)",
             value: p.external_id}),
      personRecordFields(p)),
    h("fieldset", {},
      h("legend", {}, "Accord pour recevoir les messages (confirmation, rappels)"),
      sms, warning,
      checkbox("consent_email", "Accepte de recevoir des e-mails", p.consent_email)),
    h("button", {type: "submit", class: "primary"}, submitLabel));
}

// The form's values as an API body; blank optional fields are left out.
export function personBody(form, forPatch, before) {
  const el = form.elements, body = {};
  for (const k of ["first_name", "last_name", "phone", "email", "gender", "commune",
                   "neighborhood", "prescriber", "external_id"]) {
    const v = el[k].value.trim();
    if (v) body[k] = v;
    else if (forPatch) body[k] = null;
  }
  const y = el.birth_year.value.trim();
  if (y) body.birth_year = Number(y);
  else if (forPatch) body.birth_year = null;
  body.consent_sms = el.consent_sms.checked;
  body.consent_email = el.consent_email.checked;
  personRecordBody(el, body, forPatch, before);
  return body;
}

// What was searched, into the new-person form: a number into the phone,
// words into the names (the last word is taken as the last name).
export function prefillFromSearch(form, q) {
  const el = form.elements;
  if (/^[+\d][\d\s.()-]*$/.test(q)) {
    el.phone.value = q;
    return;
  }
  const words = q.trim().split(/\s+/);
  if (words.length > 1) {
    el.first_name.value = words.slice(0, -1).join(" ");
    el.last_name.value = words[words.length - 1];
  } else {
    el.last_name.value = words[0] || "";
  }
}

export async function render(main, params) {
  loading(main);
  const results = h("div", {"aria-live": "polite"});
  const search = h("form", {role: "search", class: "inline", "aria-label": "Chercher une personne"},
    field({name: "q", label: "Nom ou téléphone", value: params.query.get("q") || "",
           attrs: {autocomplete: "off"}}),
    h("button", {type: "submit"}, "Chercher"));
  const q0 = params.query;
  const create = personForm({first_name: q0.get("first_name"), last_name: q0.get("last_name"),
                             external_id: q0.get("external_id")}, "Enregistrer la personne");
  const section = h("section", {"aria-labelledby": "new-t"},
    h("h2", {id: "new-t"}, "Nouvelle personne"), create);
  const find = async () => {
    const q = search.elements.q.value.trim();
    if (!q) { put(results); return; }
    const page = await get("/beneficiaries", {q, limit: 50});
    if (!page.items.length) {
      prefillFromSearch(create, q);
      put(results, h("p", {class: "notice"}, `Aucune personne trouvée pour « ${q} ». ` +
        "Le formulaire « Nouvelle personne » est prérempli."));
      return;
    }
    put(results, h("p", {}, `${page.items.length} personne${page.items.length > 1 ? "s" : ""} ` +
      `trouvée${page.items.length > 1 ? "s" : ""} :`),
      h("ul", {class: "plain"}, page.items.map((p) =>
        h("li", {}, h("a", {href: `#/personnes/${p.id}`}, `${p.first_name} ${p.last_name}`),
          p.phone ? ` · ${p.phone}` : "", p.commune ? ` · ${p.commune}` : ""))));
  };
  onSubmit(search, async () => { clearErrors(search); await find(); }, "Recherche…");
  onSubmit(create, async () => {
    clearErrors(create);
    const p = await post("/beneficiaries", personBody(create));
    go(`/personnes/${p.id}`);
    return "leave";
  });
  put(main, h("h1", {}, "Personnes"), search, results, section);
  if (q0.get("q")) {
    try { await find(); } catch (err) { showErrors(search, err); }
  }
  if (q0.get("first_name") || q0.get("last_name")) create.elements.first_name.focus();
}
