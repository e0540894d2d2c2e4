// Recording an accompaniment (an individual support) in a few taps on a
// tablet: who (a person found by phone or name, or anonymous), the themes
// as big toggles, the length from presets, how; the rest is optional and
// folded away. The form stays on the permanence after saving, ready for the
// next person; the day's records are listed below it.
// Route: #/accompagnement[?seance=ID] (a permanence preselected).
import {get, getAll, post, del} from "../api.js";
import {refs} from "../refs.js";
import {h, put, field, checkbox, clearErrors, announce, confirmDialog, loading, busy, onSubmit,
        isoDay, hhmm, toRfc3339, timeOf} from "../ui.js";
import {vocabulary, organisations, toggles, relabel, MODALITY, EQUIPMENT, RESIDENCE, AUTONOMY,
        GENDER, AGE} from "../records.js";

const PRESETS = [10, 15, 20, 30, 45, 60, 90];
const LABELS = {beneficiary_id: "Personne", anonymous: "Sans inscription",
  "anonymous.gender": "Genre", "anonymous.age_bracket": "Âge", "anonymous.residence": "Résidence",
  themes: "Thèmes", minutes: "Durée", modality: "Comment", session_id: "Permanence",
  venue_id: "Lieu", staff_id: "Qui accompagne", started_at: "Date et heure",
  "procedure.operator": "Démarche auprès de", equipment: "Matériel utilisé", autonomy: "Autonomie",
  referred_to: "Orientée vers", pass: "N° de pass numérique"};

