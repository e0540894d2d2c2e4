// People: search by name or phone, and register someone (with consents).
// personForm/personBody are shared with the session page.
import {get, post} from "../api.js";
import {h, put, field, checkbox, showErrors, clearErrors, GENDERS} from "../ui.js";
import {go} from "../app.js";
import {personRecordFields, personRecordBody} from "../records.js";

export function personForm(p, submitLabel) {
  p = p || {};
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
      personRecordFields(p)),
    h("fieldset", {},
      h("legend", {}, "Accord pour recevoir les messages (confirmation, rappels)"),
      checkbox("consent_sms", "Accepte de recevoir des SMS", p.consent_sms),
      checkbox("consent_email", "Accepte de recevoir des e-mails", p.consent_email)),
    h("button", {type: "submit", class: "primary"}, submitLabel));
}

// The form's values as an API body; blank optional fields are left out.
export function personBody(form, forPatch, before) {
  const el = form.elements, body = {};
  for (const k of ["first_name", "last_name", "phone", "email", "gender", "commune",
                   "neighborhood", "prescriber"]) {
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

export async function render(main, params) {
  const results = h("div", {"aria-live": "polite"});
  const search = h("form", {role: "search", class: "inline", "aria-label": "Chercher une personne"},
    field({name: "q", label: "Nom ou téléphone", value: params.query.get("q") || "",
           attrs: {autocomplete: "off"}}),
    h("button", {type: "submit"}, "Chercher"));
  const find = async () => {
    const q = search.elements.q.value.trim();
    if (!q) { put(results, ); return; }
    try {
      const page = await get("/beneficiaries", {q, limit: 50});
      put(results, page.items.length ? h("ul", {class: "plain"}, page.items.map((p) =>
        h("li", {}, h("a", {href: `#/personnes/${p.id}`}, `${p.first_name} ${p.last_name}`),
          p.phone ? ` · ${p.phone}` : "", p.commune ? ` · ${p.commune}` : ""))) :
        h("p", {}, "Personne trouvée."));
    } catch (err) { showErrors(search, err); }
  };
  search.addEventListener("submit", (e) => { e.preventDefault(); find(); });
  const create = personForm(null, "Enregistrer la personne");
  create.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearErrors(create);
    try {
      const p = await post("/beneficiaries", personBody(create));
      go(`/personnes/${p.id}`);
    } catch (err) { showErrors(create, err); }
  });
  put(main, h("h1", {}, "Personnes"), search, results,
    h("section", {"aria-labelledby": "new-t"}, h("h2", {id: "new-t"}, "Nouvelle personne"), create));
  if (params.query.get("q")) await find();
}
