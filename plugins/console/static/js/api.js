// The console's only way to the server: the documented HTTP API. A staff
// member signs in with e-mail and password (POST /auth/login): the server
// answers with an HttpOnly session cookie that the browser sends with every
// request, and that survives a closed tab. An API token (scripts, the
// administrator) may be used instead; it is kept in sessionStorage only.
// Problems (RFC 9457) become an ApiError whose message and field messages
// are French: an English word never reaches a coordinator.

const KEY = "relais.token";
export const BASE = "/api/v1";

export const getToken = () => sessionStorage.getItem(KEY);
export const setToken = (t) => sessionStorage.setItem(KEY, t);
export const clearToken = () => sessionStorage.removeItem(KEY);

const FIELD_LABELS = {
  title: "Titre", theme: "Thème", level: "Niveau", venue_id: "Lieu", trainer_id: "Animateur·rice",
  starts_at: "Début", ends_at: "Fin", capacity: "Places", slot_minutes: "Durée d'un créneau",
  recurrence: "Répétition", "recurrence.count": "Nombre de séances", "recurrence.until": "Jusqu'au",
  "recurrence.interval": "Intervalle", "recurrence.freq": "Répéter", parts: "Parties", kind: "Type",
  first_name: "Prénom", last_name: "Nom", phone: "Téléphone", email: "E-mail",
  birth_year: "Année de naissance", gender: "Genre", commune: "Commune",
  neighborhood: "Quartier", prescriber: "Prescripteur", external_id: "Identifiant externe",
  beneficiary_id: "Personne", slot_start: "Créneau", from: "Du", to: "Au", status: "Statut",
  start_time: "Nouvelle heure de début", end_time: "Nouvelle heure de fin", online: "En ligne",
  consent_sms: "Accord SMS", consent_email: "Accord e-mail", password: "Mot de passe",
  q: "Recherche", limit: "Nombre par page", name: "Nom", address: "Adresse",
  reason: "Motif",
  // The programme's records (js/records.js; each form may name its own).
  organisation_id: "Structure", audience: "Public", residence: "Résidence", themes: "Thèmes",
  minutes: "Durée", modality: "Comment", session_id: "Permanence", staff_id: "Qui accompagne",
  started_at: "Date et heure", procedure: "Démarche", "procedure.operator": "Démarche auprès de",
  "procedure.done": "Démarche aboutie", equipment: "Matériel utilisé", autonomy: "Autonomie",
  referred_to: "Orientée vers", pass: "N° de pass numérique", anonymous: "Sans inscription",
  "anonymous.gender": "Genre", "anonymous.age_bracket": "Âge",
  "anonymous.residence": "Résidence", counts: "Groupes", n: "Nombre",
  equipment_ids: "Appareils", date: "Date", attendees: "Participants",
  organisation_ids: "Structures", label: "Nom de l'appareil", due: "À rendre le",
  returned_on: "Rendu le",
  // The activity report (period[N]: the Nth period, labelled below).
  period: "Période", format: "Format",
};

