// Creating or editing a session: a workshop, a permanence (with its slot
// length) or a multi-part training, with weekly or daily recurrence.
//
// A series is planned as one object: the count or end date only show once
// « Chaque semaine » or « Chaque jour » is chosen (no silent single
// session), the dates are previewed as they are typed (POST
// /sessions?dry_run=1, which writes nothing), and the button says how many
// sessions it makes. The button is busy until the answer: a double click
// creates nothing twice.
import {get, post, patch, request} from "../api.js";
import {refs} from "../refs.js";
import {h, put, field, checkbox, showErrors, clearErrors, announce, newId, onSubmit, KINDS,
        LEVELS, THEMES, isoDay, hhmm, toRfc3339, loading, dayNameYear, timeOf} from "../ui.js";
import {go} from "../app.js";

const PREVIEW_SHOWN = 12;

export async function render(main, params) {
  loading(main);
  const r = await refs();
  const s = params.id ? await get(`/sessions/${params.id}`) : null;
  const editing = !!s;
  const start = s ? new Date(s.starts_at) : null, end = s ? new Date(s.ends_at) : null;
  const venueOpts = [["", "Aucun lieu"], ...r.venues.map((v) => [v.id, v.name])];
  const staffOpts = [["", "Personne pour l'instant"],
    ...r.staff.filter((x) => x.role === "trainer" || x.role === "coordinator").map((x) => [x.id, x.name])];
  const listId = newId("themes");

  const kindBox = editing ? h("p", {}, `Type : ${KINDS[s.kind]}`) :
    h("fieldset", {class: "kinds"}, h("legend", {}, "Type de séance"),
      Object.entries(KINDS).map(([k, label], i) => {
        const id = newId("kind");
        return h("div", {class: "radio"},
          h("input", {type: "radio", name: "kind", id, value: k, checked: i === 0}),
          h("label", {for: id}, label));
      }));

  const when = h("div", {class: "grid3", "data-group": "when"},
    field({name: "date", label: "Date", type: "date", required: true,
           value: start ? isoDay(start) : params.query.get("date") || ""}),
    field({name: "starts_at", label: "Début", type: "time", required: true,
           value: start ? hhmm(start) : "14:00"}),
    field({name: "ends_at", label: "Fin", type: "time", required: true,
           value: end ? hhmm(end) : "16:00"}));

  const preview = h("div", {class: "preview", "aria-live": "polite"});
  const repeatFields = h("div", {class: "grid3", "data-group": "repeat"},
    field({name: "recurrence.interval", label: "Toutes les … (semaines ou jours)", type: "number",
           value: "1", attrs: {min: 1, max: 52}}),
    field({name: "recurrence.count", label: "Nombre de séances", type: "number",
           attrs: {min: 2, max: 200}, hint: "Ou bien une date de fin :"}),
    field({name: "recurrence.until", label: "Jusqu'au (inclus)", type: "date"}));
  const recurrence = editing ? null : h("fieldset", {"data-group": "recurrence"},
    h("legend", {}, "Répétition"),
    field({name: "recurrence.freq", label: "Répéter", options: [["", "Une seule fois"],
      ["weekly", "Chaque semaine"], ["daily", "Chaque jour"]]}),
    repeatFields, preview);

  const partsList = h("ol", {class: "parts"});
  const addPart = (p) => {
    const li = h("li", {class: "part card"},
      field({name: "part_title", label: "Titre de la partie", required: true, value: p && p.title}),
      h("div", {class: "grid3"},
        field({name: "part_date", label: "Date", type: "date", required: true}),
        field({name: "part_start", label: "Début", type: "time", required: true, value: "09:00"}),
        field({name: "part_end", label: "Fin", type: "time", required: true, value: "12:00"})),
      field({name: "part_venue", label: "Lieu (si autre que celui de la formation)", options: venueOpts}),
      checkbox("part_online", "En ligne"),
      h("button", {type: "button", class: "small", onclick: () => { li.remove(); }},
        "Retirer cette partie"));
    partsList.append(li);
    return li;
  };
  const parts = editing ? null : h("fieldset", {"data-group": "parts", "data-field": "parts"},
    h("legend", {}, "Parties de la formation"), partsList,
    h("p", {class: "field-error"}),
    h("button", {type: "button", onclick: () => addPart().querySelector("input").focus()},
      "Ajouter une partie"));
  if (parts) addPart();

  const submit = h("button", {type: "submit", class: "primary"}, editing ? "Enregistrer" : "Créer la séance");
  const form = h("form", {class: "card", novalidate: true},
    kindBox,
    field({name: "title", label: "Titre", required: true, value: s && s.title,
           hint: "Par exemple « Prendre en main son smartphone »"}),
    h("div", {class: "grid3"},
      field({name: "theme", label: "Thème", value: s && s.theme, attrs: {list: listId}}),
      field({name: "level", label: "Niveau", value: s && s.level,
             options: [["", "Non précisé"], ...Object.entries(LEVELS)]}),
      field({name: "capacity", label: "Places", type: "number", value: s ? s.capacity : 8,
             attrs: {min: 0, max: 10000}, hint: "Vide : sans limite"})),
    h("datalist", {id: listId}, THEMES.map((t) => h("option", {value: t}))),
    h("div", {class: "grid2"},
      field({name: "venue_id", label: "Lieu", value: s && s.venue_id, options: venueOpts}),
      field({name: "trainer_id", label: "Animateur·rice", value: s && s.trainer_id, options: staffOpts})),
    when,
    h("div", {"data-group": "slots"},
      field({name: "slot_minutes", label: "Durée d'un créneau (minutes)", type: "number",
             value: s && s.slot_minutes, attrs: {min: 5, max: 480},
             hint: "Pour une permanence sur rendez-vous ; vide : sans créneaux"})),
    recurrence, parts,
    editing && s.series_id ? h("p", {class: "hint"}, "Cette séance fait partie d'une série : " +
      "seule cette date change. Pour changer l'heure de toutes les dates à venir, voyez la page " +
      "de la séance.") : null,
    h("div", {class: "actions"}, submit,
      h("a", {class: "button", href: editing ? `#/seances/${s.id}` : "#/semaine"}, "Retour")));

  const kindNow = () => editing ? s.kind : form.querySelector("input[name=kind]:checked").value;
  const freq = () => (recurrence ? form.elements["recurrence.freq"].value : "");
  const sync = () => {
    const k = kindNow();
    form.querySelector("[data-group=slots]").hidden = k !== "permanence";
    if (recurrence) recurrence.hidden = k === "training";
    repeatFields.hidden = !freq();
    if (parts) parts.hidden = k !== "training";
    when.hidden = k === "training" && !editing || (editing && !!s.parts);
  };

  // The body of the form, or null with the problems shown (nothing sent).
  const bodyOf = (forPreview) => {
    const el = form.elements, k = kindNow();
    const num = (v) => (v.trim() === "" ? null : Number(v));
    const problems = [];
    const body = {title: el.title.value.trim(), theme: el.theme.value.trim() || null,
      level: num(el.level.value), venue_id: num(el.venue_id.value),
      trainer_id: num(el.trainer_id.value), capacity: num(el.capacity.value)};
    if (k === "permanence") body.slot_minutes = num(el.slot_minutes.value);
    if (k !== "training" || editing && !s.parts) {
      if (!el.date.value) problems.push({field: "date", label: "Date", message: "à remplir"});
      else if (!(editing && s.parts)) {
        body.starts_at = toRfc3339(el.date.value, el.starts_at.value);
        body.ends_at = toRfc3339(el.date.value, el.ends_at.value);
      }
    }
    if (!editing) {
      body.kind = k;
      for (const key of Object.keys(body)) if (body[key] === null) delete body[key];
      if (k !== "training" && freq()) {
        const rec = {freq: freq(), interval: Number(el["recurrence.interval"].value || 1)};
        const count = el["recurrence.count"].value, until = el["recurrence.until"].value;
        if (count) rec.count = Number(count);
        if (until) rec.until = toRfc3339(until, "23:59");
        if (!count && !until) problems.push({field: "recurrence.count", label: "Nombre de séances",
          message: "indiquez un nombre de séances ou une date de fin"});
        body.recurrence = rec;
      }
      if (k === "training") {
        body.parts = [...partsList.children].map((li) => {
          const q = (n) => li.querySelector(`[name=${n}]`);
          const part = {title: q("part_title").value.trim(),
            starts_at: q("part_date").value ? toRfc3339(q("part_date").value, q("part_start").value) : "",
            ends_at: q("part_date").value ? toRfc3339(q("part_date").value, q("part_end").value) : ""};
          if (q("part_venue").value) part.venue_id = Number(q("part_venue").value);
          if (q("part_online").checked) part.online = true;
          return part;
        });
      }
    }
    if (problems.length) {
      if (!forPreview) showErrors(form, {message: "Certains champs sont à corriger.", fields: problems});
      return null;
    }
    return body;
  };

  // The dates the form would make, as they are typed. While the form is
  // being saved (onSubmit marks it busy) the button keeps saying
  // « Enregistrement… »: a preview answering meanwhile (the last field left
  // as the button is clicked) must not put « Créer les 4 séances » back.
  let previewSeq = 0, previewTimer;
  const label = (text) => { if (!form.dataset.busy) submit.textContent = text; };
  const refreshPreview = () => {
    clearTimeout(previewTimer);
    if (editing) return;
    if (!recurrence || kindNow() === "training" || !freq()) {
      put(preview);
      label("Créer la séance");
      return;
    }
    previewTimer = setTimeout(async () => {
      if (form.dataset.busy) return;
      const body = bodyOf(true);
      const seq = ++previewSeq;
      if (!body || !body.title) {
        put(preview, h("p", {class: "hint"}, "Les dates s'afficheront ici."));
        return;
      }
      try {
        const out = await request("POST", "/sessions", {json: body, query: {dry_run: 1}});
        if (seq !== previewSeq) return;
        const items = out.occurrences;
        put(preview, h("p", {class: "preview-title"}, `${items.length} séance${items.length > 1 ? "s" : ""} :`),
          h("ol", {class: "preview-dates"}, items.slice(0, PREVIEW_SHOWN).map((o) => {
            const d = new Date(o.starts_at);
            return h("li", {}, `${dayNameYear(d)}, ${timeOf(d)}`);
          })),
          items.length > PREVIEW_SHOWN ? h("p", {}, `… et ${items.length - PREVIEW_SHOWN} autres.`) : null);
        label(`Créer les ${items.length} séances`);
      } catch (err) {
        if (seq !== previewSeq) return;
        put(preview, h("p", {class: "error"}, err.fields && err.fields.length ?
          err.fields.map((f) => `${f.label} : ${f.message}`).join(" ; ") : err.message));
        label("Créer la séance");
      }
    }, 250);
  };
  form.addEventListener("change", () => { sync(); refreshPreview(); });
  form.addEventListener("input", refreshPreview);
  sync();

  onSubmit(form, async () => {
    clearErrors(form);
    const body = bodyOf(false);
    if (!body) return;
    if (editing) {
      // Only what changed: an unchanged time must not count as a move.
      const changed = {};
      for (const [key, v] of Object.entries(body)) {
        const old = key.endsWith("_at") ? new Date(s[key]).getTime() : s[key] ?? null;
        const now = key.endsWith("_at") ? new Date(v).getTime() : v;
        if (old !== now) changed[key] = v;
      }
      if (Object.keys(changed).length) await patch(`/sessions/${s.id}`, changed);
      announce("Séance enregistrée." + (changed.starts_at || changed.ends_at || changed.venue_id ?
        " Les personnes inscrites sont prévenues du changement." : ""));
      go(`/seances/${s.id}`);
      return "leave";
    }
    const created = await post("/sessions", body);
    const n = created.occurrences ? created.occurrences.length : 1;
    announce(n > 1 ? `${n} séances créées.` : "Séance créée.");
    go(`/seances/${created.id}`);
    return "leave";
  });

  put(main, h("h1", {}, editing ? `Modifier « ${s.title} »` : "Nouvelle séance"), form);
}
