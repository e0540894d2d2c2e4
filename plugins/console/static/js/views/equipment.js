// The programme's devices and their loans: which device is where, who has
// one and until when, lending one to a person (found by name or phone) and
// taking it back. Every save is busy until its answer (onSubmit, busy): a
// double click lends or adds once. Route: #/materiel.
import {get, getAll, post, patch} from "../api.js";
import {refs} from "../refs.js";
import {h, put, field, clearErrors, announce, loading, busy, onSubmit, isoDay, parseDay,
        dayNameYear, scrollBox} from "../ui.js";
import {relabel, DEVICE_KIND} from "../records.js";

const LABELS = {kind: "Type", label: "Nom de l'appareil", venue_id: "Lieu",
  beneficiary_id: "Personne", from: "Prêté le", due: "À rendre le", returned_on: "Rendu le"};
const day = (d) => (d ? dayNameYear(parseDay(d)) : "—");

export async function render(main) {
  loading(main);
  const [devices, loans, r] = await Promise.all([getAll("/equipment"),
    getAll("/loans", {open: 1}), refs()]);
  // The people holding a device, by id (a handful).
  const people = new Map();
  await Promise.all([...new Set(loans.map((l) => l.beneficiary_id))].map(async (id) => {
    const p = await get(`/beneficiaries/${id}`).catch(() => null);
    people.set(id, p ? `${p.first_name} ${p.last_name}` : `personne n° ${id}`);
  }));
  const open = new Map(loans.map((l) => [l.equipment_id, l]));
  const again = () => render(main);

  const rows = devices.map((d) => {
    const loan = open.get(d.id);
    const venue = d.venue_id ? (r.venue.get(d.venue_id) || {}).name : null;
    const state = loan ? `Prêté à ${people.get(loan.beneficiary_id)}` +
      (loan.due ? `, à rendre le ${day(loan.due)}` : "") : "Disponible";
    const slot = h("div", {class: "lend", hidden: true});
    const action = loan ?
      h("button", {type: "button", class: "small", onclick: async (ev) => {
        await busy(ev.currentTarget, async () => {
          try {
            await patch(`/loans/${loan.id}`, {returned_on: isoDay(new Date())});
            announce(`${d.label} est rendu.`);
            await again();
          } catch (err) { announce(err.message, "error"); }
        });
      }}, `Rendu : ${d.label}`) :
      h("button", {type: "button", class: "small", "aria-expanded": "false", onclick: (e) => {
        const shown = slot.hidden;
        slot.hidden = !shown;
        e.currentTarget.setAttribute("aria-expanded", String(shown));
        if (shown && !slot.firstChild) slot.append(lendForm(d, again));
      }}, `Prêter : ${d.label}`);
    return [h("tr", {class: loan ? "lent" : ""},
      h("td", {}, d.label), h("td", {}, DEVICE_KIND[d.kind] || d.kind), h("td", {}, venue || "—"),
      h("td", {}, state), h("td", {}, action)),
    h("tr", {class: "lend-row"}, h("td", {colspan: 5}, slot))];
  });

  const form = h("form", {class: "card inline", novalidate: true, "aria-label": "Nouvel appareil"},
    field({name: "kind", label: "Type", required: true,
           options: [["", "Choisir…"], ...Object.entries(DEVICE_KIND)]}),
    field({name: "label", label: "Nom de l'appareil", required: true,
           hint: "Par exemple « Tablette 3 »"}),
    field({name: "venue_id", label: "Lieu", options: [["", "—"], ...r.venues.map((v) => [v.id, v.name])]}),
    h("button", {type: "submit", class: "primary"}, "Ajouter l'appareil"));
  onSubmit(form, async () => {
    clearErrors(form);
    const el = form.elements, body = {};
    if (el.kind.value) body.kind = el.kind.value;
    if (el.label.value.trim()) body.label = el.label.value.trim();
    if (el.venue_id.value) body.venue_id = Number(el.venue_id.value);
    try {
      await post("/equipment", body);
    } catch (err) { throw relabel(err, LABELS); }
    announce(`${body.label} ajouté.`);
    await again();
    return "leave";   /* the view was drawn again */
  });

  const lent = devices.filter((d) => open.has(d.id)).length;
  put(main, h("h1", {}, "Matériel prêté"),
    h("p", {class: "summary"}, `${devices.length} appareil${devices.length > 1 ? "s" : ""}, ` +
      `${lent} prêté${lent > 1 ? "s" : ""} en ce moment. Les appareils utilisés pendant une ` +
      "séance se notent sur la page de la séance."),
    devices.length ? scrollBox(h("table", {class: "devices"},
      h("caption", {class: "visually-hidden"}, "Appareils"),
      h("thead", {}, h("tr", {}, ["Appareil", "Type", "Lieu", "État"].map((t) =>
        h("th", {scope: "col"}, t)), h("th", {scope: "col"}, h("span", {class: "visually-hidden"},
        "Prêt ou retour")))),
      h("tbody", {}, rows))) : h("p", {class: "empty"}, "Aucun appareil."),
    h("section", {"aria-labelledby": "new-d"}, h("h2", {id: "new-d"}, "Nouvel appareil"), form));
}

// Lending device D: find the person, the dates, lend.
function lendForm(d, again) {
  let person = null;
  const results = h("div", {class: "results", "aria-live": "polite"});
  const chosen = h("p", {"aria-live": "polite"});
  const form = h("form", {class: "inline", novalidate: true, "aria-label": `Prêter ${d.label}`},
    field({name: "q", label: "Personne (nom ou téléphone)", attrs: {autocomplete: "off"}}),
    h("button", {type: "button", onclick: async () => {
      const q = form.elements.q.value.trim();
      if (!q) return;
      try {
        const page = await get("/beneficiaries", {q, limit: 10});
        put(results, page.items.length ? h("ul", {class: "plain"}, page.items.map((p) => h("li", {},
          h("button", {type: "button", class: "small", onclick: () => {
            person = p;
            put(chosen, "Pour : ", h("strong", {}, `${p.first_name} ${p.last_name}`));
            put(results);
          }}, `Choisir ${p.first_name} ${p.last_name}`))))
          : h("p", {}, "Personne trouvée."));
      } catch (err) { announce(err.message, "error"); }
    }}, "Chercher"),
    results, chosen,
    h("div", {"data-field": "beneficiary_id"}, h("p", {class: "field-error"})),
    field({name: "from", label: "Prêté le", type: "date", value: isoDay(new Date())}),
    field({name: "due", label: "À rendre le", type: "date"}),
    h("button", {type: "submit", class: "primary"}, `Prêter ${d.label}`));
  onSubmit(form, async () => {
    clearErrors(form);
    const el = form.elements, body = {};
    if (person) body.beneficiary_id = person.id;
    if (el.from.value) body.from = el.from.value;
    if (el.due.value) body.due = el.due.value;
    try {
      await post(`/equipment/${d.id}/loans`, body);
    } catch (err) { throw relabel(err, LABELS); }
    announce(`${d.label} prêté à ${person.first_name} ${person.last_name}.`);
    await again();
    return "leave";   /* the view was drawn again */
  });
  return form;
}
