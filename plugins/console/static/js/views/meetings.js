// The network: its meetings (coordination time, kept apart from services to
// people) for a period, a new meeting, and the structures of the network
// (organisations) that meetings, people and referrals name. Every save is
// busy until its answer (onSubmit, busy): a double click records once.
// Route: #/reunions?from=&to= (the current year by default).
import {getAll, post, del, patch} from "../api.js";
import {h, put, field, clearErrors, announce, confirmDialog, loading, busy, onSubmit, parseDay,
        dayNameYear, scrollBox} from "../ui.js";
import {organisations, forgetOrganisations, relabel, MEETING_KIND, ORG_KIND} from "../records.js";
import {go} from "../app.js";

const LABELS = {kind: "Type", title: "Titre", date: "Date", organisation_ids: "Structures",
  attendees: "Participants", minutes: "Durée (minutes)", name: "Nom", commune: "Commune"};

export async function render(main, params) {
  loading(main);
  const year = new Date().getFullYear();
  const from = params.query.get("from") || `${year}-01-01`;
  const to = params.query.get("to") || `${year}-12-31`;
  const [meetings, orgs] = await Promise.all([getAll("/meetings", {from, to}), organisations(true)]);
  const name = new Map(orgs.map((o) => [o.id, o.name]));

  const filter = h("form", {class: "filters", "aria-label": "Période"},
    field({name: "from", label: "Du", type: "date", value: from}),
    field({name: "to", label: "Au (inclus)", type: "date", value: to}),
    h("button", {type: "submit"}, "Afficher"));
  filter.addEventListener("submit", (e) => {
    e.preventDefault();
    go(`/reunions?from=${filter.elements.from.value}&to=${filter.elements.to.value}`);
  });

  const total = meetings.reduce((a, m) => a + (m.minutes || 0), 0);
  // Tables scroll in a box of their own on a phone, never the page.
  const table = meetings.length ? scrollBox(h("table", {},
    h("caption", {}, `${meetings.length} réunion${meetings.length > 1 ? "s" : ""}, ` +
      `${Math.floor(total / 60)} h ${String(total % 60).padStart(2, "0")} de coordination`),
    h("thead", {}, h("tr", {}, ["Date", "Type", "Titre", "Structures", "Participants", "Durée"]
      .map((t) => h("th", {scope: "col"}, t)), h("th", {scope: "col"},
      h("span", {class: "visually-hidden"}, "Supprimer")))),
    h("tbody", {}, meetings.map((m) => h("tr", {},
      h("td", {}, dayNameYear(parseDay(m.date))), h("td", {}, MEETING_KIND[m.kind] || m.kind),
      h("td", {}, m.title), h("td", {}, m.organisation_ids.map((i) => name.get(i) || i).join(", ")),
      h("td", {}, m.attendees ?? "—"), h("td", {}, m.minutes ? `${m.minutes} min` : "—"),
      h("td", {}, h("button", {type: "button", class: "danger small", onclick: async (ev) => {
        const button = ev.currentTarget;
        if (!(await confirmDialog(`Supprimer « ${m.title} » ?`,
          "La réunion ne comptera plus dans le temps de coordination.", "Supprimer"))) return;
        await busy(button, async () => {
          try {
            await del(`/meetings/${m.id}`);
            announce("Réunion supprimée.");
            await render(main, params);
          } catch (err) { announce(err.message, "error"); }
        }, "Suppression…");
      }}, "Supprimer"))))))) : h("p", {class: "empty"}, "Aucune réunion sur cette période.");

  const form = h("form", {class: "card", novalidate: true},
    h("div", {class: "grid2"},
      field({name: "kind", label: "Type", required: true,
             options: [["", "Choisir…"], ...Object.entries(MEETING_KIND)]}),
      field({name: "title", label: "Titre", required: true}),
      field({name: "date", label: "Date", type: "date", required: true}),
      field({name: "attendees", label: "Participants", type: "number",
             attrs: {min: 0, inputmode: "numeric"}}),
      field({name: "minutes", label: "Durée (minutes)", type: "number",
             attrs: {min: 1, max: 1440, inputmode: "numeric"}})),
    h("fieldset", {"data-field": "organisation_ids"},
      h("legend", {}, "Structures présentes"),
      h("div", {class: "checks"}, orgs.map((o) => {
        const id = `org-${o.id}`;
        return h("div", {class: "check"}, h("input", {type: "checkbox", id, name: "org",
          value: o.id}), h("label", {for: id}, o.name));
      })),
      h("p", {class: "field-error"})),
    h("button", {type: "submit", class: "primary"}, "Enregistrer la réunion"));
  onSubmit(form, async () => {
    clearErrors(form);
    const el = form.elements, body = {organisation_ids: [...form.querySelectorAll(
      "input[name=org]:checked")].map((c) => Number(c.value))};
    for (const k of ["kind", "title", "date"]) if (el[k].value.trim()) body[k] = el[k].value.trim();
    for (const k of ["attendees", "minutes"]) if (el[k].value.trim()) body[k] = Number(el[k].value);
    try {
      await post("/meetings", body);
    } catch (err) { throw relabel(err, LABELS); }
    announce("Réunion enregistrée.");
    await render(main, params);
    return "leave";   /* the view was drawn again */
  });

  put(main, h("h1", {}, "Réunions du réseau"),
    h("p", {class: "summary"}, "Le temps de coordination (comités, groupes de travail, " +
      "rencontres du réseau…), compté à part des services rendus aux personnes."),
    filter, table,
    h("section", {"aria-labelledby": "new-m"}, h("h2", {id: "new-m"}, "Nouvelle réunion"), form),
    organisationsSection(orgs, () => { forgetOrganisations(); return render(main, params); }));
}

