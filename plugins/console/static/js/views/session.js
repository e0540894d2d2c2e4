// A session's page: details, the other dates of its series (change their
// time or cancel those still ahead), who is booked or waitlisted,
// enrolling (search, or a new person with consents; a permanence slot; one
// date or the whole series), cancelling, attendance in one tap once the
// session has started, and each person's notifications with their status.
import {get, getAll, post, patch, ApiError} from "../api.js";
import {refs} from "../refs.js";
import {h, put, field, showErrors, clearErrors, announce, confirmDialog, busy, onSubmit, KINDS,
        ENROLL, NOTIF_KIND, NOTIF_STATUS, CHANNEL, LEVELS, dayNameYear, timeOf, shortDateTime,
        placesText, loading, isoDay, hhmm, scrollBox, started} from "../ui.js";
import {personForm, personBody, prefillFromSearch} from "./people.js";
import {recordsSection, askCancel} from "./session_records.js";

const ATTENDANCE = [["attended", "Présent·e"], ["absent", "Absent·e"], ["excused", "Excusé·e"]];
const MARKABLE = new Set(["booked", "attended", "absent", "excused"]);

export async function render(main, params, ctx) {
  loading(main);
  await draw(main, params.id, ctx);
}

async function draw(main, id, ctx, focusKey) {
  const staff = ctx.me.role !== "trainer";
  const [s, r] = await Promise.all([get(`/sessions/${id}`), refs()]);
  let enrollments = null, enrollError = null, series = null;
  try {
    enrollments = await getAll(`/sessions/${id}/enrollments`);
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    enrollError = err.status === 403 ?
      "Vous ne voyez les inscriptions que des séances que vous animez." : err.message;
  }
  if (s.series_id) series = await get(`/series/${s.series_id}`).catch(() => null);
  const again = (key) => draw(main, id, ctx, key);
  const start = new Date(s.starts_at), end = new Date(s.ends_at);
  const venue = s.venue_id ? r.venue.get(s.venue_id) : null;
  const trainer = s.trainer_id ? r.person.get(s.trainer_id) : null;
  const cancelled = s.status === "cancelled";
  const begun = started(s), over = end.getTime() < Date.now();

  const details = h("dl", {class: "details"},
    dt("Type", KINDS[s.kind] + (s.parent_id ? " (partie d'une formation)" : "")),
    dt("Quand", `${dayNameYear(start)}, ${timeOf(start)} – ${timeOf(end)}`),
    dt("Lieu", venue ? `${venue.name}${venue.address ? ", " + venue.address : ""}` +
       `${venue.commune ? ", " + venue.commune : ""}${venue.accessible ? " (accessible)" : ""}` :
       s.online ? "En ligne" : "—"),
    dt("Animation", trainer ? trainer.name : "—"),
    dt("Thème", s.theme || "—"),
    dt("Niveau", s.level ? LEVELS[s.level] : "—"),
    dt("Places", s.capacity === null ? "Sans limite" : `${s.capacity} (${placesText(s)})`),
    s.waitlisted ? dt("Liste d'attente", `${s.waitlisted} personne${s.waitlisted > 1 ? "s" : ""}`) : null,
    dt("État", cancelled ? "Annulée" : over ? "Passée" : begun ? "En cours" : "Prévue"),
    s.cancel_reason ? dt("Motif de l'annulation", s.cancel_reason) : null);

  const actions = staff && !cancelled ? h("div", {class: "actions"},
    h("a", {class: "button", href: `#/seances/${s.id}/modifier`}, "Modifier cette date"),
    h("button", {type: "button", class: "danger", onclick: async (ev) => {
      const reason = await askCancel();
      if (reason === null) return;
      await busy(ev.target, async () => {
        try {
          await post(`/sessions/${s.id}/cancel`, reason ? {reason} : {});
          announce("La séance est annulée ; les personnes inscrites sont prévenues.");
          await again();
        } catch (err) { announce(err.message, "error"); }
      }, "Annulation…");
    }}, "Annuler la séance")) : null;

  const parts = s.parts && s.parts.length ? h("section", {"aria-labelledby": "parts-t"},
    h("h2", {id: "parts-t"}, "Parties de la formation"),
    h("ol", {class: "plain"}, s.parts.map((p) => h("li", {},
      h("a", {href: `#/seances/${p.id}`}, p.title), ` — ${dayNameYear(new Date(p.starts_at))}, ` +
      `${timeOf(new Date(p.starts_at))}${p.status === "cancelled" ? " (annulée)" : ""}`)))) : null;
  const parent = s.parent_id ? h("p", {}, "Cette séance fait partie d'une formation : ",
    h("a", {href: `#/seances/${s.parent_id}`}, "voir la formation"),
    " (on s'inscrit à la formation entière).") : null;

  let list;
  if (enrollError) {
    list = h("p", {class: "notice"}, enrollError);
  } else {
    const shown = enrollments.filter((e) => e.status !== "cancelled");
    const gone = enrollments.filter((e) => e.status === "cancelled");
    list = h("div", {},
      !cancelled && !begun && shown.length ? h("p", {class: "hint"},
        `Les présences se notent à partir du début de la séance (${dayNameYear(start)}, ` +
        `${timeOf(start)}).`) : null,
      shown.length ? h("ul", {class: "people"}, shown.map((e) => row(e, s, staff, again))) :
        h("p", {class: "empty"}, "Personne n'est encore inscrit."),
      gone.length ? h("details", {},
        h("summary", {}, `Inscriptions annulées (${gone.length})`),
        h("ul", {class: "people"}, gone.map((e) => row(e, s, staff, again)))) : null);
  }
  const waitCount = enrollments ? enrollments.filter((e) => e.status === "waitlisted").length : 0;
  const toMark = enrollments && begun && !cancelled ?
    enrollments.filter((e) => e.status === "booked").length : 0;

  put(main,
    h("p", {class: "crumbs"}, h("a", {href: `#/semaine/${isoDay(start)}`}, "← Semaine de cette séance")),
    h("h1", {}, s.title, cancelled ? h("span", {class: "badge cancelled"}, " annulée") : null,
      toMark ? h("span", {class: "badge to-mark"}, "présences à saisir") : null),
    details, actions, parent, parts,
    series ? seriesSection(s, series, r, staff, again) : null,
    h("section", {"aria-labelledby": "enr-t"},
      h("h2", {id: "enr-t"}, "Inscriptions",
        enrollments ? h("span", {class: "count"},
          ` — ${s.booked} inscrite${s.booked > 1 ? "s" : ""}` +
          (waitCount ? `, ${waitCount} en attente` : "")) : null),
      list),
    recordsSection(s, ctx),
    staff && !cancelled && !s.parent_id ? enrollSection(s, series, again) : null);
  if (focusKey) {
    const el = main.querySelector(`[data-focus="${CSS.escape(focusKey)}"]`);
    if (el) el.focus();
  }
}

