// Small DOM helpers and the French words of the console. No framework: a
// view builds its elements with h() and replaces the <main> content.
//
// Saving: every button that writes goes through busy() (or a form through
// onSubmit()), which disables it with « Enregistrement… » until the answer,
// so a double click never sends twice. Messages (announce) are a banner in
// the page's flow, above the view: they never cover a control, and leave
// with the screen (clearStatus on every route).

// h("p", {class: "x", onclick: fn}, "text", child…). Attributes whose value
// is false/null/undefined are left out; `true` sets an empty attribute.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === false || v === null || v === undefined) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "value") el.value = v;
    else if (k === "checked") el.checked = !!v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

// SVG elements (charts), attributes set as such.
export function svg(tag, attrs, ...children) {
  const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  for (const c of children) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

let uid = 0;
export const newId = (p) => `${p}-${++uid}`;

// A labelled form field. opts: {name, label, type, value, required, hint,
// options: [[value, text]…] for a select, attrs}. The error slot is filled
// by showErrors() with the server's message for that field.
export function field(opts) {
  const id = newId(opts.name);
  const errId = id + "-err", hintId = id + "-hint";
  const described = [opts.hint ? hintId : null, errId].filter(Boolean).join(" ");
  let input;
  const common = {id, name: opts.name, required: !!opts.required, "aria-describedby": described,
                  ...(opts.attrs || {})};
  if (opts.options) {
    input = h("select", common, opts.options.map(([v, t]) =>
      h("option", {value: v, selected: String(v) === String(opts.value ?? "") }, t)));
  } else if (opts.type === "textarea") {
    input = h("textarea", common, opts.value ?? "");
  } else {
    input = h("input", {...common, type: opts.type || "text", value: opts.value ?? ""});
  }
  return h("div", {class: "field", "data-field": opts.name},
    h("label", {for: id}, opts.label, opts.required ? h("span", {class: "req"}, " (obligatoire)") : null),
    opts.hint ? h("p", {class: "hint", id: hintId}, opts.hint) : null,
    input,
    h("p", {class: "field-error", id: errId}));
}

export function checkbox(name, label, checked, hint) {
  const id = newId(name);
  return h("div", {class: "check", "data-field": name},
    h("input", {type: "checkbox", id, name, checked}),
    h("label", {for: id}, label),
    hint ? h("p", {class: "hint"}, hint) : null,
    h("p", {class: "field-error", id: id + "-err"}));
}

// Shows ERR (an ApiError) in FORM: each field's message next to it, and a
// summary at the top of the form that takes the focus.
export function showErrors(form, err) {
  clearErrors(form);
  let box = form.querySelector(".form-errors");
  if (!box) {
    box = h("div", {class: "form-errors", tabindex: "-1", role: "alert"});
    form.prepend(box);
  }
  const list = h("ul");
  for (const fe of err.fields || []) {
    const slot = form.querySelector(`[data-field="${CSS.escape(fe.field)}"] .field-error`);
    if (slot) {
      slot.textContent = fe.message;
      const input = slot.parentElement.querySelector("input, select, textarea");
      if (input) input.setAttribute("aria-invalid", "true");
    }
    list.append(h("li", {}, `${fe.label || fe.field} : ${fe.message}`));
  }
  box.replaceChildren(h("p", {}, err.message), (err.fields || []).length ? list : "");
  box.hidden = false;
  box.focus();
}

export function clearErrors(form) {
  form.querySelectorAll(".field-error").forEach((e) => (e.textContent = ""));
  form.querySelectorAll("[aria-invalid]").forEach((e) => e.removeAttribute("aria-invalid"));
  const box = form.querySelector(".form-errors");
  if (box) { box.hidden = true; box.replaceChildren(); }
}

// A polite announcement for screen readers, also shown on screen, in the
// page's flow (it pushes the view down rather than covering it) until the
// next screen or the next announcement.
export function announce(text, kind = "ok") {
  const s = document.getElementById("status");
  s.className = "status " + kind;
  s.textContent = "";
  // A new text node after a tick so that it is announced even if repeated.
  clearTimeout(announceTimer);
  announceTimer = setTimeout(() => { s.textContent = text; }, 30);
}
let announceTimer;

export function clearStatus() {
  clearTimeout(announceTimer);
  const s = document.getElementById("status");
  if (s) { s.textContent = ""; s.className = "status"; }
}

// Runs ACTION (async) with BUTTON disabled and saying LABEL until it ends:
// a second click meanwhile does nothing. Returns ACTION's result.
export async function busy(button, action, label = "Enregistrement…") {
  if (!button) return action();
  if (button.dataset.busy) return undefined;
  const text = button.textContent;
  button.dataset.busy = "1";
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  button.textContent = label;
  try {
    return await action();
  } finally {
    // The button may have left the page with its view: nothing to restore.
    delete button.dataset.busy;
    button.disabled = false;
    button.removeAttribute("aria-busy");
    button.textContent = text;
  }
}

// FORM's submit runs HANDLER (async) once at a time, its submit buttons
// busy meanwhile; errors the handler does not catch are shown in the form.
// A handler that resolves to "leave" (it moved to another screen) keeps
// the form disabled: nothing can be sent again before the screen changes.
export function onSubmit(form, handler, label = "Enregistrement…") {
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (form.dataset.busy) return;
    form.dataset.busy = "1";
    const buttons = [...form.querySelectorAll("button[type=submit]")];
    const texts = buttons.map((b) => b.textContent);
    buttons.forEach((b) => {
      b.disabled = true;
      b.setAttribute("aria-busy", "true");
      if (b === e.submitter || buttons.length === 1) b.textContent = label;
    });
    let outcome;
    try {
      outcome = await handler(e);
    } catch (err) {
      showErrors(form, err);
    } finally {
      if (outcome === "leave") return;
      delete form.dataset.busy;
      buttons.forEach((b, i) => {
        b.disabled = false;
        b.removeAttribute("aria-busy");
        b.textContent = texts[i];
      });
    }
  });
}