export async function render(main, params, ctx) {
  loading(main);
  const trainer = ctx.me.role === "trainer";
  const today = isoDay(new Date());
  const [voc, r, orgs, perms] = await Promise.all([vocabulary(), refs(), organisations(),
    getAll("/sessions", {kind: "permanence", from: today, to: today, status: "scheduled",
                         ...(trainer ? {trainer_id: ctx.me.staff_id} : {})})]);
  // A permanence of another day, opened from its page: offered too, and its
  // day and start are the default time.
  const asked = Number(params.query.get("seance")) || null;
  let when = new Date();
  if (asked && !perms.some((s) => s.id === asked)) {
    const s = await get(`/sessions/${asked}`).catch(() => null);
    if (s && s.kind === "permanence" && s.status !== "cancelled") {
      perms.unshift(s);
      when = new Date(s.starts_at);
    }
  }
  const preset = asked && perms.some((s) => s.id === asked) ? asked :
    perms.length === 1 ? perms[0].id : null;
  let person = null;

  // --- who -------------------------------------------------------------------
  const chosen = h("p", {class: "chosen", "aria-live": "polite"});
  const results = h("div", {class: "results", "aria-live": "polite"});
  const q = field({name: "q", label: "Téléphone ou nom", type: "search",
                   attrs: {autocomplete: "off", inputmode: "search"}});
  const search = async () => {
    const text = q.querySelector("input").value.trim();
    if (!text) return;
    try {
      const page = await get("/beneficiaries", {q: text, limit: 10});
      put(results, page.items.length ? h("ul", {class: "plain"}, page.items.map((p) => h("li", {},
        h("button", {type: "button", class: "primary small", onclick: () => pick(p)},
          `Choisir ${p.first_name} ${p.last_name}`),
        p.phone ? ` ${p.phone}` : "", p.birth_year ? ` · né·e en ${p.birth_year}` : ""))) :
        h("p", {}, trainer ? "Personne trouvée parmi les personnes inscrites à vos séances : " +
          "notez l'accompagnement sans inscription." : "Personne trouvée : notez " +
          "l'accompagnement sans inscription, ou enregistrez la personne (menu Personnes)."));
    } catch (err) { announce(err.message, "error"); }
  };
  const pick = (p) => {
    person = p;
    put(chosen, "Pour : ", h("strong", {}, `${p.first_name} ${p.last_name}`), " ",
      h("button", {type: "button", class: "small", onclick: () => { person = null; put(chosen); }},
        "Changer"));
    put(results);
  };
  q.querySelector("input").addEventListener("keydown", (e) => {
    if (e.key === "Enter") { e.preventDefault(); search(); }
  });
  const known = h("div", {class: "who-known", "data-field": "beneficiary_id"},
    h("div", {class: "inline"}, q, h("button", {type: "button", onclick: search}, "Chercher")),
    results, chosen, h("p", {class: "field-error", id: "acc-ben-err"}));
  const gender = toggles({name: "anonymous.gender", legend: "Genre", compact: true,
    options: Object.entries(GENDER)});
  const age = toggles({name: "anonymous.age_bracket", legend: "Âge", compact: true,
    options: voc.age_brackets.map((b) => [b, AGE(b)])});
  const residence = toggles({name: "anonymous.residence", legend: "Résidence", compact: true,
    options: Object.entries(RESIDENCE)});
  const anon = h("div", {class: "who-anon", "data-field": "anonymous", hidden: true},
    gender, age, residence, h("p", {class: "field-error"}));
  const who = toggles({name: "who", legend: "Pour qui ?", value: "known",
    options: [["known", "Personne inscrite"], ["anonymous", "Sans inscription"]],
    onchange: (v) => { known.hidden = v !== "known"; anon.hidden = v !== "anonymous"; }});

  // --- what, how long, how ------------------------------------------------------
  const themes = toggles({name: "themes", legend: "Thèmes", multiple: true,
    options: voc.themes.map((t) => [t, t])});
  const minutes = toggles({name: "minutes", legend: "Durée", compact: true,
    options: PRESETS.map((m) => [m, `${m} min`])});
  const other = field({name: "minutes_other", label: "Autre durée (minutes)", type: "number",
    attrs: {min: 1, max: 480, inputmode: "numeric"}});
  const modality = toggles({name: "modality", legend: "Comment", value: "on_site", compact: true,
    options: Object.entries(MODALITY)});

  // --- the rest, folded ---------------------------------------------------------
  const details = h("details", {},
    h("summary", {}, "Plus de détails (facultatif)"),
    h("div", {class: "grid2"},
      field({name: "session_id", label: "Permanence", value: preset ?? "",
             options: [["", "Aucune"], ...perms.map((s) => [s.id,
               `${s.title}, ${isoDay(new Date(s.starts_at)) === today ? "" :
                 isoDay(new Date(s.starts_at)) + " "}${timeOf(new Date(s.starts_at))}`])]}),
      field({name: "venue_id", label: "Lieu", options: [["", "Celui de la permanence"],
             ...r.venues.map((v) => [v.id, v.name])]}),
      trainer ? null : field({name: "staff_id", label: "Qui accompagne",
        value: ctx.me.staff_id ?? "", options: [["", "—"], ...r.staff.map((s) => [s.id, s.name])]}),
      field({name: "day", label: "Date", type: "date", value: isoDay(when)}),
      field({name: "time", label: "Heure", type: "time", value: hhmm(when)}),
      field({name: "procedure.operator", label: "Démarche auprès de",
             hint: "Par exemple : CAF, Ameli, impots.gouv, ANTS, France Travail",
             attrs: {list: "operators", autocomplete: "off"}}),
      checkbox("procedure_done", "Démarche aboutie"),
      field({name: "referred_to", label: "Orientée vers",
        options: [["", "—"], ...orgs.map((o) => [o.id, o.name])]}),
      field({name: "pass", label: "N° de pass numérique", attrs: {autocomplete: "off"}})),
    h("datalist", {id: "operators"}, ["CAF", "Ameli", "impots.gouv", "ANTS", "France Travail",
      "CARSAT", "MSA", "EDF"].map((o) => h("option", {value: o}))),
    toggles({name: "equipment", legend: "Matériel utilisé", multiple: true, compact: true,
      options: Object.entries(EQUIPMENT)}),
    toggles({name: "autonomy", legend: "Autonomie de la personne", compact: true,
      options: Object.entries(AUTONOMY).map(([k, v]) => [Number(k), v])}));
  const [equipment, autonomy] = details.querySelectorAll("fieldset.toggles");

  const form = h("form", {class: "card accompaniment", novalidate: true},
    who, known, anon, themes, h("div", {class: "duration"}, minutes, other), modality, details,
    h("button", {type: "submit", class: "primary big-submit"}, "Enregistrer l'accompagnement"));
  const list = h("section", {"aria-labelledby": "today-t"});

  // Once at a time: the button says « Enregistrement… » until the answer,
  // so a second tap on a slow network records nothing more.
  onSubmit(form, async () => {
    clearErrors(form);
    const el = form.elements, body = {};
    if (who.value() === "anonymous") {
      body.anonymous = {gender: gender.value(), age_bracket: age.value(),
                        residence: residence.value()};
    } else if (person) {
      body.beneficiary_id = person.id;
    }
    const typed = el.minutes_other.value.trim();
    const m = typed ? Number(typed) : minutes.value();
    if (m !== null) body.minutes = m;
    body.themes = themes.value();
    body.modality = modality.value() || "on_site";
    for (const k of ["session_id", "venue_id", "staff_id", "referred_to"])
      if (el[k] && el[k].value) body[k] = Number(el[k].value);
    if (el.day.value && el.time.value) body.started_at = toRfc3339(el.day.value, el.time.value);
    const op = el["procedure.operator"].value.trim();
    if (op) body.procedure = {operator: op, done: el.procedure_done.checked};
    if (equipment.value().length) body.equipment = equipment.value();
    if (autonomy.value() !== null) body.autonomy = autonomy.value();
    if (el.pass.value.trim()) body.pass = el.pass.value.trim();
    let a;
    try {
      a = await post("/accompaniments", body);
    } catch (err) { throw relabel(err, LABELS); }
    announce(`Accompagnement enregistré : ${a.minutes} min, ${a.themes.join(", ")}.`);
    person = null;
    put(chosen);
    put(results);
    el.q.value = "";
    el.minutes_other.value = "";
    for (const t of [gender, age, residence, themes, minutes, equipment, autonomy]) t.set(null);
    el["procedure.operator"].value = "";
    el.procedure_done.checked = false;
    el.pass.value = "";
    if (!asked) {            // the next person is seen now
      el.day.value = isoDay(new Date());
      el.time.value = hhmm(new Date());
    }
    await drawToday(list, ctx);
    form.querySelector("fieldset button").focus();
  });

  put(main, h("h1", {}, "Accompagnement"),
    h("p", {class: "summary"}, "Une aide individuelle : à une permanence, au téléphone, à " +
      "domicile ou à distance. Choisissez la personne (ou « sans inscription »), les thèmes et " +
      "la durée, puis enregistrez."), form, list);
  await drawToday(list, ctx);
}