const dt = (k, v) => [h("dt", {}, k), h("dd", {}, v)];

// The series as one object: every date, and for the dates still ahead a
// new time for all of them, or their cancellation.
function seriesSection(s, series, r, staff, again) {
  const now = Date.now();
  const ahead = series.sessions.filter((x) => x.status === "scheduled" &&
                                             new Date(x.starts_at).getTime() >= now);
  const dates = h("ol", {class: "series-dates"}, series.sessions.map((x) => {
    const st = new Date(x.starts_at);
    const past = new Date(x.ends_at).getTime() < now;
    return h("li", {class: (x.id === s.id ? "current" : "") + (past ? " past" : "") +
                           (x.status === "cancelled" ? " cancelled" : "")},
      x.id === s.id ? h("strong", {"aria-current": "page"}, `${dayNameYear(st)}, ${timeOf(st)} (cette date)`) :
        h("a", {href: `#/seances/${x.id}`}, `${dayNameYear(st)}, ${timeOf(st)}`),
      ` — ${x.status === "cancelled" ? "annulée" : placesText(x)}`);
  }));
  let edit = null;
  if (staff && ahead.length) {
    const first = new Date(ahead[0].starts_at), firstEnd = new Date(ahead[0].ends_at);
    const form = h("form", {class: "inline", novalidate: true, "aria-label": "Changer l'heure des dates à venir"},
      field({name: "start_time", label: "Nouvelle heure de début", type: "time", value: hhmm(first)}),
      field({name: "end_time", label: "Nouvelle heure de fin", type: "time", value: hhmm(firstEnd)}),
      h("button", {type: "submit"}, `Changer l'heure des ${ahead.length} dates à venir`));
    onSubmit(form, async () => {
      clearErrors(form);
      await patch(`/series/${series.id}`, {start_time: form.elements.start_time.value,
                                           end_time: form.elements.end_time.value});
      announce(`L'heure des ${ahead.length} dates à venir est changée ; les personnes inscrites sont prévenues.`);
      await again();
    });
    edit = h("div", {},
      h("details", {}, h("summary", {}, "Changer l'heure de toutes les dates à venir"), form),
      h("div", {class: "actions"}, h("button", {type: "button", class: "danger", onclick: async (ev) => {
        const reason = await askCancel("Annuler toutes les dates à venir ?",
          `${ahead.length} date${ahead.length > 1 ? "s" : ""} de la série ser${ahead.length > 1 ? "ont" : "a"} ` +
          "annulée" + (ahead.length > 1 ? "s" : "") + ". Les personnes inscrites seront prévenues. " +
          "Les dates passées restent comme elles sont.", "Annuler les dates à venir");
        if (reason === null) return;
        await busy(ev.target, async () => {
          try {
            await post(`/series/${series.id}/cancel`, reason ? {reason} : {});
            announce("Les dates à venir de la série sont annulées.");
            await again();
          } catch (err) { announce(err.message, "error"); }
        }, "Annulation…");
      }}, "Annuler toutes les dates à venir")));
  }
  return h("section", {"aria-labelledby": "series-t"},
    h("h2", {id: "series-t"}, `Les ${series.sessions.length} dates de la série`),
    dates, edit);
}