// A modal question (the native <dialog>: focus is trapped and restored).
export function confirmDialog(title, text, okLabel) {
  return new Promise((resolve) => {
    const id = newId("dlg");
    const dlg = h("dialog", {"aria-labelledby": id + "-t", "aria-describedby": id + "-d"},
      h("h2", {id: id + "-t"}, title),
      h("p", {id: id + "-d"}, text),
      h("div", {class: "actions"},
        h("button", {type: "button", class: "danger", onclick: () => close(true)}, okLabel),
        h("button", {type: "button", onclick: () => close(false)}, "Ne rien faire")));
    function close(v) { dlg.close(); dlg.remove(); resolve(v); }
    dlg.addEventListener("cancel", (e) => { e.preventDefault(); close(false); });
    document.body.append(dlg);
    dlg.showModal();
    dlg.querySelector("button:last-child").focus();
  });
}

// --- words ---------------------------------------------------------------
export const KINDS = {workshop: "Atelier", permanence: "Permanence", training: "Formation"};
export const ENROLL = {booked: "Inscrit·e", waitlisted: "Sur liste d'attente", cancelled: "Annulé",
  attended: "Présent·e", absent: "Absent·e", excused: "Absence excusée"};
export const NOTIF_KIND = {confirmation: "Confirmation", reminder: "Rappel", change: "Changement",
  cancellation: "Annulation", promoted: "Place obtenue", survey: "Questionnaire",
  waitlisted: "Liste d'attente"};
export const NOTIF_STATUS = {pending: "À envoyer", sent: "Envoyé", delivered: "Reçu",
  failed: "Échec", cancelled: "Annulé", suppressed: "Non envoyé"};