// The structures of the network: a list (kind editable) and a new one.
function organisationsSection(orgs, again) {
  const form = h("form", {class: "card inline", novalidate: true, "aria-label": "Nouvelle structure"},
    field({name: "name", label: "Nom", required: true}),
    field({name: "kind", label: "Type", value: "other", options: Object.entries(ORG_KIND)}),
    field({name: "commune", label: "Commune"}),
    h("button", {type: "submit", class: "primary"}, "Ajouter la structure"));
  onSubmit(form, async () => {
    clearErrors(form);
    const el = form.elements, body = {name: el.name.value.trim(), kind: el.kind.value};
    if (el.commune.value.trim()) body.commune = el.commune.value.trim();
    try {
      await post("/organisations", body);
    } catch (err) { throw relabel(err, LABELS); }
    announce(`Structure « ${body.name} » ajoutée.`);
    await again();
    return "leave";   /* the view was drawn again */
  });
  const rows = orgs.map((o) => {
    // One change at a time: the list is disabled until the answer.
    const kind = h("select", {"aria-label": `Type de ${o.name}`, onchange: async () => {
      kind.disabled = true;
      kind.setAttribute("aria-busy", "true");
      try {
        await patch(`/organisations/${o.id}`, {kind: kind.value});
        announce(`${o.name} : ${ORG_KIND[kind.value]}.`);
      } catch (err) {
        announce(err.message, "error");
      } finally {
        kind.disabled = false;
        kind.removeAttribute("aria-busy");
      }
    }}, Object.entries(ORG_KIND).map(([v, t]) => h("option", {value: v, selected: v === o.kind}, t)));
    return h("tr", {}, h("td", {}, o.name), h("td", {}, kind), h("td", {}, o.commune || "—"),
      h("td", {}, h("button", {type: "button", class: "danger small", onclick: async (ev) => {
        const button = ev.currentTarget;
        if (!(await confirmDialog(`Supprimer « ${o.name} » ?`,
          "Seule une structure que personne, aucun accompagnement ni aucune réunion ne nomme " +
          "peut être supprimée.", "Supprimer"))) return;
        await busy(button, async () => {
          try {
            await del(`/organisations/${o.id}`);
            announce("Structure supprimée.");
            await again();
          } catch (err) {
            announce(err.status === 409 ? "Cette structure est citée (personnes, accompagnements " +
              "ou réunions) : elle reste." : err.message, "error");
          }
        }, "Suppression…");
      }}, "Supprimer")));
  });
  return h("section", {"aria-labelledby": "orgs-t"},
    h("h2", {id: "orgs-t"}, "Structures du réseau"),
    orgs.length ? scrollBox(h("table", {class: "compact"},
      h("caption", {class: "visually-hidden"}, "Structures du réseau"),
      h("thead", {}, h("tr", {}, ["Nom", "Type", "Commune"].map((t) => h("th", {scope: "col"}, t)),
        h("th", {scope: "col"}, h("span", {class: "visually-hidden"}, "Supprimer")))),
      h("tbody", {}, rows))) : h("p", {class: "empty"}, "Aucune structure."),
    form);
}