function personName(e) {
  const b = e.beneficiary || {};
  return [b.first_name, b.last_name].filter(Boolean).join(" ") || `Personne n° ${e.beneficiary_id}`;
}

function row(e, s, staff, again) {
  const name = personName(e);
  // Present or absent is known once the session has started (the API
  // refuses before): no button to tap by mistake on a future date.
  const canMark = MARKABLE.has(e.status) && s.status !== "cancelled" && started(s);
  const group = canMark ? h("div", {class: "attendance", role: "group",
                                    "aria-label": `Présence de ${name}`},
    ATTENDANCE.map(([st, label]) => h("button", {
      type: "button", class: `toggle ${st}`, "aria-pressed": String(e.status === st),
      "data-focus": `${e.id}-${st}`,
      onclick: async (ev) => {
        await busy(ev.currentTarget, async () => {
          try {
            await patch(`/enrollments/${e.id}`, {status: st});
            announce(`${name} : ${ENROLL[st].toLowerCase()}.`);
            await again(`${e.id}-${st}`);
          } catch (err) { announce(err.message, "error"); }
        }, label);
      }}, label))) : null;
  const cancel = staff && (e.status === "booked" || e.status === "waitlisted") &&
    s.status !== "cancelled" ? h("button", {type: "button", class: "danger small",
      onclick: async (ev) => {
        const ok = await confirmDialog("Annuler cette inscription ?",
          `${name} ne sera plus inscrit·e à « ${s.title} ».` +
          (e.status === "booked" ? " La première personne en attente prendra la place." : ""),
          "Annuler l'inscription");
        if (!ok) return;
        await busy(ev.target, async () => {
          try {
            const before = await getAll(`/sessions/${s.id}/enrollments`);
            await patch(`/enrollments/${e.id}`, {status: "cancelled"});
            const after = await getAll(`/sessions/${s.id}/enrollments`);
            const promoted = after.filter((a) => a.status === "booked" &&
              before.some((b) => b.id === a.id && b.status === "waitlisted"));
            announce(`Inscription de ${name} annulée.` + (promoted.length ?
              ` ${promoted.map(personName).join(", ")} passe de la liste d'attente à inscrit·e.` : ""));
            await again();
          } catch (err) { announce(err.message, "error"); }
        }, "Annulation…");
      }}, "Annuler l'inscription") : null;
  const notifId = `notif-${e.id}`;
  const notifBtn = h("button", {type: "button", class: "small", "aria-expanded": "false",
    "aria-controls": notifId, onclick: async (ev) => {
      const btn = ev.currentTarget, box = document.getElementById(notifId);
      const open = btn.getAttribute("aria-expanded") === "true";
      btn.setAttribute("aria-expanded", String(!open));
      box.hidden = open;
      if (!open) await showNotifications(e.id, box);
    }}, "Messages");
  return h("li", {class: `person status-${e.status}`},
    h("div", {class: "who"},
      staff ? h("a", {href: `#/personnes/${e.beneficiary_id}`}, name) : h("span", {}, name),
      h("span", {class: `badge ${e.status}`}, ENROLL[e.status] || e.status),
      e.slot_start ? h("span", {class: "meta"}, ` créneau ${timeOf(new Date(e.slot_start))}`) : null),
    group,
    h("div", {class: "row-actions"}, notifBtn, cancel),
    h("div", {id: notifId, class: "notifications", hidden: true}));
}