// Server messages (English, stable) → plain French. By field first, then
// by message; anything unknown becomes a French generic, never English.
const BY_FIELD = [
  ["to", /^must not be before from$/, "doit être le même jour que « Du », ou après"],
  ["recurrence.until", /^must not be before starts_at$/, "doit être le jour de la première séance, ou après"],
  ["end_time", /^must be after start_time$/, "doit être après l'heure de début"],
  ["until", /^give count or until, not both$/, "indiquez un nombre de séances ou une date de fin, pas les deux"],
  ["count", /^count or until is required$/, "indiquez un nombre de séances ou une date de fin"],
  ["due", /^must not be before from$/, "ne peut pas être avant la date du prêt"],
  ["returned_on", /^must not be before from$/, "ne peut pas être avant la date du prêt"],
];
const MESSAGES = [
  // The activity report's periods and filters.
  [/ on each side of \.\.$/, "chaque côté doit être une date"],
  [/^give either period or from and to$/, "des périodes, ou « Du » et « Au », pas les deux"],
  [/^at most (\d+) periods$/, "$1 périodes au plus"],
  [/^must be FROM\.\.TO/, "doit aller d'une date à une autre"],
  [/^ends before it starts$/, "finit avant de commencer"],
  [/^the periods overlap: (\S+)\.\.(\S+) and (\S+)\.\.(\S+)$/,
    "les périodes du $1 au $2 et du $3 au $4 se chevauchent"],
  [/^given more than once$/, "donné deux fois"],
  [/^must be resident or professional$/, "choix invalide"],
  [/^must be workshop, permanence or training$/, "choix invalide"],
  [/^must be a commune's name/, "doit être le nom d'une commune"],
  [/^must be an id \(a positive whole number\)$/, "choix invalide"],
  [/^required$/, "à remplir"],
  [/^unknown field$/, "information que le serveur ne connaît pas"],
  [/^appears more than once$/, "donné deux fois"],
  [/^cannot change$/, "ne peut pas changer"],
  [/^cannot be cleared$/, "ne peut pas être vidé"],
  [/^no such venue$/, "ce lieu n'existe pas"],
  [/^no such staff member$/, "cette personne de l'équipe n'existe pas"],
  [/^no such beneficiary$/, "cette personne n'existe pas"],
  [/^must be after starts_at$/, "doit être après le début"],
  [/^ends_at must be after starts_at$/, "la fin doit être après le début"],
  [/^the session must end after it starts$/, "la séance doit finir après son début"],
  [/^must be after start_time$/, "doit être après l'heure de début"],
  [/^must not be before/, "est trop tôt"],
  [/^must be an RFC 3339 time or a date/, "doit être une date"],
  [/^must be an RFC 3339 time/, "doit être une date et une heure"],
  [/^must be a local time HH:MM$/, "doit être une heure (par exemple 14:00)"],
  [/^invalid phone number$/, "numéro de téléphone invalide"],
  [/^not an email address$/, "adresse e-mail invalide"],
  [/^must be an integer between (\d+) and (\d+)$/, "doit être un nombre entier de $1 à $2"],
  [/^must be an integer of at least (\d+)$/, "doit être un nombre entier d'au moins $1"],
  [/^must be an integer of at most (\d+)$/, "doit être un nombre entier d'au plus $1"],
  [/^must be an integer$/, "doit être un nombre entier"],
  [/^must be a positive integer id$/, "choix invalide"],
  [/^at most (\d+) bytes$/, "trop long ($1 caractères au plus)"],
  [/^must be at most (\d+) characters$/, "trop long ($1 caractères au plus)"],
  [/^give count or until, not both$/, "indiquez un nombre de séances ou une date de fin, pas les deux"],
  [/^count or until is required$/, "indiquez un nombre de séances ou une date de fin"],
  [/^at most (\d+) occurrences$/, "$1 séances au plus"],
  [/^a training cannot recur$/, "une formation ne se répète pas"],
  [/^only a permanence has slots$/, "seule une permanence a des créneaux"],
  [/^only a permanence with slots takes a slot_start$/, "seule une permanence avec créneaux en a"],
  [/^the window holds no whole slot$/, "la plage horaire ne contient aucun créneau entier"],
  [/^the window holds more than (\d+) slots$/, "la plage horaire contient plus de $1 créneaux"],
  [/^must hold 1 to (\d+) parts$/, "de 1 à $1 parties"],
  [/^must be (a boolean|true or false)$/, "oui ou non"],
  [/^must be a string$/, "doit être un texte"],
  [/^must be one of/, "choix invalide"],
  [/^must be an (object|array)$/, "forme invalide"],
  [/^a part takes the training's capacity$/, "une partie a les places de la formation"],
  [/^a training follows its parts/, "une formation suit ses parties : modifiez les parties"],
  [/^this staff member has no e-mail/, "cette personne de l'équipe n'a pas d'adresse e-mail"],
  [/^at most (\d+) words$/, "$1 mots au plus"],
  // The programme's records.
  [/^no such (organisation|beneficiary|venue|staff member|session|device)(: \d+)?$/,
    "n'existe pas"],
  [/^unknown value "(.*)"$/, "« $1 » n'est pas dans la liste"],
  [/^required \(or anonymous\)$/, "choisissez une personne, ou « sans inscription »"],
  [/^required \(at least one theme\)$|^at least one theme$/, "choisissez au moins un thème"],
  [/^give beneficiary_id or anonymous, not both$/,
    "une personne ou « sans inscription », pas les deux"],
  [/^cannot be cleared: give (beneficiary_id|anonymous) instead$/,
    "ne peut pas être vidé : choisissez une personne ou « sans inscription »"],
  [/^must be a permanence$/, "doit être une permanence"],
  [/^the session is cancelled$/, "la séance est annulée"],
  [/^must be a date YYYY-MM-DD( or an RFC 3339 time)?$/, "doit être une date"],
  [/^not a kind of (meeting|organisation)$/, "choix invalide"],
  [/^at most (\d+) (groups|values)$/, "$1 au plus"],
  [/^must be an array of at most (\d+) ids$/, "$1 au plus"],
  [/^must be an array of /, "forme invalide"],
  [/^must be an object \{/, "forme invalide"],
  [/^must be 1 or 0$/, "oui ou non"],
];
// Messages already in French (the phone checks, the Pix import) pass as they are.
const looksFrench = (m) => /[àâçéèêëîïôûùœ]|^(numéro|caractère|le |la |les |l'|un |une |indicatif|ce )/i.test(m);

export function frMessage(m, field) {
  if (typeof m !== "string") return "valeur à corriger";
  for (const [f, re, fr] of BY_FIELD) if (f === field && re.test(m)) return fr;
  for (const [re, fr] of MESSAGES) if (re.test(m)) return m.replace(re, fr);
  return looksFrench(m) ? m : "valeur à corriger";
}

const STATUS_TEXT = {
  400: "La demande est mal formée.",
  401: "Votre session a pris fin : reconnectez-vous.",
  403: "Votre rôle ne permet pas cette action.",
  404: "Introuvable : cet élément n'existe pas ou a été effacé.",
  409: "Impossible dans l'état actuel.",
  413: "Le fichier est trop gros.",
  415: "Ce type de contenu n'est pas accepté.",
  422: "Certains champs sont à corriger.",
  429: "Trop d'essais : attendez un moment, puis réessayez.",
  502: "Le message n'a pas pu partir : réessayez plus tard.",
  503: "Le serveur est momentanément indisponible : réessayez dans un instant.",
  0: "Le serveur ne répond pas : vérifiez la connexion au réseau.",
};
const CONFLICTS = [
  [/already enrolled|enrolled twice/i, "Cette personne est déjà inscrite."],
  [/slot.*(taken|not free)|already taken/i, "Ce créneau est déjà pris."],
  [/not the start of a slot/i, "Ce créneau ne fait pas partie de la permanence."],
  [/has not started yet/i, "La séance n'a pas encore commencé : la présence se note après le début."],
  [/places are taken/i, "Il y a déjà plus de personnes inscrites que ce nombre de places."],
  [/booked slot .*outside/i, "Une personne a un créneau en dehors des nouveaux horaires."],
  [/no date of series .* left/i, "Il ne reste aucune date à venir dans cette série."],
  [/is a part of training/i, "C'est une partie de formation : inscrivez à la formation entière."],
  [/cannot be cancelled|cannot be marked/i, "Ce n'est plus possible pour cette inscription."],
  [/already lent|lent again/i, "Cet appareil est déjà prêté et pas encore rendu."],
  [/was lent or used/i, "Cet appareil a été prêté ou utilisé : il reste dans l'historique."],
  [/organisation .* is referred to/i,
    "Des personnes, accompagnements ou réunions citent cette structure : elle reste."],
  [/cancelled: (it had no walk-ins|no device was used)/i, "La séance est annulée : rien à y noter."],
  [/has sessions|trains sessions|referred/i, "Des séances y font référence : impossible de supprimer."],
  [/external_id is already taken/i, "Cet identifiant externe est déjà celui d'une autre personne."],
  [/is cancelled|already cancelled/i, "La séance ou l'inscription est annulée."],
  [/started/i, "La séance a déjà commencé."],
];

export class ApiError extends Error {
  constructor(status, problem) {
    let msg = STATUS_TEXT[status] || (status >= 500 ? "Le serveur a rencontré une erreur." :
      "La demande a échoué.");
    if (status === 409 && problem && problem.detail) {
      const c = CONFLICTS.find(([re]) => re.test(problem.detail));
      if (c) msg = c[1];
    }
    super(msg);
    this.status = status;
    this.problem = problem;
    this.fields = ((problem && problem.errors) || []).map((e) => ({
      field: e.field,
      label: FIELD_LABELS[e.field] ||
        FIELD_LABELS[String(e.field).replace(/^(parts|counts)\[\d+\]\./, "")] ||
        String(e.field).replace(/^period\[(\d+)\]$/, "Période $1").replace(/^(?!Période).*$/, "Champ"),
      message: frMessage(e.message, e.field)}));
  }
}

// Signed out (a 401): the app shows the sign-in view again.
let onUnauthorized = () => {};
export const setUnauthorizedHandler = (fn) => { onUnauthorized = fn; };

// request("GET", "/sessions", {query, json, body, contentType, accept, raw, root}).
// ROOT is a path outside /api/v1 (/auth/…). Every write carries a
// Content-Type (JSON unless said otherwise): the server refuses a write
// made with the session cookie without one, which no other site's form
// can send.
export async function request(method, path, opts = {}) {
  const headers = {};
  const token = getToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  let body;
  if (opts.json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(opts.json);
  } else if (opts.body !== undefined) {
    headers["Content-Type"] = opts.contentType || "application/octet-stream";
    body = opts.body;
  } else if (method !== "GET" && method !== "HEAD") {
    headers["Content-Type"] = "application/json";
  }
  if (opts.accept) headers.Accept = opts.accept;
  let url = (opts.root ? "" : BASE) + path;
  if (opts.query) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(opts.query)) {
      // A list repeats the name (?period=…&period=…).
      if (Array.isArray(v)) v.forEach((x) => q.append(k, x));
      else if (v !== undefined && v !== null && v !== "") q.set(k, v);
    }
    if ([...q].length) url += "?" + q.toString();
  }
  let res;
  try {
    res = await fetch(url, {method, headers, body, cache: "no-store", credentials: "same-origin"});
  } catch {
    throw new ApiError(0, null);
  }
  if (res.status === 401 && !opts.quiet401) onUnauthorized();
  if (!res.ok) {
    let problem = null;
    try { problem = await res.json(); } catch { /* not JSON: the status says it */ }
    throw new ApiError(res.status, problem);
  }
  if (opts.raw) return res;
  if (res.status === 204) return null;
  const type = res.headers.get("Content-Type") || "";
  return type.includes("json") ? res.json() : res.text();
}

export const get = (path, query) => request("GET", path, {query});
export const post = (path, json) => request("POST", path, {json: json ?? {}});
export const patch = (path, json) => request("PATCH", path, {json});
export const del = (path) => request("DELETE", path);

// Every page of a list (a month of sessions is a few hundred at most).
export async function getAll(path, query = {}) {
  const items = [];
  let cursor = null;
  do {
    const page = await get(path, {...query, limit: 500, cursor});
    items.push(...page.items);
    cursor = page.next;
  } while (cursor && items.length < 5000);
  return items;
}

// Who is signed in: {role, staff_id, staff_name, session}; a 401 when nobody.
export const whoami = () => request("GET", "/auth/me", {root: true, quiet401: true});
export const signInWithPassword = (email, password) =>
  request("POST", "/auth/login", {root: true, json: {email, password}, quiet401: true});
export const signOut = () => request("POST", "/auth/logout", {root: true, json: {}, quiet401: true});
