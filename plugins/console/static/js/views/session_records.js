// What a session's page records beside enrollments: the walk-ins (people
// who came without being registered, counted by group), the programme's
// devices used, a link to note an accompaniment at a permanence, and the
// reason asked when cancelling. Used by views/session.js. Saves go through
// onSubmit(): one at a time, the button busy until the answer.
import {getAll, request} from "../api.js";
import {h, put, newId, clearErrors, announce, onSubmit} from "../ui.js";
import {vocabulary, relabel, GENDER, RESIDENCE, AGE, DEVICE_KIND} from "../records.js";

const LABELS = {counts: "Groupes", equipment_ids: "Appareils"};

// The section, filled once its data arrives. CTX: the signed-in user; a
// trainer writes only on their own sessions (the API says 403 otherwise).
export function recordsSection(s, ctx) {
  const box = h("section", {"aria-labelledby": "rec-t"},
    h("h2", {id: "rec-t"}, "Sans inscription, matériel"),
    h("p", {class: "loading"}, "Chargement…"));
  if (s.status === "cancelled") {
    put(box, h("h2", {id: "rec-t"}, "Sans inscription, matériel"),
      h("p", {class: "empty"}, "Séance annulée : rien à noter."));
    return box;
  }
  fill(box, s, ctx).catch((err) => put(box, h("h2", {id: "rec-t"}, "Sans inscription, matériel"),
    h("p", {class: "error"}, err.message)));
  return box;
}

async function fill(box, s, ctx) {
  // A trainer writes on the sessions they lead (or on a training's parts,
  // which the API judges by the training): the others they only read.
  const mine = ctx.me.role !== "trainer" || s.trainer_id === ctx.me.staff_id || !!s.parent_id;
  const [voc, count, used, devices] = await Promise.all([vocabulary(),
    request("GET", `/sessions/${s.id}/headcount`),
    request("GET", `/sessions/${s.id}/equipment`), getAll("/equipment")]);
  if (!mine) {
    put(box, h("h2", {id: "rec-t"}, "Sans inscription, matériel"),
      h("p", {}, `Venues sans inscription : ${count.total}. Matériel utilisé : ` +
        (used.items.map((d) => d.label).join(", ") || "aucun") + "."));
    return;
  }
  put(box, h("h2", {id: "rec-t"}, "Sans inscription, matériel"),
    s.kind === "permanence" ? h("p", {}, h("a", {class: "button primary",
      href: `#/accompagnement?seance=${s.id}`}, "Noter un accompagnement")) : null,
    headcountForm(s, voc, count.counts),
    devices.length ? devicesForm(s, devices, used.equipment_ids) : null);
}

// One row of the head count: gender, age bracket, residence, how many.
function groupRow(voc, g) {
  const pick = (name, label, options, value) => {
    const id = newId(name);
    return h("div", {class: "field"}, h("label", {for: id}, label),
      h("select", {id, name}, [["", "Non précisé"], ...options].map(([v, t]) =>
        h("option", {value: v, selected: String(v) === String(value ?? "")}, t))));
  };
  const nid = newId("n");
  const row = h("li", {class: "group"},
    pick("gender", "Genre", Object.entries(GENDER), g.gender),
    pick("age_bracket", "Âge", voc.age_brackets.map((b) => [b, AGE(b)]), g.age_bracket),
    pick("residence", "Résidence", Object.entries(RESIDENCE), g.residence),
    h("div", {class: "field"}, h("label", {for: nid}, "Nombre"),
      h("input", {id: nid, name: "n", type: "number", min: 0, inputmode: "numeric",
                  value: g.n ?? 1})),
    h("button", {type: "button", class: "small", onclick: () => row.remove()}, "Retirer ce groupe"));
  return row;
}