export const CHANNEL = {sms: "SMS", email: "E-mail"};
export const LEVELS = {1: "1 – Découvrir", 2: "2 – Maîtriser", 3: "3 – Agir"};
export const THEMES = ["démarches en ligne", "identité numérique", "smartphone", "internet",
  "e-mail", "souris et clavier", "sécurité", "autre"];
export const GENDERS = {F: "Femme", M: "Homme", X: "Autre"};

// --- dates (the browser's own time zone: the territory's) ----------------
const fmt = (o) => new Intl.DateTimeFormat("fr-FR", o);
const fDay = fmt({weekday: "long", day: "numeric", month: "long"});
const fDayYear = fmt({weekday: "long", day: "numeric", month: "long", year: "numeric"});
const fTime = fmt({hour: "2-digit", minute: "2-digit"});
const fMonth = fmt({month: "long", year: "numeric"});
const fShort = fmt({day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit"});
const cap = (t) => t.charAt(0).toUpperCase() + t.slice(1);
export const dayName = (d) => cap(fDay.format(d));
export const dayNameYear = (d) => fDayYear.format(d);
export const timeOf = (d) => fTime.format(d).replace(":", "h");
export const monthName = (d) => fMonth.format(d);
export const shortDateTime = (d) => fShort.format(d);

// "YYYY-MM-DD" of a Date in local time.
export function isoDay(d) {
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}
export function hhmm(d) {
  const p = (n) => String(n).padStart(2, "0");
  return `${p(d.getHours())}:${p(d.getMinutes())}`;
}
export function parseDay(s) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s || "");
  return m ? new Date(+m[1], +m[2] - 1, +m[3]) : null;
}
// Local date + "HH:MM" → RFC 3339 with the local offset.
export function toRfc3339(day, time) {
  const [y, mo, d] = day.split("-").map(Number);
  const [hh, mm] = time.split(":").map(Number);
  const dt = new Date(y, mo - 1, d, hh, mm);
  const off = -dt.getTimezoneOffset();
  const p = (n) => String(Math.floor(Math.abs(n))).padStart(2, "0");
  return `${day}T${p(hh)}:${p(mm)}:00${off >= 0 ? "+" : "-"}${p(off / 60)}:${p(off % 60)}`;
}
export function startOfWeek(d) {
  const x = new Date(d.getFullYear(), d.getMonth(), d.getDate());
  x.setDate(x.getDate() - ((x.getDay() + 6) % 7));
  return x;
}
export const addDays = (d, n) => new Date(d.getFullYear(), d.getMonth(), d.getDate() + n);

export function placesText(s) {
  if (s.status === "cancelled") return "Séance annulée";
  const parts = [];
  if (s.remaining === null || s.remaining === undefined) parts.push(`${s.booked} inscrit·e·s`);
  else parts.push(s.remaining === 0 ? "Complet" :
    `${s.remaining} place${s.remaining > 1 ? "s" : ""} libre${s.remaining > 1 ? "s" : ""}`);
  if (s.waitlisted) parts.push(`${s.waitlisted} en attente`);
  return parts.join(" · ");
}

// Saves BLOB as a file NAME (export, CSV).
export function download(name, blob) {
  const a = h("a", {href: URL.createObjectURL(blob), download: name, hidden: true}, name);
  document.body.append(a);
  a.click();
  setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
}

// The view's content while its data comes: never a blank page, never the
// previous screen left under the new one.
export function loading(main, text = "Chargement…") {
  main.replaceChildren(h("p", {class: "loading", role: "status"}, h("span", {class: "spinner",
    "aria-hidden": "true"}), text));
}

// A table that may be wider than a phone scrolls inside its own box, so
// that the page itself never scrolls sideways.
export const scrollBox = (table) => h("div", {class: "table-wrap"}, table);

// "2026-12-10T13:00:00Z" has started at NOW (ms)?
export const started = (s, now = Date.now()) => new Date(s.starts_at).getTime() <= now;

// Replaces EL's children; null, false and nested lists are handled as h() does.
export function put(el, ...children) {
  el.replaceChildren();
  append(el, children);
}
