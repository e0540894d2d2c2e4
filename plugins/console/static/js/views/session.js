// A session's page: details, who is booked or waitlisted, enrolling
// (search or a new person with consents), cancelling, attendance in one tap,
// and each person's notifications with their status.
import {get, getAll, post, patch, ApiError} from "../api.js";
import {refs} from "../refs.js";
import {h, put, field, showErrors, clearErrors, announce, confirmDialog, KINDS, ENROLL,
        NOTIF_KIND, NOTIF_STATUS, CHANNEL, LEVELS, dayNameYear, timeOf, shortDateTime, placesText,
        loading, isoDay} from "../ui.js";
import {personForm, personBody} from "./people.js";
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
  let enrollments = null, enrollError = null;
  try {
    enrollments = await getAll(`/sessions/${id}/enrollments`);
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    enrollError = err.status === 403 ?
      "Vous ne voyez les inscriptions que des séances que vous animez." : err.message;
  }
  const again = (key) => draw(main, id, ctx, key);
  const start = new Date(s.starts_at), end = new Date(s.ends_at);
  const venue = s.venue_id ? r.venue.get(s.venue_id) : null;
  const trainer = s.trainer_id ? r.person.get(s.trainer_id) : null;
  const cancelled = s.status === "cancelled";

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
    dt("État", cancelled ? "Annulée" : "Prévue"),
    s.cancel_reason ? dt("Motif de l'annulation", s.cancel_reason) : null);

  const actions = staff && !cancelled ? h("div", {class: "actions"},
    h("a", {class: "button", href: `#/seances/${s.id}/modifier`}, "Modifier la séance"),
    h("button", {type: "button", class: "danger", onclick: async () => {
      const reason = await askCancel();
      if (reason === null) return;
      try {
        await post(`/sessions/${s.id}/cancel`, reason ? {reason} : {});
        announce("La séance est annulée ; les personnes inscrites sont prévenues.");
        again();
      } catch (err) { announce(err.message, "error"); }
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
      shown.length ? h("ul", {class: "people"}, shown.map((e) => row(e, s, staff, again))) :
        h("p", {class: "empty"}, "Personne n'est encore inscrit."),
      gone.length ? h("details", {},
        h("summary", {}, `Inscriptions annulées (${gone.length})`),
        h("ul", {class: "people"}, gone.map((e) => row(e, s, staff, again)))) : null);
  }
  const waitCount = enrollments ? enrollments.filter((e) => e.status === "waitlisted").length : 0;

  put(main, 
    h("p", {class: "crumbs"}, h("a", {href: `#/semaine/${isoDay(start)}`}, "← Semaine de cette séance")),
    h("h1", {}, s.title, cancelled ? h("span", {class: "badge cancelled"}, " annulée") : null),
    details, actions, parent, parts,
    h("section", {"aria-labelledby": "enr-t"},
      h("h2", {id: "enr-t"}, "Inscriptions",
        enrollments ? h("span", {class: "count"},
          ` — ${s.booked} inscrite${s.booked > 1 ? "s" : ""}` +
          (waitCount ? `, ${waitCount} en attente` : "")) : null),
      list),
    recordsSection(s, ctx),
    staff && !cancelled && !s.parent_id ? enrollSection(s, again) : null);
  if (focusKey) {
    const el = main.querySelector(`[data-focus="${CSS.escape(focusKey)}"]`);
    if (el) el.focus();
  }
}

const dt = (k, v) => [h("dt", {}, k), h("dd", {}, v)];

function personName(e) {
  const b = e.beneficiary || {};
  return [b.first_name, b.last_name].filter(Boolean).join(" ") || `Personne n° ${e.beneficiary_id}`;
}

function row(e, s, staff, again) {
  const name = personName(e);
  const canMark = MARKABLE.has(e.status) && s.status !== "cancelled";
  const group = canMark ? h("div", {class: "attendance", role: "group",
                                    "aria-label": `Présence de ${name}`},
    ATTENDANCE.map(([st, label]) => h("button", {
      type: "button", class: `toggle ${st}`, "aria-pressed": String(e.status === st),
      "data-focus": `${e.id}-${st}`,
      onclick: async () => {
        try {
          await patch(`/enrollments/${e.id}`, {status: st});
          announce(`${name} : ${ENROLL[st].toLowerCase()}.`);
          again(`${e.id}-${st}`);
        } catch (err) { announce(err.message, "error"); }
      }}, label))) : null;
  const cancel = staff && (e.status === "booked" || e.status === "waitlisted") &&
    s.status !== "cancelled" ? h("button", {type: "button", class: "danger small",
      onclick: async () => {
        const ok = await confirmDialog("Annuler cette inscription ?",
          `${name} ne sera plus inscrit·e à « ${s.title} ».` +
          (e.status === "booked" ? " La première personne en attente prendra la place." : ""),
          "Annuler l'inscription");
        if (!ok) return;
        try {
          const before = await getAll(`/sessions/${s.id}/enrollments`);
          await patch(`/enrollments/${e.id}`, {status: "cancelled"});
          const after = await getAll(`/sessions/${s.id}/enrollments`);
          const promoted = after.filter((a) => a.status === "booked" &&
            before.some((b) => b.id === a.id && b.status === "waitlisted"));
          announce(`Inscription de ${name} annulée.` + (promoted.length ?
            ` ${promoted.map(personName).join(", ")} passe de la liste d'attente à inscrit·e.` : ""));
          again();
        } catch (err) { announce(err.message, "error"); }
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
  put(box, h("p", {}, "Chargement…"));
  try {
    const items = await getAll(`/enrollments/${enrollmentId}/notifications`);
    if (!items.length) {
      put(box, h("p", {class: "empty"}, "Aucun message prévu ni envoyé."));
      return;
    }
    put(box, h("table", {class: "compact"},
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
          n.attempts > 1 ? ` — ${n.attempts} essais` : ""].join("")))))));
  } catch (err) {
    put(box, h("p", {class: "error"}, err.message));
  }
}