function headcountForm(s, voc, counts) {
  const list = h("ul", {class: "groups plain"}, counts.map((g) => groupRow(voc, g)));
  const total = counts.reduce((a, g) => a + g.n, 0);
  const form = h("form", {class: "card", novalidate: true, "aria-labelledby": "hc-t"},
    h("h3", {id: "hc-t"}, `Venues sans inscription : ${total}`),
    h("p", {class: "hint"}, "Un groupe par genre, âge et résidence (chaque part peut rester non " +
      "précisée). Enregistrer remplace le compte précédent."),
    h("div", {"data-field": "counts"}, list, h("p", {class: "field-error"})),
    h("div", {class: "actions"},
      h("button", {type: "button", onclick: () => list.append(groupRow(voc, {}))},
        "Ajouter un groupe"),
      h("button", {type: "submit", class: "primary"}, "Enregistrer le compte")));
  onSubmit(form, async () => {
    clearErrors(form);
    const body = {counts: [...list.children].map((li) => {
      const g = {n: Number(li.querySelector("[name=n]").value || 0)};
      for (const k of ["gender", "age_bracket", "residence"]) {
        const v = li.querySelector(`[name=${k}]`).value;
        if (v) g[k] = v;
      }
      return g;
    })};
    let doc;
    try {
      doc = await request("PUT", `/sessions/${s.id}/headcount`, {json: body});
    } catch (err) { throw relabel(err, LABELS); }
    form.querySelector("h3").textContent = `Venues sans inscription : ${doc.total}`;
    announce(`Compte enregistré : ${doc.total} personne${doc.total > 1 ? "s" : ""} ` +
      "venue(s) sans inscription.");
  });
  return form;
}

function devicesForm(s, devices, ids) {
  const chosen = new Set(ids);
  const form = h("form", {class: "card", novalidate: true, "aria-labelledby": "dev-t"},
    h("h3", {id: "dev-t"}, "Matériel du programme utilisé"),
    h("div", {class: "checks", "data-field": "equipment_ids"}, devices.map((d) => {
      const id = newId("dev");
      return h("div", {class: "check"}, h("input", {type: "checkbox", id, name: "dev", value: d.id,
        checked: chosen.has(d.id)}), h("label", {for: id}, `${d.label} (${DEVICE_KIND[d.kind]})`));
    }), h("p", {class: "field-error"})),
    h("button", {type: "submit", class: "primary"}, "Enregistrer le matériel"));
  onSubmit(form, async () => {
    clearErrors(form);
    const body = {equipment_ids: [...form.querySelectorAll("input[name=dev]:checked")]
      .map((c) => Number(c.value))};
    let doc;
    try {
      doc = await request("PUT", `/sessions/${s.id}/equipment`, {json: body});
    } catch (err) { throw relabel(err, LABELS); }
    announce(`${doc.equipment_ids.length} appareil(s) noté(s) pour cette séance.`);
  });
  return form;
}

// The cancellation question, with an optional reason (the report counts
// cancelled sessions by it). Resolves to null (nothing to do) or the reason
// ("" for none). Like confirmDialog: the safe button has the focus. A
// series' dates ahead are asked about with their own TITLE, TEXT and OK.
export function askCancel(title = "Annuler la séance ?",
                          text = "Les personnes inscrites seront prévenues par SMS ou e-mail. " +
                            "Cela ne peut pas être défait.",
                          okLabel = "Annuler la séance") {
  return new Promise((resolve) => {
    const id = newId("dlg");
    const input = h("input", {id: id + "-r", name: "reason", maxlength: 300,
      autocomplete: "off"});
    const dlg = h("dialog", {"aria-labelledby": id + "-t", "aria-describedby": id + "-d"},
      h("h2", {id: id + "-t"}, title),
      h("p", {id: id + "-d"}, text),
      h("div", {class: "field"}, h("label", {for: id + "-r"}, "Motif (facultatif)"),
        h("p", {class: "hint"}, "Par exemple : animateur absent, salle indisponible"), input),
      h("div", {class: "actions"},
        h("button", {type: "button", class: "danger", onclick: () => close(input.value.trim())},
          okLabel),
        h("button", {type: "button", onclick: () => close(null)}, "Ne rien faire")));
    function close(v) { dlg.close(); dlg.remove(); resolve(v); }
    dlg.addEventListener("cancel", (e) => { e.preventDefault(); close(null); });
    document.body.append(dlg);
    dlg.showModal();
    dlg.querySelector("button:last-child").focus();
  });
}