async function showNotifications(enrollmentId, box) {
  put(box, h("p", {class: "loading"}, "Chargement…"));
  try {
    const items = await getAll(`/enrollments/${enrollmentId}/notifications`);
    if (!items.length) {
      put(box, h("p", {class: "empty"}, "Aucun message prévu ni envoyé."));
      return;
    }
    put(box, scrollBox(h("table", {class: "compact"},
      h("caption", {}, "Messages de cette inscription"),
      h("thead", {}, h("tr", {}, ["Message", "Canal", "Prévu le", "État", "Détail"].map((t) =>
        h("th", {scope: "col"}, t)))),
      h("tbody", {}, items.map((n) => h("tr", {},
        h("td", {}, NOTIF_KIND[n.kind] || n.kind),
        h("td", {}, CHANNEL[n.channel] || n.channel),
        h("td", {}, n.due_at ? shortDateTime(new Date(n.due_at)) : "—"),
        h("td", {}, h("span", {class: `badge n-${n.status}`}, NOTIF_STATUS[n.status] || n.status)),
        h("td", {}, [n.error ? reason(n.error) : "",
          n.segments ? ` (${n.segments} SMS)` : "",
          n.attempts > 1 ? ` — ${n.attempts} essais` : ""].join(""))))))));
  } catch (err) {
    put(box, h("p", {class: "error"}, err.message));
  }
}

const REASONS = {"no SMS consent": "pas d'accord pour les SMS", "no phone number": "pas de téléphone",
  "not a mobile number": "pas un numéro de mobile", "no email consent": "pas d'accord pour les e-mails",
  "no email address": "pas d'adresse e-mail", erased: "personne effacée",
  "consent withdrawn": "a répondu STOP", "enrollment cancelled": "inscription annulée",
  "session moved": "séance déplacée", "session cancelled": "séance annulée",
  "enrollment no longer booked": "n'est plus inscrite", "enrollment no longer waitlisted":
  "n'est plus en attente (place obtenue ou annulée)", "session already started": "séance déjà commencée",
  "not marked attended": "pas notée présente", "enrollment gone": "inscription supprimée",
  "the session starts before the quiet hours end": "séance avant la fin des heures calmes"};
// A gateway's own reason (its code, its words) is shown after a French
// lead, never alone.
const reason = (e) => REASONS[e] || (/ \(after \d+ attempts\)$/.test(e) ?
  `échec définitif (${e.replace(/ \(after (\d+) attempts\)$/, ", $1 essais")})` : `motif : ${e}`);