const REASONS = {"no SMS consent": "pas d'accord pour les SMS", "no phone number": "pas de téléphone",
  "not a mobile number": "pas un numéro de mobile", "no email consent": "pas d'accord pour les e-mails",
  "no email address": "pas d'adresse e-mail", erased: "personne effacée",
  "consent withdrawn": "a répondu STOP", "enrollment cancelled": "inscription annulée",
  "session moved": "séance déplacée"};
const reason = (e) => REASONS[e] || e;   // a gateway's own reason is shown as it is

function enrollSection(s, again) {
  const slots = (s.slots || []).filter((x) => x.free);
  const mkSlot = () => s.kind === "permanence" && s.slots ? field({name: "slot_start",
    label: "Créneau", options: [["", "Sans rendez-vous"],
      ...slots.map((x) => [x.start, timeOf(new Date(x.start))])]}) : null;
  const slotField = mkSlot();
  const results = h("div", {class: "results", "aria-live": "polite"});
  const enroll = async (person, form) => {
    const body = {beneficiary_id: person.id};
    const slot = form && form.elements.slot_start ? form.elements.slot_start.value : "";
    if (slot) body.slot_start = slot;
    const e = await post(`/sessions/${s.id}/enrollments`, body);
    const name = `${person.first_name} ${person.last_name}`;
    announce(e.status === "waitlisted" ? `${name} est sur liste d'attente (séance complète).` :
      `${name} est inscrit·e.`);
    again();
  };
  const search = h("form", {class: "inline", role: "search", "aria-label": "Chercher une personne"},
    field({name: "q", label: "Nom ou téléphone", attrs: {autocomplete: "off"}}),
    slotField,
    h("button", {type: "submit"}, "Chercher"), results);
  search.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearErrors(search);
    const q = search.elements.q.value.trim();
    if (!q) return;
    try {
      const page = await get("/beneficiaries", {q, limit: 20});
      put(results, page.items.length ? h("ul", {class: "plain"}, page.items.map((p) =>
        h("li", {}, h("span", {}, `${p.first_name} ${p.last_name}`,
          p.phone ? ` · ${p.phone}` : "", p.birth_year ? ` · née ou né en ${p.birth_year}` : ""), " ",
          h("button", {type: "button", class: "primary small", onclick: async () => {
            try { await enroll(p, search); } catch (err) { showErrors(search, err); }
          }}, `Inscrire ${p.first_name} ${p.last_name}`)))) :
        h("p", {}, "Personne trouvée. Vous pouvez la créer ci-dessous."));
    } catch (err) { showErrors(search, err); }
  });
  const create = personForm(null, "Créer et inscrire");
  if (slotField) create.prepend(mkSlot());
  create.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearErrors(create);
    try {
      const p = await post("/beneficiaries", personBody(create));
      await enroll(p, create);
    } catch (err) { showErrors(create, err); }
  });
  return h("section", {"aria-labelledby": "add-t"},
    h("h2", {id: "add-t"}, "Inscrire quelqu'un"),
    search,
    h("details", {}, h("summary", {}, "Nouvelle personne"), create));
}
