// The console's only way to the server: the documented HTTP API, with the
// user's token from sessionStorage (gone when the tab closes). Problems
// (RFC 9457) become an ApiError with a French message and, for a 422, one
// message per field.

const KEY = "relais.token";
export const BASE = "/api/v1";

export const getToken = () => sessionStorage.getItem(KEY);
export const setToken = (t) => sessionStorage.setItem(KEY, t);
export const clearToken = () => sessionStorage.removeItem(KEY);

const FIELD_LABELS = {
  title: "Titre", theme: "Thème", level: "Niveau", venue_id: "Lieu", trainer_id: "Animateur·rice",
  starts_at: "Début", ends_at: "Fin", capacity: "Places", slot_minutes: "Durée d'un créneau",
  recurrence: "Répétition", "recurrence.count": "Nombre de séances", "recurrence.until": "Jusqu'au",
  "recurrence.interval": "Intervalle", parts: "Parties", kind: "Type",
  first_name: "Prénom", last_name: "Nom", phone: "Téléphone", email: "E-mail",
  birth_year: "Année de naissance", gender: "Genre", commune: "Commune",
  neighborhood: "Quartier", prescriber: "Prescripteur", external_id: "Identifiant externe",
  beneficiary_id: "Personne", slot_start: "Créneau", from: "Du", to: "Au", status: "Statut",
};

// Server messages (English, stable) → plain French; unknown ones pass as they are.
const MESSAGES = [
  [/^required$/, "à remplir"],
  [/^unknown field$/, "champ inconnu"],
  [/^no such venue$/, "ce lieu n'existe pas"],
  [/^no such staff member$/, "cette personne de l'équipe n'existe pas"],
  [/^no such beneficiary$/, "cette personne n'existe pas"],
  [/^must be after starts_at$/, "doit être après le début"],
  [/^must be an RFC 3339 time/, "doit être une date et une heure"],
  [/^invalid phone number$/, "numéro de téléphone invalide"],
  [/^must be an integer between (\d+) and (\d+)$/, "doit être un nombre entier de $1 à $2"],
  [/^at most (\d+) bytes$/, "trop long ($1 caractères au plus)"],
  [/^give count or until, not both$/, "indiquez un nombre de séances ou une date de fin, pas les deux"],
  [/^count or until is required$/, "indiquez un nombre de séances ou une date de fin"],
  [/^at most (\d+) occurrences$/, "$1 séances au plus"],
  [/^a training cannot recur$/, "une formation ne se répète pas"],
  [/^only a permanence has slots$/, "seule une permanence a des créneaux"],
  [/^the window holds no whole slot$/, "la plage horaire ne contient aucun créneau entier"],
  [/^must hold 1 to (\d+) parts$/, "de 1 à $1 parties"],
  [/^must be a boolean$/, "oui ou non"],
  [/^must be a string$/, "doit être un texte"],
];
export function frMessage(m) {
  for (const [re, fr] of MESSAGES) if (re.test(m)) return m.replace(re, fr);
  return m;
}

const STATUS_TEXT = {
  400: "La demande est mal formée.",
  401: "Ce jeton n'est pas (ou plus) reconnu : reconnectez-vous.",
  403: "Votre rôle ne permet pas cette action.",
  404: "Introuvable : cet élément n'existe pas ou a été effacé.",
  409: "Impossible dans l'état actuel.",
  413: "Le fichier est trop gros.",
  415: "Ce type de contenu n'est pas accepté.",
  422: "Certains champs sont à corriger.",
  503: "Le serveur est momentanément indisponible : réessayez dans un instant.",
  0: "Le serveur ne répond pas : vérifiez la connexion au réseau.",
};
const CONFLICTS = [
  [/already enrolled|enrolled twice|already/i, "Cette personne est déjà inscrite."],
  [/slot.*(taken|not free)/i, "Ce créneau est déjà pris."],
  [/cancelled/i, "La séance ou l'inscription est annulée."],
  [/started/i, "La séance a déjà commencé."],
];

export class ApiError extends Error {
  constructor(status, problem) {
    let msg = STATUS_TEXT[status] || (status >= 500 ? "Le serveur a rencontré une erreur." :
      "La demande a échoué.");
    if (status === 409 && problem && problem.detail) {
      const c = CONFLICTS.find(([re]) => re.test(problem.detail));
      msg = c ? c[1] : `${msg} (${problem.detail})`;
    }
    super(msg);
    this.status = status;
    this.problem = problem;
    this.fields = ((problem && problem.errors) || []).map((e) => ({
      field: e.field, label: FIELD_LABELS[e.field] || e.field, message: frMessage(e.message)}));
  }
}

// Signed out: the app shows the sign-in view again.
let onUnauthorized = () => {};
export const setUnauthorizedHandler = (fn) => { onUnauthorized = fn; };

// request("GET", "/sessions", {query, json, body, contentType, accept, raw}).
export async function request(method, path, opts = {}) {
  const headers = {Authorization: `Bearer ${getToken() || ""}`};
  let body;
  if (opts.json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(opts.json);
  } else if (opts.body !== undefined) {
    headers["Content-Type"] = opts.contentType || "application/octet-stream";
    body = opts.body;
  }
  if (opts.accept) headers.Accept = opts.accept;
  let url = BASE + path;
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
    res = await fetch(url, {method, headers, body, cache: "no-store"});
  } catch {
    throw new ApiError(0, null);
  }
  if (res.status === 401) onUnauthorized();
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
export const post = (path, json) => request("POST", path, {json});
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

// Who the token is: {role, staff_id, name}.
export const whoami = () => get("/me");