function enrollSection(s, series, again) {
  const slots = (s.slots || []).filter((x) => x.free);
  const mkSlot = () => s.kind === "permanence" && s.slots ? field({name: "slot_start",
    label: "Créneau", options: [["", "Sans rendez-vous"],
      ...slots.map((x) => [x.start, timeOf(new Date(x.start))])]}) : null;
  const now = Date.now();
  const ahead = series ? series.sessions.filter((x) => x.status === "scheduled" &&
                                                     new Date(x.starts_at).getTime() >= now) : [];
  // A series is enrolled in as a whole by default: its dates ahead.
  const scope = series && ahead.length > 1 ? h("fieldset", {class: "kinds"},
    h("legend", {}, "Inscrire à"),
    ["all", "one"].map((v) => {
      const idr = `scope-${v}`;
      return h("div", {class: "radio"},
        h("input", {type: "radio", name: "scope", id: idr, value: v, checked: v === "all"}),
        h("label", {for: idr}, v === "all" ? `Toutes les dates à venir de la série (${ahead.length})` :
          "Cette date seulement"));
    })) : null;
  const wholeSeries = () => scope && scope.querySelector("input[value=all]").checked;
  const results = h("div", {class: "results", "aria-live": "polite"});
  const enroll = async (person, form) => {
    const name = `${person.first_name} ${person.last_name}`;
    if (wholeSeries()) {
      const out = await post(`/series/${series.id}/enrollments`, {beneficiary_id: person.id});
      announce(`${name} est inscrit·e à ${out.booked} date${out.booked > 1 ? "s" : ""}` +
        (out.waitlisted ? `, en attente pour ${out.waitlisted}` : "") + " : un seul message lui est envoyé.");
    } else {
      const body = {beneficiary_id: person.id};
      const slot = form && form.elements.slot_start ? form.elements.slot_start.value : "";
      if (slot) body.slot_start = slot;
      const e = await post(`/sessions/${s.id}/enrollments`, body);
      announce(e.status === "waitlisted" ? `${name} est sur liste d'attente (séance complète).` :
        `${name} est inscrit·e.`);
    }
    await again();
  };
  const search = h("form", {class: "inline", role: "search", "aria-label": "Chercher une personne"},
    field({name: "q", label: "Nom ou téléphone", attrs: {autocomplete: "off"}}),
    mkSlot(),
    h("button", {type: "submit"}, "Chercher"), results);
  const create = personForm(null, "Créer et inscrire");
  const newPerson = h("details", {}, h("summary", {}, "Nouvelle personne"), create);
  onSubmit(search, async () => {
    clearErrors(search);
    const q = search.elements.q.value.trim();
    if (!q) return;
    const page = await get("/beneficiaries", {q, limit: 20});
    if (!page.items.length) {
      // Nobody: the new-person form opens with what was searched.
      prefillFromSearch(create, q);
      newPerson.open = true;
      put(results, h("p", {class: "notice"}, `Aucune personne trouvée pour « ${q} ». ` +
        "Le formulaire « Nouvelle personne » ci-dessous est prérempli."));
      return;
    }
    put(results, h("ul", {class: "plain"}, page.items.map((p) =>
      h("li", {}, h("span", {}, `${p.first_name} ${p.last_name}`,
        p.phone ? ` · ${p.phone}` : "", p.birth_year ? ` · née ou né en ${p.birth_year}` : ""), " ",
        h("button", {type: "button", class: "primary small", onclick: async (ev) => {
          await busy(ev.currentTarget, async () => {
            try { await enroll(p, search); } catch (err) { showErrors(search, err); }
          });
        }}, `Inscrire ${p.first_name} ${p.last_name}`)))));
  }, "Recherche…");
  if (mkSlot()) create.prepend(mkSlot());
  // The person is created once: a failed enrollment afterwards does not
  // create them again on the next click.
  let made = null;
  onSubmit(create, async () => {
    clearErrors(create);
    if (!made) made = await post("/beneficiaries", personBody(create));
    await enroll(made, create);
    return "leave";   /* the page was drawn again */
  });
  return h("section", {"aria-labelledby": "add-t"},
    h("h2", {id: "add-t"}, "Inscrire quelqu'un"),
    scope, search, newPerson);
}
