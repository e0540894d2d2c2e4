// The console: hash routes (#/semaine, #/seances/12…) to one module per
// view, loaded when first needed so that the first load stays small. The
// server only serves static files; all data comes from the API.
//
// Signing in: e-mail and password (a session cookie, which survives a
// closed tab), or an API token for the administrator and scripts. Who is
// signed in (GET /auth/me) decides the menu before anything is tried: a
// trainer never sees a button the API would refuse.
import {getToken, setToken, clearToken, whoami, signInWithPassword, signOut,
        setUnauthorizedHandler, ApiError} from "./api.js";
import {h, put, field, showErrors, announce, clearStatus, onSubmit, loading} from "./ui.js";

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
  [/^\/pass$/, "pass", () => ({})],
];

export const ctx = {me: null};
const main = () => document.getElementById("main");
let routeSeq = 0;

function parseHash() {
  const raw = decodeURIComponent(location.hash.replace(/^#/, "")) || "/semaine";
  const [path, qs] = raw.split("?");
  return {path, query: new URLSearchParams(qs || "")};
}

export function go(path) {
  if (location.hash === "#" + path) route();
  else location.hash = path;
}

// Each screen renders into a container of its own: when another route
// starts before it is done (a quick click on "Mois suivant"), the old one
// is already off the page and its late data shows nowhere.
async function route() {
  if (!ctx.me) return signIn();
  const seq = ++routeSeq;
  const {path, query} = parseHash();
  const el = h("div", {class: "view"});
  loading(el);
  main().replaceChildren(el);
  clearStatus();
  for (const [re, name, params] of ROUTES) {
    const m = re.exec(path);
    if (!m) continue;
    markCurrent(path);
    try {
      const view = await import(`./views/${name}.js`);
      await view.render(el, {...params(m), query}, ctx);
    } catch (err) {
      if (seq === routeSeq) showFailure(el, err);
    }
    if (seq !== routeSeq) return;
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
    h("p", {class: "error", role: "alert"}, err instanceof ApiError ? err.message :
      "Une erreur est survenue. Rechargez la page."),
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
    `Connexion : ${ctx.me.staff_name || ROLE[ctx.me.role] || ""}` : "";
}

async function signedIn() {
  ctx.me = await whoami();
  showNav(true);
  announce("Connexion réussie.");
  route();
}

function signIn(message) {
  showNav(false);
  clearStatus();
  const el = main();
  const form = h("form", {class: "card narrow", novalidate: true},
    field({name: "email", label: "Adresse e-mail", type: "email", required: true,
           attrs: {autocomplete: "username", spellcheck: "false"}}),
    field({name: "password", label: "Mot de passe", type: "password", required: true,
           attrs: {autocomplete: "current-password"}}),
    h("button", {type: "submit", class: "primary"}, "Se connecter"));
  onSubmit(form, async () => {
    const email = form.elements.email.value.trim(), password = form.elements.password.value;
    const missing = [];
    if (!email) missing.push({field: "email", label: "Adresse e-mail", message: "à remplir"});
    if (!password) missing.push({field: "password", label: "Mot de passe", message: "à remplir"});
    if (missing.length) {
      showErrors(form, {message: "Certains champs sont à remplir.", fields: missing});
      return;
    }
    clearToken();
    try {
      await signInWithPassword(email, password);
    } catch (err) {
      form.elements.password.value = "";
      showErrors(form, err.status === 401 ? {message: "Adresse e-mail ou mot de passe incorrect.",
        fields: [{field: "password", label: "Mot de passe",
                  message: "adresse e-mail ou mot de passe incorrect"}]} : err);
      return;
    }
    await signedIn();
  }, "Connexion…");

  const tokenForm = h("form", {class: "inline", novalidate: true},
    field({name: "token", label: "Jeton d'accès", type: "password",
           attrs: {autocomplete: "off", spellcheck: "false"}}),
    h("button", {type: "submit"}, "Se connecter avec le jeton"));
  onSubmit(tokenForm, async () => {
    const t = tokenForm.elements.token.value.trim();
    if (!t) {
      showErrors(tokenForm, {message: "Le jeton est à remplir.",
        fields: [{field: "token", label: "Jeton d'accès", message: "à remplir"}]});
      return;
    }
    setToken(t);
    try {
      await signedIn();
    } catch (err) {
      clearToken();
      ctx.me = null;
      showErrors(tokenForm, {message: err.status === 401 ? "Ce jeton n'est pas reconnu." : err.message,
        fields: err.status === 401 ? [{field: "token", label: "Jeton d'accès",
          message: "jeton inconnu ou révoqué"}] : []});
    }
  }, "Connexion…");

  put(el, h("h1", {}, "Se connecter"),
    message ? h("p", {class: "error", role: "alert"}, message) : null,
    h("p", {}, "Connectez-vous avec votre adresse e-mail et votre mot de passe. Vous restez " +
      "connecté sur cet appareil, même en fermant l'onglet, jusqu'à ce que vous cliquiez sur " +
      "« Se déconnecter »."),
    form,
    h("details", {class: "token-signin"},
      h("summary", {}, "Se connecter avec un jeton d'accès (administration, scripts)"),
      h("p", {class: "hint"}, "Le jeton commence par « rls_ ». Il reste dans cet onglet " +
        "seulement : fermer l'onglet vous déconnecte."), tokenForm));
  form.elements.email.focus();
  document.title = "Se connecter — Relais";
}

async function start() {
  setUnauthorizedHandler(() => {
    if (!ctx.me) return;   // signing in: the form says it itself
    clearToken();
    ctx.me = null;
    signIn("Votre session a pris fin : reconnectez-vous.");
  });
  document.getElementById("skip").addEventListener("click", (e) => {
    e.preventDefault();
    main().focus();
  });
  document.getElementById("signout").addEventListener("click", async (e) => {
    const b = e.currentTarget;
    b.disabled = true;
    try {
      if (!getToken()) await signOut();
    } catch { /* signed out anyway on this side */ }
    b.disabled = false;
    clearToken();
    ctx.me = null;
    signIn();
    announce("Déconnexion faite : à bientôt.");
  });
  window.addEventListener("hashchange", route);
  // A session cookie (or this tab's token) may still be good.
  try {
    ctx.me = await whoami();
    showNav(true);
  } catch {
    clearToken();
    ctx.me = null;
  }
  route();
}

start();
