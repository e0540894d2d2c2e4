// The console: hash routes (#/semaine, #/seances/12…) to one module per
// view, loaded when first needed so that the first load stays small. The
// server only serves static files; all data comes from the API.
import {getToken, setToken, clearToken, whoami, setUnauthorizedHandler, ApiError} from "./api.js";
import {h, put, field, showErrors, announce} from "./ui.js";

const ROUTES = [
  [/^\/semaine(?:\/(\d{4}-\d{2}-\d{2}))?$/, "calendar", (m) => ({mode: "week", day: m[1]})],
  [/^\/mois(?:\/(\d{4}-\d{2}-\d{2}))?$/, "calendar", (m) => ({mode: "month", day: m[1]})],
  [/^\/seances\/nouvelle$/, "session_form", () => ({})],
  [/^\/seances\/(\d+)\/modifier$/, "session_form", (m) => ({id: +m[1]})],
  [/^\/seances\/(\d+)$/, "session", (m) => ({id: +m[1]})],
  [/^\/personnes$/, "people", () => ({})],
  [/^\/personnes\/(\d+)$/, "person", (m) => ({id: +m[1]})],
  [/^\/pix$/, "pix", () => ({})],
  [/^\/rapport$/, "report", () => ({})],
  [/^\/enquetes$/, "surveys", () => ({})],
  [/^\/accompagnement$/, "accompaniment", () => ({})],
  [/^\/reunions$/, "meetings", () => ({})],
  [/^\/materiel$/, "equipment", () => ({})],
];

export const ctx = {me: null};
const main = () => document.getElementById("main");

function parseHash() {
  const raw = decodeURIComponent(location.hash.replace(/^#/, "")) || "/semaine";
  const [path, qs] = raw.split("?");
  return {path, query: new URLSearchParams(qs || "")};
}

export function go(path) {
  if (location.hash === "#" + path) route();
  else location.hash = path;
}

async function route() {
  if (!getToken() || !ctx.me) return signIn();
  const {path, query} = parseHash();
  const el = main();
  for (const [re, name, params] of ROUTES) {
    const m = re.exec(path);
    if (!m) continue;
    markCurrent(path);
    try {
      const view = await import(`./views/${name}.js`);
      await view.render(el, {...params(m), query}, ctx);
    } catch (err) {
      showFailure(el, err);
    }
    // The new view's title takes the focus, so a screen reader hears where it is.
    const title = el.querySelector("h1");
    if (title) {
      title.setAttribute("tabindex", "-1");
      title.focus({preventScroll: false});
      document.title = `${title.textContent} — Relais`;
    }
    return;
  }
  put(el, h("h1", {}, "Page introuvable"),
    h("p", {}, h("a", {href: "#/semaine"}, "Revenir au calendrier")));
}

export function showFailure(el, err) {
  put(el, h("h1", {}, "Impossible d'afficher cette page"),
    h("p", {class: "error", role: "alert"}, err instanceof ApiError ? err.message : String(err)),
    h("p", {}, h("a", {href: "#/semaine"}, "Revenir au calendrier")));
}

function markCurrent(path) {
  document.querySelectorAll("#nav a").forEach((a) => {
    const here = path.startsWith(a.getAttribute("href").slice(1));
    if (here) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  });
}

function showNav(on) {
  const nav = document.getElementById("nav");
  nav.hidden = !on;
  const staff = ctx.me && ctx.me.role !== "trainer";
  nav.querySelectorAll("[data-staff]").forEach((li) => { li.hidden = !staff; });
  const ROLE = {admin: "administration", coordinator: "coordination", trainer: "animation"};
  document.getElementById("who").textContent = on && ctx.me ?
    `Connecté·e : ${ctx.me.staff_name || ROLE[ctx.me.role] || ""}` : "";
}

function signIn(message) {
  showNav(false);
  const el = main();
  const form = h("form", {class: "card narrow", novalidate: true},
    h("p", {}, "Collez le jeton d'accès qu'on vous a remis (il commence par « rls_ »). " +
      "Il reste dans cet onglet seulement : fermer l'onglet vous déconnecte."),
    field({name: "token", label: "Jeton d'accès", type: "password", required: true,
           attrs: {autocomplete: "off", spellcheck: "false"}}),
    h("button", {type: "submit", class: "primary"}, "Se connecter"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const t = form.elements.token.value.trim();
    if (!t) {
      showErrors(form, {message: "Le jeton est à remplir.",
        fields: [{field: "token", label: "Jeton d'accès", message: "à remplir"}]});
      return;
    }
    setToken(t);
    try {
      ctx.me = await whoami();
    } catch (err) {
      clearToken();
      showErrors(form, {message: err.status === 401 ? "Ce jeton n'est pas reconnu." : err.message,
        fields: err.status === 401 ? [{field: "token", label: "Jeton d'accès",
          message: "jeton inconnu ou révoqué"}] : []});
      return;
    }
    showNav(true);
    announce("Vous êtes connecté·e.");
    route();
  });
  put(el, h("h1", {}, "Se connecter"),
    message ? h("p", {class: "error", role: "alert"}, message) : null, form);
  form.elements.token.focus();
  document.title = "Se connecter — Relais";
}

async function start() {
  setUnauthorizedHandler(() => {
    if (!ctx.me) return;   // signing in: the form says it itself
    clearToken();
    ctx.me = null;
    signIn("Votre jeton n'est plus reconnu : reconnectez-vous.");
  });
  document.getElementById("skip").addEventListener("click", (e) => {
    e.preventDefault();
    main().focus();
  });
  document.getElementById("signout").addEventListener("click", () => {
    clearToken();
    ctx.me = null;
    signIn();
    announce("Vous êtes déconnecté·e.");
  });
  window.addEventListener("hashchange", route);
  if (getToken()) {
    try {
      ctx.me = await whoami();
      showNav(true);
    } catch {
      clearToken();
    }
  }
  route();
}

start();