// The day's accompaniments (a trainer's own, as the API lists them).
async function drawToday(section, ctx) {
  const today = isoDay(new Date());
  const items = await getAll("/accompaniments", {from: today, to: today,
    ...(ctx.me.role === "trainer" ? {staff_id: ctx.me.staff_id} : {})});
  put(section, h("h2", {id: "today-t"}, `Aujourd'hui (${items.length})`),
    items.length ? h("ul", {class: "plain"}, items.map((a) => h("li", {},
      h("span", {}, `${timeOf(new Date(a.started_at))} · ${a.minutes} min · ${a.themes.join(", ")}` +
        (a.anonymous ? " · sans inscription" : "")),
      h("button", {type: "button", class: "danger small", onclick: async (ev) => {
        const button = ev.currentTarget;
        if (!(await confirmDialog("Supprimer cet accompagnement ?",
          "Il ne comptera plus dans les rapports.", "Supprimer"))) return;
        await busy(button, async () => {
          try {
            await del(`/accompaniments/${a.id}`);
            announce("Accompagnement supprimé.");
            await drawToday(section, ctx);
          } catch (err) { announce(err.message, "error"); }
        }, "Suppression…");
      }}, "Supprimer")))) : h("p", {class: "empty"}, "Aucun accompagnement noté aujourd'hui."));
}
