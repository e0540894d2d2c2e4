// End-to-end tests of the web console (plugins/console) in a real headless
// Chromium (Debian's, driven by playwright-core) against a real `relais` on
// a temporary database. Prints TAP. Each view is checked with axe-core
// (no serious or critical violation) and photographed into SCREENSHOT_DIR.
//
// Issue 15 in particular: sign-in with e-mail and password (and logout,
// and a trainer's reduced menu); a double click on every create form with
// a slowed network creates one record; attendance buttons only once a
// session has started; a series planned, previewed and enrolled in as a
// whole; the Pix import naming whom to register; every screen at 390 px
// without horizontal scrolling; the beneficiary's two-step cancel with
// JavaScript off. Issue 11's records (accompaniments, walk-ins, meetings,
// structures, devices and loans) get the same: one record for a double
// click on a slow link, problems in French.
//
// Env: RELAIS_BIN (the binary), RELAIS_SRC (the repository), CHROMIUM
// (default /usr/bin/chromium), SCREENSHOT_DIR (default
// $MESON_BUILD_ROOT/screenshots, else a temporary folder), ONLY (run the
// steps up to the first whose name contains it).
import {spawn, execFileSync} from "node:child_process";
import {mkdtempSync, mkdirSync, readFileSync, writeFileSync, rmSync} from "node:fs";
import {tmpdir} from "node:os";
import {join, dirname} from "node:path";
import {fileURLToPath} from "node:url";
import {createServer} from "node:net";
import {gzipSync} from "node:zlib";
import {createHash, createHmac} from "node:crypto";
import {chromium} from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const SRC = process.env.RELAIS_SRC || join(here, "..", "..");
const BIN = process.env.RELAIS_BIN || join(SRC, "build", "relais");
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const SHOTS = process.env.SCREENSHOT_DIR ||
  (process.env.MESON_BUILD_ROOT ? join(process.env.MESON_BUILD_ROOT, "screenshots") :
    mkdtempSync(join(tmpdir(), "relais-shots-")));
const AXE = readFileSync(join(here, "node_modules", "axe-core", "axe.min.js"), "utf8");

// --- TAP -------------------------------------------------------------------
const steps = [];
const step = (name, fn) => steps.push({name, fn});
const diag = (s) => console.log(String(s).split("\n").map((l) => "# " + l).join("\n"));
function assert(cond, msg) { if (!cond) throw new Error(msg); }
function eq(a, b, msg) {
  if (JSON.stringify(a) !== JSON.stringify(b))
    throw new Error(`${msg}: got ${JSON.stringify(a)}, want ${JSON.stringify(b)}`);
}

// --- the server --------------------------------------------------------------
// A socket listening on a port the kernel chose, handed to the server as
// its descriptor 3 (`relais serve --listen-fd 3`): the port is held from
// before the server starts, so nothing can race for it.
const listener = createServer();
await new Promise((res, rej) => { listener.on("error", rej); listener.listen(0, "127.0.0.1", res); });

const dir = mkdtempSync(join(tmpdir(), "relais-browser-"));
const port = listener.address().port;
const base = `http://127.0.0.1:${port}`;
const config = join(dir, "relais.conf.lua");
const dbPath = join(dir, "relais.db");
writeFileSync(config, [
  `listen = "127.0.0.1:${port}"`,
  `database = "${dbPath}"`,
  `public_url = "${base}"`,
  `plugins_dir = "${join(SRC, "plugins")}"`,
  `plugins = { "sms", "email", "pix", "surveys", "reports", "console", "pass" }`,
  // Messages go at once whatever the hour the test runs.
  `quiet_hours = false`,
  "",
].join("\n"));
const cli = (args, input) => execFileSync(BIN, [...args, "-c", config],
  {encoding: "utf8", input, stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"]}).trim();
// Reads or writes the database the way the integration tests do (Debian's
// Python), for what the API does not show: link tokens, survey answers.
const sql = (statement, ...args) => execFileSync("/usr/bin/python3", ["-c",
  "import json, sqlite3, sys\n" +
  "con = sqlite3.connect(sys.argv[1], timeout=10)\n" +
  "args = [bytes.fromhex(a[4:]) if isinstance(a, str) and a.startswith('hex:') else a" +
  " for a in json.loads(sys.argv[3])]\n" +
  "rows = con.execute(sys.argv[2], args).fetchall()\n" +
  "con.commit()\nprint(json.dumps(rows))\n", dbPath, statement, JSON.stringify(args)],
  {encoding: "utf8"});
cli(["migrate"]);
const tokens = {admin: cli(["token", "add", "--role", "admin", "--name", "browser admin"])};
const log = [];
const server = spawn(BIN, ["serve", "-c", config, "--listen-fd", "3"],
  {stdio: ["ignore", "ignore", "pipe", listener._handle.fd]});
// The server holds its copy; this process must not accept on it.
listener.close();
server.stderr.on("data", (d) => log.push(String(d)));
let exited = null;
server.on("exit", (code, sig) => { exited = {code, sig}; });
// Never leave the server behind, even when the test is stopped (meson's timeout).
process.on("exit", () => { if (!exited) server.kill("SIGKILL"); });
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => process.exit(1));

async function api(method, path, body, token = tokens.admin) {
  const res = await fetch(base + "/api/v1" + path, {method,
    headers: {Authorization: `Bearer ${token}`, ...(body ? {"Content-Type": "application/json"} : {})},
    body: body ? JSON.stringify(body) : undefined});
  const text = await res.text();
  return {status: res.status, json: text ? JSON.parse(text) : null};
}
async function ok(method, path, body) {
  const r = await api(method, path, body);
  assert(r.status < 300, `${method} ${path} → ${r.status} ${JSON.stringify(r.json)}`);
  return r.json;
}

for (let i = 0; ; i++) {
  try { if ((await fetch(base + "/health")).ok) break; } catch { /* not yet */ }
  if (exited || i > 200) throw new Error("relais did not start:\n" + log.join(""));
  await new Promise((r) => setTimeout(r, 50));
}

// The territory: a venue (with a phone), a coordinator and trainers who
// sign in with e-mail and password, people.
const PASSWORDS = {claire: "coordination-2026", samir: "animation-bellevue"};
const venue = await ok("POST", "/venues", {name: "Centre social du Biollay",
  address: "3 rue Louise Michel", commune: "Chambéry", neighborhood: "Le Biollay", accessible: true,
  phone: "04 79 12 34 56"});
const claire = await ok("POST", "/staff", {name: "Claire Dumas", role: "coordinator",
  email: "claire.dumas@example.org"});
const samir = await ok("POST", "/staff", {name: "Samir Haddad", role: "trainer",
  email: "samir.haddad@example.org"});
const other = await ok("POST", "/staff", {name: "Nadia Benali", role: "trainer"});
cli(["staff", "set-password", String(claire.id)], PASSWORDS.claire + "\n");
cli(["staff", "set-password", String(samir.id)], PASSWORDS.samir + "\n");
const monique = await ok("POST", "/beneficiaries", {first_name: "Monique", last_name: "Jacquier",
  phone: "06 12 34 56 78", birth_year: 1952, gender: "F", neighborhood: "Le Biollay", consent_sms: true});
const jeanne = await ok("POST", "/beneficiaries", {first_name: "Jeanne", last_name: "Martin",
  birth_year: 1948, gender: "F"});
const elodie = await ok("POST", "/beneficiaries", {first_name: "Élodie", last_name: "Lefèvre",
  birth_year: 1990, gender: "F"});
const p2 = (n) => String(n).padStart(2, "0");
const dayStr = (d) => `${d.getFullYear()}-${p2(d.getMonth() + 1)}-${p2(d.getDate())}`;
// A Monday three weeks ahead (local time of the test, Europe/Paris below).
const monday = new Date();
monday.setDate(monday.getDate() + 21 - ((monday.getDay() + 6) % 7));
const mondayStr = dayStr(monday);
const tuesday = new Date(monday); tuesday.setDate(monday.getDate() + 1);
// Another trainer's session, which Samir must not see in his calendar.
await ok("POST", "/sessions", {kind: "permanence", title: "Aide aux démarches", venue_id: venue.id,
  trainer_id: other.id, starts_at: `${dayStr(tuesday)}T09:00:00+01:00`,
  ends_at: `${dayStr(tuesday)}T12:00:00+01:00`, slot_minutes: 30});
// A workshop that started an hour ago, Samir's, with two people booked:
// attendance is marked there, and the calendar flags it until it is.
const isoAgo = (minutes) => new Date(Date.now() - minutes * 60e3).toISOString();
const held = await ok("POST", "/sessions", {kind: "workshop", title: "Les e-mails", theme: "e-mail",
  venue_id: venue.id, trainer_id: samir.id, capacity: 8, starts_at: isoAgo(60), ends_at: isoAgo(-60)});
for (const b of [monique, jeanne]) await ok("POST", `/sessions/${held.id}/enrollments`, {beneficiary_id: b.id});
const heldDay = dayStr(new Date(held.starts_at));

// --- the browser ---------------------------------------------------------------
mkdirSync(SHOTS, {recursive: true});
const browser = await chromium.launch({executablePath: CHROMIUM, headless: true,
  args: ["--no-sandbox", "--disable-dev-shm-usage"]});
const context = await browser.newContext({viewport: {width: 1280, height: 800},
  locale: "fr-FR", timezoneId: "Europe/Paris", acceptDownloads: true});
const page = await context.newPage();
page.setDefaultTimeout(8000);
const pageErrors = [];
page.on("pageerror", (e) => pageErrors.push(String(e)));
page.on("console", (m) => { if (m.type() === "error") pageErrors.push(m.text()); });
const transfers = [];
page.on("response", async (res) => {
  if (!res.url().startsWith(base + "/console")) return;
  try { transfers.push({url: res.url(), status: res.status(), body: await res.body()}); } catch { /* 304 */ }
});

const axeResults = [];
async function checkView(name) {
  await page.waitForLoadState("networkidle");
  // A field being edited commits its change first, as when a user moves on.
  await page.evaluate(() => document.activeElement && document.activeElement.blur());
  await page.screenshot({path: join(SHOTS, `${name}.png`), fullPage: true});
  // Evaluated through the DevTools protocol, which the page's CSP does not
  // govern: the console itself keeps its strict policy during the test.
  if (!(await page.evaluate(() => typeof window.axe !== "undefined"))) await page.evaluate(AXE);
  const res = await page.evaluate(() => window.axe.run(document, {resultTypes: ["violations"]}));
  const bad = res.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  axeResults.push({view: name, violations: res.violations.map((v) => `${v.id} (${v.impact})`)});
  for (const v of res.violations)
    diag(`axe ${name}: ${v.impact} ${v.id}: ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ")}`);
  assert(!bad.length, `axe found ${bad.length} serious/critical violation(s) in ${name}: ` +
    bad.map((v) => v.id).join(", "));
}
const h1 = () => page.locator("h1").first().textContent();
async function signIn(email, password) {
  await page.goto(base + "/console");
  await page.getByLabel("Adresse e-mail").fill(email);
  await page.getByLabel("Mot de passe").fill(password);
  await page.getByRole("button", {name: "Se connecter", exact: true}).click();
  await page.getByRole("navigation", {name: "Menu principal"}).waitFor();
}
async function signOut() {
  await page.getByRole("button", {name: "Se déconnecter"}).click();
  await page.getByRole("heading", {level: 1, name: "Se connecter"}).waitFor();
}
// Every write to the API answers 1.5 s late, as on a poor mobile link, so
// that a second click lands while the first is still on its way.
async function slowWrites(on) {
  if (!on) return page.unrouteAll({behavior: "wait"});
  await page.route("**/*", async (route) => {
    const req = route.request();
    if (req.method() !== "GET" && (req.url().includes("/api/v1/") || req.url().includes("/auth/")) &&
        !req.url().includes("dry_run"))
      await new Promise((r) => setTimeout(r, 1500));
    // Unrouted meanwhile: Playwright has let the request go on already.
    await route.continue().catch(() => {});
  });
}
const count = async (path) => (await getAll(path)).length;
async function getAll(path) {
  return (await api("GET", path + (path.includes("?") ? "&" : "?") + "limit=500")).json.items;
}
// The link of a message to enrollment EID, made and recorded as the outbox
// does (core/auth/links.h): HMAC-SHA256 of "r:EID" keyed by the secret.
function linkToken(eid) {
  const secret = readFileSync(dbPath + ".secret", "utf8").trim();
  const tok = createHmac("sha256", secret).update(`r:${eid}`).digest("base64url").slice(0, 22);
  sql("INSERT OR IGNORE INTO links (token_hash, purpose, enrollment_id, created_at) VALUES (?, 'r', ?, 0)",
    "hex:" + createHash("sha256").update(tok).digest("hex"), eid);
  return tok;
}

let sessionId, series, fatimaId, durandId;

step("GET / redirects to the console; index and assets come with their headers", async () => {
  const res = await fetch(base + "/", {redirect: "manual"});
  eq(res.status, 302, "status of /");
  eq(res.headers.get("location"), "/console", "Location");
  const idx = await fetch(base + "/console");
  assert(/default-src 'self'/.test(idx.headers.get("content-security-policy") || ""), "a CSP");
  eq(idx.headers.get("x-frame-options"), "DENY", "X-Frame-Options");
  eq(idx.headers.get("referrer-policy"), "no-referrer", "Referrer-Policy");
  // Never a blank page: the index says it is loading before any script runs.
  assert(/Chargement de la console/.test(await idx.text()), "a loading text in the index");
});

step("sign in with e-mail and password; the session survives a closed tab", async () => {
  await page.goto(base + "/console");
  await page.getByRole("heading", {level: 1, name: "Se connecter"}).waitFor();
  await checkView("connexion");
  await page.getByLabel("Adresse e-mail").fill("claire.dumas@example.org");
  await page.getByLabel("Mot de passe").fill("pas le bon");
  await page.getByRole("button", {name: "Se connecter", exact: true}).click();
  await page.locator(".field-error", {hasText: "mot de passe incorrect"}).waitFor();
  eq(await page.getByLabel("Mot de passe").getAttribute("aria-invalid"), "true", "aria-invalid");
  await page.getByLabel("Mot de passe").fill(PASSWORDS.claire);
  await page.getByRole("button", {name: "Se connecter", exact: true}).click();
  await page.getByRole("heading", {level: 1, name: /Semaine du/}).waitFor();
  assert(/Claire Dumas/.test(await page.locator("#who").textContent()), "who is signed in");
  // The session is an HttpOnly cookie: no script sees it, nothing is stored.
  eq(await page.evaluate(() => document.cookie), "", "the cookie is not readable by scripts");
  eq(await page.evaluate(() => localStorage.length + sessionStorage.length), 0, "no token stored");
  const cookie = (await context.cookies()).find((c) => c.name === "relais_session");
  assert(cookie && cookie.httpOnly && cookie.sameSite === "Strict" && cookie.path === "/", "cookie flags");
  // A tab closed and opened again is still signed in.
  const again = await context.newPage();
  await again.goto(base + "/console#/semaine");
  await again.getByRole("heading", {level: 1, name: /Semaine du/}).waitFor();
  await again.close();
  await checkView("semaine-vide");
});

step("create a weekly workshop of 4: the dates are previewed, a double click makes one series", async () => {
  await page.getByRole("link", {name: "Nouvelle séance"}).first().click();
  await page.getByRole("heading", {level: 1, name: "Nouvelle séance"}).waitFor();
  await page.getByRole("radio", {name: "Atelier"}).check();
  // Submitting empty shows each problem next to its field, in French.
  await page.getByRole("button", {name: "Créer la séance"}).click();
  await page.locator(".form-errors").waitFor();
  assert(!/[a-z]+ [a-z]+ be |required|must/.test(await page.locator(".form-errors").textContent()),
    "no English in the errors");
  await page.getByLabel("Titre", {exact: false}).first().fill("Prendre en main son smartphone");
  await page.getByLabel("Thème").fill("smartphone");
  await page.getByLabel("Niveau").selectOption("1");
  await page.getByLabel("Places").fill("1");
  await page.getByLabel("Lieu", {exact: true}).selectOption(String(venue.id));
  await page.getByLabel("Animateur·rice").selectOption(String(samir.id));
  await page.getByLabel(/^Date/).first().fill(mondayStr);
  await page.getByLabel(/^Début/).first().fill("14:00");
  await page.getByLabel(/^Fin/).first().fill("16:00");
  // No silent single session: the count only shows once a repetition is chosen.
  assert(!(await page.getByLabel("Nombre de séances").isVisible()), "no count for a single session");
  await page.getByLabel("Répéter").selectOption("weekly");
  await page.getByLabel("Nombre de séances").fill("4");
  await page.locator(".preview-dates li").nth(3).waitFor();
  eq(await page.locator(".preview-dates li").count(), 4, "four dates previewed");
  await page.getByRole("button", {name: "Créer les 4 séances"}).waitFor();
  await checkView("nouvelle-seance");
  const before = await count("/sessions?from=2000-01-01&to=2100-01-01");
  await slowWrites(true);
  await page.getByRole("button", {name: "Créer les 4 séances"}).dblclick();
  await page.getByRole("button", {name: "Enregistrement…"}).waitFor();
  await page.getByRole("heading", {level: 1, name: "Prendre en main son smartphone"}).waitFor({timeout: 15000});
  await slowWrites(false);
  eq(await count("/sessions?from=2000-01-01&to=2100-01-01"), before + 4, "one series of four, not two");
  sessionId = Number(/#\/seances\/(\d+)/.exec(page.url())[1]);
  const s = (await api("GET", `/sessions/${sessionId}`)).json;
  series = s.series_id;
  eq(new Date(s.starts_at).toLocaleString("fr-FR", {timeZone: "Europe/Paris", hour: "2-digit",
    minute: "2-digit"}), "14:00", "local start time");
  // The session page lists the series' dates.
  eq(await page.locator("ol.series-dates li").count(), 4, "the series' dates on the page");
});

step("enroll by phone in the whole series; a new person from an empty search; double clicks", async () => {
  // The number as the console shows it elsewhere, and without its 0.
  for (const q of ["+33612345678", "612345678"]) {
    await page.getByLabel("Nom ou téléphone").fill(q);
    await page.getByRole("button", {name: "Chercher"}).click();
    await page.getByRole("button", {name: "Inscrire Monique Jacquier"}).waitFor();
  }
  await slowWrites(true);
  await page.getByRole("button", {name: "Inscrire Monique Jacquier"}).dblclick();
  await page.locator("li.person", {hasText: "Monique Jacquier"}).getByText("Inscrit·e").waitFor({timeout: 15000});
  await slowWrites(false);
  const mine = (await getAll(`/sessions/${sessionId}/enrollments`)).filter((e) => e.beneficiary_id === monique.id);
  eq(mine.length, 1, "one enrollment on this date");
  const all = (await api("GET", `/series/${series}`)).json.sessions;
  for (const x of all)
    eq((await getAll(`/sessions/${x.id}/enrollments`)).filter((e) => e.beneficiary_id === monique.id).length,
      1, `Monique once in each date of the series (${x.id})`);
  // Nobody under this number: said so, and the form opens prefilled.
  await page.getByLabel("Nom ou téléphone").fill("07 61 23 45 67");
  await page.getByRole("button", {name: "Chercher"}).click();
  await page.getByText("Aucune personne trouvée").waitFor();
  const form = page.locator("details form");
  eq(await form.getByLabel("Téléphone").inputValue(), "07 61 23 45 67", "the number carried over");
  await form.getByLabel("Prénom").fill("Fatima");
  await form.getByLabel(/^Nom \(/).fill("Benali");
  await form.getByLabel("Année de naissance").fill("1961");
  await form.getByLabel("Genre").selectOption("F");
  // SMS consent unticked: a clear warning.
  assert(await form.getByText("elle ne recevra aucun rappel").isVisible(), "the consent warning");
  await form.getByLabel("Accepte de recevoir des SMS").check();
  assert(!(await form.getByText("elle ne recevra aucun rappel").isVisible()), "warning gone once ticked");
  await page.getByRole("radio", {name: "Cette date seulement"}).check();
  await checkView("seance-inscription");
  await slowWrites(true);
  await form.getByRole("button", {name: "Créer et inscrire"}).dblclick();
  await page.locator("li.person", {hasText: "Fatima Benali"}).getByText("Sur liste d'attente").waitFor({timeout: 15000});
  await slowWrites(false);
  eq((await api("GET", "/beneficiaries?q=Benali")).json.items.length, 1, "one Fatima, not two");
  const list = (await api("GET", `/sessions/${sessionId}/enrollments`)).json.items;
  eq(list.map((e) => e.status), ["booked", "waitlisted"], "statuses");
  fatimaId = list[1].beneficiary_id;
  await checkView("seance");
});

step("a future session has no attendance buttons; cancelling promotes the waitlist", async () => {
  eq(await page.getByRole("button", {name: "Présent·e"}).count(), 0, "no attendance before the start");
  await page.getByText("Les présences se notent à partir du début").waitFor();
  await page.locator("li.person", {hasText: "Monique Jacquier"})
    .getByRole("button", {name: "Annuler l'inscription"}).click();
  const dlg = page.getByRole("dialog", {name: "Annuler cette inscription ?"});
  await dlg.waitFor();
  await checkView("confirmation-annulation");
  await dlg.getByRole("button", {name: "Annuler l'inscription"}).click();
  await page.getByRole("status").getByText(/Fatima Benali passe de la liste d'attente/).waitFor();
  await page.locator("li.person", {hasText: "Fatima Benali"}).getByText("Inscrit·e").waitFor();
  // The message leaves with the screen.
  await page.goto(`${base}/console#/semaine`);
  await page.getByRole("heading", {level: 1, name: /Semaine du/}).waitFor();
  eq((await page.locator("#status").textContent()).trim(), "", "no message left over");
});

step("attendance once a session has started, one tap; « présences à saisir » until then", async () => {
  await page.goto(`${base}/console#/semaine/${heldDay}`);
  const card = page.locator("li.session", {hasText: "Les e-mails"});
  await card.waitFor();
  assert(/présences à saisir/.test(await card.textContent()), "the calendar flags it");
  await card.getByRole("link").click();
  await page.getByRole("heading", {level: 1, name: /Les e-mails/}).waitFor();
  for (const [name, st] of [["Monique Jacquier", "Présent·e"], ["Jeanne Martin", "Absent·e"]]) {
    const row = page.locator("li.person", {hasText: name});
    await slowWrites(true);
    await row.getByRole("button", {name: st}).dblclick();
    await page.locator("li.person", {hasText: name}).getByRole("button", {name: st, pressed: true})
      .waitFor({timeout: 15000});
    await slowWrites(false);
  }
  const list = (await api("GET", `/sessions/${held.id}/enrollments`)).json.items;
  eq(list.map((e) => e.status).sort(), ["absent", "attended"], "statuses after the taps");
  eq(await page.locator("h1 .badge.to-mark").count(), 0, "nothing left to mark");
  await page.locator("li.person", {hasText: "Monique Jacquier"}).getByRole("button", {name: "Messages"}).click();
  const table = page.locator("li.person", {hasText: "Monique Jacquier"}).locator("table");
  await table.waitFor();
  // Booked after the start: no confirmation, but the survey for having come.
  assert(/Questionnaire/.test(await table.textContent()), "her messages: " + await table.textContent());
  await checkView("seance-presences");
});

step("week and month calendars: places, past dimmed, no empty weekend, compact month", async () => {
  await page.goto(`${base}/console#/semaine/${mondayStr}`);
  const card = page.locator("li.session", {hasText: "Prendre en main son smartphone"});
  await card.first().waitFor();
  assert(/Complet/.test(await card.first().textContent()), "full session says so");
  await page.locator("li.session", {hasText: "Aide aux démarches"}).waitFor();
  // Nothing on Saturday and Sunday: no columns for them.
  eq(await page.locator(".week .day h2").count(), 5, "five days shown");
  await checkView("semaine");
  await page.getByLabel("Type").selectOption("permanence");
  await page.waitForURL(/kind=permanence/);
  await page.locator("li.session", {hasText: "Aide aux démarches"}).waitFor();
  eq(await page.locator("li.session", {hasText: "smartphone"}).count(), 0, "workshops filtered out");
  await page.goto(`${base}/console#/semaine/${heldDay}`);
  await page.locator("li.session", {hasText: "Les e-mails"}).waitFor();
  assert(/\bpast\b/.test(await page.locator("li.session", {hasText: "Les e-mails"}).getAttribute("class")) ||
    new Date(held.ends_at) > new Date(), "a session over is dimmed");
  await page.goto(`${base}/console#/mois/${mondayStr}`);
  await page.locator("table.month").waitFor();
  assert((await page.locator("li.session", {hasText: "smartphone"}).count()) >= 1, "month lists it");
  const height = await page.locator("table.month").evaluate((t) => t.offsetHeight);
  assert(height < 1100, `the month is compact (${height} px)`);
  await checkView("mois");
});

step("edit one date, change the time of every date ahead, cancel one", async () => {
  await page.goto(`${base}/console#/seances/${sessionId}/modifier`);
  await page.getByRole("heading", {level: 1, name: /Modifier/}).waitFor();
  await checkView("modifier-seance");
  await page.getByLabel("Places").fill("2");
  await slowWrites(true);
  await page.getByRole("button", {name: "Enregistrer"}).dblclick();
  // Exact: the edit page's own title (« Modifier « Prendre en main… » »)
  // holds these words, and would not wait for the save.
  await page.getByRole("heading", {level: 1, name: "Prendre en main son smartphone", exact: true})
    .waitFor({timeout: 15000});
  await slowWrites(false);
  eq((await api("GET", `/sessions/${sessionId}`)).json.capacity, 2, "capacity patched");
  await page.getByText("Changer l'heure de toutes les dates à venir").click();
  await page.getByLabel("Nouvelle heure de début").fill("15:00");
  await page.getByLabel("Nouvelle heure de fin").fill("17:00");
  await page.getByRole("button", {name: /Changer l'heure des 4 dates/}).click();
  await page.getByRole("status").getByText(/L'heure des 4 dates à venir est changée/).waitFor();
  for (const x of (await api("GET", `/series/${series}`)).json.sessions)
    eq(new Date(x.starts_at).toLocaleString("fr-FR", {timeZone: "Europe/Paris", hour: "2-digit",
      minute: "2-digit"}), "15:00", "every date moved");
  const second = (await api("GET", `/series/${series}`)).json.sessions[1];
  await page.goto(`${base}/console#/seances/${second.id}`);
  await page.getByRole("button", {name: "Annuler la séance"}).click();
  await page.getByRole("dialog").getByRole("button", {name: "Annuler la séance"}).click();
  await page.getByText("annulée", {exact: false}).first().waitFor();
  eq((await api("GET", `/sessions/${second.id}`)).json.status, "cancelled", "cancelled");
});

step("create a permanence with slots and a two-part training", async () => {
  await page.goto(`${base}/console#/seances/nouvelle`);
  await page.getByRole("radio", {name: "Permanence"}).check();
  await page.getByLabel("Titre", {exact: false}).first().fill("Permanence numérique");
  await page.getByLabel("Lieu", {exact: true}).selectOption(String(venue.id));
  await page.getByLabel(/^Date/).first().fill(mondayStr);
  await page.getByLabel(/^Début/).first().fill("09:00");
  await page.getByLabel(/^Fin/).first().fill("11:00");
  await page.getByLabel("Places").fill("");
  await page.getByLabel("Durée d'un créneau (minutes)").fill("30");
  await page.getByRole("button", {name: "Créer la séance"}).click();
  await page.getByRole("heading", {level: 1, name: "Permanence numérique"}).waitFor();
  const perm = (await api("GET", "/sessions/" + /#\/seances\/(\d+)/.exec(page.url())[1])).json;
  eq(perm.slots.length, 4, "slots of the permanence");
  await page.getByLabel("Créneau").first().selectOption({index: 2});
  await page.getByLabel("Nom ou téléphone").fill("Jeanne");
  await page.getByRole("button", {name: "Chercher"}).click();
  await page.getByRole("button", {name: "Inscrire Jeanne Martin"}).click();
  await page.locator("li.person", {hasText: "Jeanne Martin"}).getByText(/créneau/).waitFor();

  await page.goto(`${base}/console#/seances/nouvelle`);
  await page.getByRole("radio", {name: "Formation"}).check();
  await page.getByLabel("Titre", {exact: false}).first().fill("Et si j'accompagnais");
  await page.getByLabel("Places").fill("12");
  await page.getByLabel("Lieu", {exact: true}).selectOption(String(venue.id));
  const part = (i) => page.locator("li.part").nth(i);
  await part(0).getByLabel("Titre de la partie").fill("Autodiagnostic PIX");
  await part(0).getByLabel("Date").fill(mondayStr);
  await page.getByRole("button", {name: "Ajouter une partie"}).click();
  await part(1).getByLabel("Titre de la partie").fill("Atelier en ligne");
  await part(1).getByLabel("Date").fill(dayStr(tuesday));
  await part(1).getByLabel("En ligne").check();
  await checkView("nouvelle-formation");
  await page.getByRole("button", {name: "Créer la séance"}).click();
  await page.getByRole("heading", {level: 2, name: "Parties de la formation"}).waitFor();
  const tr = (await api("GET", "/sessions/" + /#\/seances\/(\d+)/.exec(page.url())[1])).json;
  eq(tr.parts.length, 2, "parts");
  eq(tr.parts[1].online, true, "second part online");
});

step("a Pix import names whom to register; « Créer la personne » prefills; a second import matches", async () => {
  await page.getByRole("link", {name: "Import PIX"}).click();
  await page.getByRole("heading", {level: 1, name: "Import PIX"}).waitFor();
  await checkView("pix");
  await page.locator("input[type=file]").setInputFiles(join(SRC, "tests", "integration", "pix",
    "profiles_bom_lf.csv"));
  await page.getByRole("heading", {level: 2, name: /Compte rendu/}).waitFor();
  const figures = await page.locator("dl.figures dd").allTextContents();
  eq(figures.map(Number), [3, 1, 2, 0], "rows, matched, unmatched, errors");
  await page.getByRole("heading", {level: 2, name: "Personnes à enregistrer"}).waitFor();
  await checkView("pix-compte-rendu");
  await page.getByRole("link", {name: "Créer la personne Paul Durand"}).click();
  await page.getByRole("heading", {level: 1, name: "Personnes"}).waitFor();
  const form = page.locator("section form");
  eq(await form.getByLabel("Prénom").inputValue(), "Paul", "first name prefilled");
  eq(await form.getByLabel(/^Nom \(/).inputValue(), "Durand", "last name prefilled");
  await slowWrites(true);
  await form.getByRole("button", {name: "Enregistrer la personne"}).dblclick();
  await page.getByRole("heading", {level: 1, name: "Paul Durand"}).waitFor({timeout: 15000});
  await slowWrites(false);
  const durands = (await api("GET", "/beneficiaries?q=Durand")).json.items;
  eq(durands.length, 1, "one Paul Durand, not two");
  durandId = durands[0].id;
  await page.goto(`${base}/console#/pix`);
  await page.locator("input[type=file]").setInputFiles(join(SRC, "tests", "integration", "pix",
    "profiles_bom_lf.csv"));
  await page.getByRole("heading", {level: 2, name: /Compte rendu/}).waitFor();
  eq((await page.locator("dl.figures dd").allTextContents()).map(Number).slice(0, 3), [3, 2, 1], "now matched");
  // An assessment campaign: mastery rates, no levels.
  await page.locator("input[type=file]").setInputFiles(join(SRC, "tests", "integration", "pix",
    "assessment_crlf_old_label.csv"));
  await page.getByText(/Import terminé/).waitFor();
  await page.getByRole("table", {name: "Lignes en erreur"}).waitFor();
  assert(/la date de partage/.test(await page.getByRole("table", {name: "Lignes en erreur"}).textContent()),
    "line errors in French");
});

step("a person's page: PIX results with percentages, export, and erasure after a confirmation", async () => {
  await page.goto(`${base}/console#/personnes/${elodie.id}`);
  await page.getByRole("heading", {level: 1, name: "Élodie Lefèvre"}).waitFor();
  await page.getByText("Niveau d'atelier conseillé").waitFor();
  const summaries = page.locator("details summary", {hasText: "maîtrise"});
  await summaries.first().click();
  await page.getByRole("columnheader", {name: "Maîtrise"}).first().waitFor();
  assert(/\d+ %/.test(await page.locator("details[open] table").first().textContent()), "mastery in %");
  await checkView("personne");
  const [download] = await Promise.all([page.waitForEvent("download"),
    page.getByRole("button", {name: /Exporter/}).click()]);
  const exported = JSON.parse(readFileSync(await download.path(), "utf8"));
  eq(exported.beneficiary.id, elodie.id, "export of the person");
  await page.goto(`${base}/console#/personnes/${durandId}`);
  await page.getByRole("button", {name: "Effacer cette personne"}).click();
  const dlg = page.getByRole("dialog");
  await dlg.getByRole("button", {name: "Ne rien faire"}).click();
  eq((await api("GET", `/beneficiaries/${durandId}`)).status, 200, "nothing erased when declined");
  await page.getByRole("button", {name: "Effacer cette personne"}).click();
  await dlg.getByRole("button", {name: "Effacer définitivement"}).click();
  await page.getByRole("heading", {level: 1, name: "Personnes"}).waitFor();
  eq((await api("GET", `/beneficiaries/${durandId}`)).status, 404, "erased");
  // A search that finds nobody says so.
  await page.getByLabel("Nom ou téléphone").fill("Personne-Inconnue");
  await page.getByRole("button", {name: "Chercher"}).click();
  await page.getByText("Aucune personne trouvée").waitFor();
  await checkView("personnes");
});

step("the activity report for a period, with its charts, printable", async () => {
  await page.getByRole("link", {name: "Rapport"}).click();
  await page.getByLabel("Du").fill(heldDay);
  await page.getByLabel("Au (inclus)").fill(dayStr(new Date(monday.getTime() + 40 * 86400e3)));
  await page.getByRole("button", {name: "Afficher"}).click();
  await page.locator("svg.chart").first().waitFor();
  const figures = await page.locator("dl.figures dd").allTextContents();
  eq(figures[0], "1", "people accompanied (Monique attended)");
  await checkView("rapport");
  await page.emulateMedia({media: "print"});
  await page.screenshot({path: join(SHOTS, "rapport-impression.png"), fullPage: true});
  assert(!(await page.locator("header.top").isVisible()), "the menu is not printed");
  await page.emulateMedia({media: "screen"});
});

step("the report: two periods side by side, a filter, the workbook; on a phone", async () => {
  await page.getByRole("link", {name: "Rapport"}).click();
  await page.getByRole("button", {name: "Ajouter une période"}).click();
  const first = page.locator('fieldset[data-period="1"]'), second = page.locator('fieldset[data-period="2"]');
  const mid = dayStr(new Date(monday.getTime() + 20 * 86400e3));
  const end = dayStr(new Date(monday.getTime() + 40 * 86400e3));
  await first.getByLabel("Du").fill(mondayStr);
  await first.getByLabel("Au (inclus)").fill(mid);
  await second.getByLabel("Du").fill(dayStr(new Date(monday.getTime() + 21 * 86400e3)));
  await second.getByLabel("Au (inclus)").fill(end);
  await page.getByLabel("Public").selectOption("resident");
  await page.getByRole("button", {name: "Afficher"}).click();
  await page.locator("table.compare").first().waitFor();
  const q = new URL(page.url().replace("#", "")).searchParams;
  eq(q.getAll("period").length, 2, "two periods in the address");
  eq(q.get("audience"), "resident", "the filter in the address");
  const heads = await page.locator("table.compare").first().locator("thead th").allTextContents();
  eq(heads[heads.length - 1], "Total", "the total is the last column");
  eq(heads.length, 4, "indicator, two periods, total");
  const rep = (await api("GET", `/reports/activity?${q}`)).json;
  const figures = await page.locator("dl.figures dd").allTextContents();
  eq(figures[0], String(rep.total.people.total), "the total's people");
  const [file] = await Promise.all([page.waitForEvent("download"),
    page.getByRole("button", {name: "Télécharger le classeur (Excel)"}).click()]);
  const bytes = readFileSync(await file.path());
  eq(bytes.subarray(0, 4).toString("latin1"), "PK\x03\x04", "an .xlsx (zip) file");
  assert(file.suggestedFilename().endsWith(".xlsx"), "named .xlsx");
  await checkView("rapport-periodes");
  // The remove button takes a period away.
  await page.getByRole("button", {name: "Retirer la période 2"}).click();
  eq(await page.locator("fieldset.period-row").count(), 1, "one period left");
  // On a phone: no sideways scrolling of the page (the wide tables scroll
  // in their own region, reachable from the keyboard).
  await page.setViewportSize({width: 390, height: 844});
  await page.goto(`${base}/console#/rapport?${q}`);
  await page.locator("table.compare").first().waitFor();
  await page.waitForLoadState("networkidle");
  const over = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert(over <= 0, `report: ${over}px wider than a 390 px screen`);
  await checkView("rapport-telephone");
  await page.setViewportSize({width: 1280, height: 800});
});

step("survey results: each comment under its question", async () => {
  const e = (await api("GET", `/sessions/${held.id}/enrollments`)).json.items
    .find((x) => x.beneficiary_id === monique.id);
  sql("INSERT INTO surveys_responses (enrollment_id, session_id, kind, answered_at) VALUES (?, ?, 'workshop', ?)",
    e.id, held.id, Math.floor(Date.now() / 1000));
  sql("INSERT INTO surveys_answers (enrollment_id, question_id, score, text) VALUES (?, 'content', 4, NULL), " +
    "(?, 'liked', NULL, 'Les exercices')", e.id, e.id);
  await page.getByRole("link", {name: "Enquêtes"}).click();
  // The report's form (two "Du" fields) stays until the view is replaced:
  // wait for the new view before looking for its field.
  await page.getByRole("heading", {level: 1, name: "Enquêtes de satisfaction"}).waitFor();
  await page.getByLabel("Du").fill(heldDay);
  await page.getByLabel("Animateur·rice").selectOption(String(samir.id));
  await page.getByRole("button", {name: "Afficher"}).click();
  await page.getByText(/réponse\(s\) pour/).waitFor();
  await page.getByRole("heading", {level: 4, name: "Ce que vous avez aimé"}).waitFor();
  await page.getByText("Les exercices").waitFor();
  await checkView("enquetes");
});

step("record an accompaniment in a few taps: a person by phone, then someone anonymous", async () => {
  await page.getByRole("link", {name: "Accompagnement"}).click();
  await page.getByRole("heading", {level: 1, name: "Accompagnement"}).waitFor();
  await checkView("accompagnement");
  // Saving with nothing chosen names what is missing, next to it.
  await page.getByRole("button", {name: "Enregistrer l'accompagnement"}).click();
  await page.locator("[data-field=themes] .field-error", {hasText: "au moins un thème"}).waitFor();
  await page.locator("[data-field=minutes] .field-error", {hasText: "à remplir"}).waitFor();
  assert(!/[a-z]+ [a-z]+ be |required|must|no such/.test(await page.locator(".form-errors").textContent()),
    "no English in the errors");
  eq((await api("GET", "/accompaniments")).json.items.length, 0, "nothing recorded");
  await page.getByLabel("Téléphone ou nom").fill("06 12 34 56 78");
  await page.getByRole("button", {name: "Chercher"}).click();
  await page.getByRole("button", {name: "Choisir Monique Jacquier"}).click();
  await page.getByRole("button", {name: "démarches en ligne"}).click();
  await page.getByRole("button", {name: "impôts"}).click();
  await page.getByRole("button", {name: "30 min"}).click();
  eq(await page.getByRole("button", {name: "impôts"}).getAttribute("aria-pressed"), "true", "toggle");
  await checkView("accompagnement-rempli");
  // A double tap on a slow link records one accompaniment.
  await slowWrites(true);
  await page.getByRole("button", {name: "Enregistrer l'accompagnement"}).dblclick();
  await page.getByRole("button", {name: "Enregistrement…"}).waitFor();
  await page.getByRole("status").getByText(/Accompagnement enregistré : 30 min/).waitFor({timeout: 15000});
  await page.getByRole("heading", {level: 2, name: "Aujourd'hui (1)"}).waitFor();
  await slowWrites(false);
  eq((await api("GET", "/accompaniments")).json.items.length, 1, "one accompaniment, not two");
  // The form is ready for the next person: nothing stays chosen.
  eq(await page.getByRole("button", {name: "impôts"}).getAttribute("aria-pressed"), "false", "reset");
  await page.getByRole("button", {name: "Sans inscription"}).click();
  await page.getByRole("button", {name: "Femme"}).click();
  await page.getByRole("button", {name: "56 ans et plus"}).click();
  await page.getByRole("button", {name: "Quartier prioritaire (QPV)"}).click();
  await page.getByRole("button", {name: "smartphone"}).click();
  await page.getByRole("button", {name: "15 min"}).click();
  await page.getByRole("button", {name: "Téléphone", exact: true}).click();
  await page.getByRole("button", {name: "Enregistrer l'accompagnement"}).click();
  await page.getByRole("heading", {level: 2, name: "Aujourd'hui (2)"}).waitFor();
  const items = (await api("GET", "/accompaniments")).json.items;
  eq(items.map((a) => [a.beneficiary_id, a.minutes, a.themes, a.modality]),
    [[monique.id, 30, ["démarches en ligne", "impôts"], "on_site"],
     [null, 15, ["smartphone"], "phone"]], "what was recorded");
  eq(items[1].anonymous, {gender: "F", age_bracket: "56+", residence: "qpv"}, "anonymous group");
});

step("walk-ins and devices on a session's page", async () => {
  const tablet = await ok("POST", "/equipment", {kind: "tablet", label: "Tablette 1"});
  await page.goto(`${base}/console#/seances/${sessionId}`);
  await page.getByRole("heading", {level: 3, name: /Venues sans inscription/}).waitFor();
  await page.getByRole("button", {name: "Ajouter un groupe"}).click();
  const group = page.locator("li.group").first();
  await group.getByLabel("Genre").selectOption("F");
  await group.getByLabel("Âge").selectOption("56+");
  await group.getByLabel("Nombre").fill("3");
  await page.getByRole("button", {name: "Enregistrer le compte"}).click();
  await page.getByRole("heading", {level: 3, name: "Venues sans inscription : 3"}).waitFor();
  eq((await api("GET", `/sessions/${sessionId}/headcount`)).json.counts,
    [{gender: "F", age_bracket: "56+", residence: null, n: 3}], "head count stored");
  await page.getByLabel("Tablette 1 (Tablette)").check();
  await page.getByRole("button", {name: "Enregistrer le matériel"}).click();
  await page.getByRole("status").getByText(/1 appareil/).waitFor();
  eq((await api("GET", `/sessions/${sessionId}/equipment`)).json.equipment_ids, [tablet.id],
    "devices used");
  await checkView("seance-sans-inscription");
});

step("meetings of the network, its structures, and a person's organisation", async () => {
  await page.getByRole("link", {name: "Réunions"}).click();
  await page.getByRole("heading", {level: 1, name: "Réunions du réseau"}).waitFor();
  const orgForm = page.getByRole("form", {name: "Nouvelle structure"});
  await orgForm.getByLabel("Nom").fill("CCAS de Chambéry");
  await orgForm.getByLabel("Type").selectOption("ccas");
  const orgsBefore = (await getAll("/organisations")).length;
  await slowWrites(true);
  await orgForm.getByRole("button", {name: "Ajouter la structure"}).dblclick();
  await orgForm.getByRole("button", {name: "Enregistrement…"}).waitFor();
  await page.getByRole("cell", {name: "CCAS de Chambéry"}).waitFor({timeout: 15000});
  await slowWrites(false);
  eq((await getAll("/organisations")).length, orgsBefore + 1, "one structure, not two");
  const form = page.locator("section", {has: page.getByRole("heading", {name: "Nouvelle réunion"})});
  await form.getByRole("button", {name: "Enregistrer la réunion"}).click();
  await form.locator(".form-errors").waitFor();
  // Each missing field named in French next to it.
  await form.locator("[data-field=kind] .field-error", {hasText: "à remplir"}).waitFor();
  await form.locator("[data-field=date] .field-error", {hasText: "à remplir"}).waitFor();
  assert(!/[a-z]+ [a-z]+ be |required|must/.test(await form.locator(".form-errors").textContent()),
    "no English in the errors");
  await form.getByLabel("Type").selectOption("steering_committee");
  await form.getByLabel("Titre").fill("COPIL du contrat de ville");
  await form.getByLabel("Date").fill(dayStr(new Date()));
  await form.getByLabel("Participants").fill("14");
  await form.getByLabel("Durée (minutes)").fill("120");
  await form.getByLabel("CCAS de Chambéry").check();
  await slowWrites(true);
  await form.getByRole("button", {name: "Enregistrer la réunion"}).dblclick();
  await form.getByRole("button", {name: "Enregistrement…"}).waitFor();
  await page.getByRole("cell", {name: "COPIL du contrat de ville"}).waitFor({timeout: 15000});
  await slowWrites(false);
  const m = (await api("GET", "/meetings")).json.items;
  eq(m.map((x) => [x.kind, x.attendees, x.minutes, x.organisation_ids.length]),
    [["steering_committee", 14, 120, 1]], "meeting stored");
  await checkView("reunions");
  await page.goto(`${base}/console#/personnes/${monique.id}`);
  await page.getByRole("heading", {level: 1, name: "Monique Jacquier"}).waitFor();
  await page.getByText("Modifier les informations et les accords").click();
  await page.getByLabel("Structure (orientée par, ou employeur)").selectOption({label: "CCAS de Chambéry"});
  await page.getByRole("button", {name: "Enregistrer les modifications"}).click();
  await page.getByRole("definition").filter({hasText: "CCAS de Chambéry"}).waitFor();
  eq((await api("GET", `/beneficiaries/${monique.id}`)).json.organisation_id, m[0].organisation_ids[0],
    "organisation picked");
  await page.getByRole("table").filter({hasText: "démarches en ligne, impôts"}).waitFor();
  await checkView("personne-structure");
});

step("devices: add one, lend it to a person, take it back", async () => {
  await page.getByRole("link", {name: "Matériel"}).click();
  await page.getByRole("heading", {level: 1, name: "Matériel prêté"}).waitFor();
  const add = page.getByRole("form", {name: "Nouvel appareil"});
  await add.getByLabel("Type").selectOption("computer");
  await add.getByLabel("Nom de l'appareil").fill("Portable 1");
  const devicesBefore = (await getAll("/equipment")).length;
  await slowWrites(true);
  await add.getByRole("button", {name: "Ajouter l'appareil"}).dblclick();
  await add.getByRole("button", {name: "Enregistrement…"}).waitFor();
  await page.getByRole("button", {name: "Prêter : Portable 1"}).waitFor({timeout: 15000});
  await slowWrites(false);
  eq((await getAll("/equipment")).length, devicesBefore + 1, "one device, not two");
  await page.getByRole("button", {name: "Prêter : Portable 1"}).click();
  const lend = page.getByRole("form", {name: "Prêter Portable 1"});
  await lend.getByLabel("Personne (nom ou téléphone)").fill("Jacquier");
  await lend.getByRole("button", {name: "Chercher"}).click();
  await lend.getByRole("button", {name: "Choisir Monique Jacquier"}).click();
  await checkView("materiel-pret");
  // A double click lends once: no second loan, and no « déjà prêté » error.
  await slowWrites(true);
  await lend.getByRole("button", {name: "Prêter Portable 1"}).dblclick();
  await lend.getByRole("button", {name: "Enregistrement…"}).waitFor();
  await page.getByRole("cell", {name: /Prêté à Monique Jacquier/}).waitFor({timeout: 15000});
  await slowWrites(false);
  eq((await getAll("/loans")).length, 1, "one loan, not two");
  eq((await api("GET", "/loans?open=1")).json.items.length, 1, "one open loan");
  await checkView("materiel");
  await slowWrites(true);
  await page.getByRole("button", {name: "Rendu : Portable 1"}).dblclick();
  await page.getByRole("button", {name: "Prêter : Portable 1"}).waitFor({timeout: 15000});
  await slowWrites(false);
  eq((await api("GET", "/loans?open=1")).json.items.length, 0, "returned");
  eq((await getAll("/loans")).map((l) => !!l.returned_on), [true], "the one loan, returned");
  assert(!(await page.locator(".status.error").count()), "no error on the double click");
});

step("pass numérique: an order's books, a book handed over twice, the APTIC export, the table", async () => {
  await ok("POST", "/organisations", {name: "CCAS de Chambéry", kind: "ccas"});
  await page.goto(`${base}/console#/pass`);
  await page.reload();   // the structures are read afresh
  await page.getByRole("heading", {level: 1, name: "Pass numérique"}).waitFor();
  await checkView("pass");
  // An order of 12 books of 5 passes, numbered from the first: one request
  // for a double click on a slow link.
  // This year's order: its books are valid until the end of the year.
  const Y = new Date().getFullYear();
  const order = page.getByRole("form", {name: "Enregistrer une commande"});
  await order.getByLabel("Commande (année ou nom)").fill(`${Y}`);
  await order.getByLabel("Valable jusqu'au").fill(`${Y}-12-31`);
  await order.getByLabel("Numéro du premier carnet").fill(`${Y}-001`);
  await order.getByLabel("Nombre de carnets").fill("12");
  await order.getByLabel("Numéro du premier pass").fill("2500100001");
  await order.getByLabel("Pass par carnet").fill("5");
  await slowWrites(true);
  await order.getByRole("button", {name: "Enregistrer les carnets"}).dblclick();
  await order.getByRole("button", {name: "Enregistrement…"}).waitFor();
  await page.getByText(`12 carnet(s) enregistré(s) dans la commande ${Y}.`).waitFor({timeout: 15000});
  await slowWrites(false);
  const books = await getAll("/pass/books");
  eq(books.length, 12, "twelve books, not twenty-four");
  eq(books[11].number, `${Y}-012`, "book numbers follow");
  const last = await ok("GET", `/pass/books/${books[11].id}`);
  eq(last.pass_list.map((p) => p.number), ["2500100056", "2500100057", "2500100058",
    "2500100059", "2500100060"], "passes follow, book after book");
  // Registering the same books again: the problem names them, in French.
  await order.getByLabel("Commande (année ou nom)").fill(`${Y}`);
  await order.getByLabel("Numéro du premier carnet").fill(`${Y}-001`);
  await order.getByLabel("Numéro du premier pass").fill("2500100001");
  await order.getByRole("button", {name: "Enregistrer les carnets"}).click();
  await order.locator(".form-errors").getByText(`le carnet ${Y}-001 est déjà enregistré`).waitFor();
  // The first book to a structure, then to Monique found by her phone
  // (today, the form's date).
  const give = page.getByRole("form", {name: "Remettre un carnet"});
  await give.getByLabel("Numéro du carnet (ou son nom local)").fill(`${Y}-001`);
  await give.getByLabel("Structure", {exact: true}).selectOption({label: "CCAS de Chambéry"});
  await give.getByRole("button", {name: "Enregistrer la remise"}).click();
  await page.getByText(`Carnet ${Y}-001 remis à CCAS de Chambéry.`).waitFor();
  const hand = async (number, second) => {
    const form = page.getByRole("form", {name: "Remettre un carnet"});
    await form.getByLabel("Numéro du carnet (ou son nom local)").fill(number);
    await form.getByLabel("une personne").check();
    await form.getByLabel("Téléphone ou nom de la personne").fill("06 12 34 56 78");
    await form.getByRole("button", {name: "Chercher"}).click();
    await form.getByRole("button", {name: "Choisir Monique Jacquier"}).click();
    if (second) await form.getByLabel("Deuxième carnet pour cette personne").check();
    await form.getByRole("button", {name: "Enregistrer la remise"}).click();
    return form;
  };
  await hand(`${Y}-001`, false);
  await page.getByText(`Carnet ${Y}-001 remis à Monique Jacquier.`).waitFor();
  // A second book for her: refused in plain words, then given when asked.
  const form = await hand(`${Y}-002`, false);
  await form.locator(".form-errors").getByText(/déjà un carnet en cours/).waitFor();
  await checkView("pass-deuxieme-carnet");
  await hand(`${Y}-002`, true);
  await page.getByText(`Carnet ${Y}-002 remis à Monique Jacquier.`).waitFor();
  eq((await ok("GET", `/pass/books/${books[1].id}`)).history.map((x) => x.second), [true],
    "the second book, asked for");
  // The platform's export as Excel leaves it (Windows-1252, ';').
  await page.locator("#aptic-file").setInputFiles(join(SRC, "tests", "integration", "pass",
    "export-aptic-cp1252.csv"));
  await page.getByRole("heading", {level: 3, name: /Compte rendu/}).waitFor({timeout: 15000});
  eq((await page.locator("#aptic-report dl.figures dd").allTextContents()).map(Number)[0], 67,
    "lines read");
  await page.getByRole("table", {name: "Lignes en erreur"})
    .getByText("ligne 67 : la date « 31/02/2026 09:45 » n'existe pas").waitFor();
  await page.getByRole("table", {name: /Anomalies/}).waitFor();
  await checkView("pass-import");
  // The funders' table for two periods, on screen and as a CSV file.
  const periods = page.getByRole("form", {name: "Périodes du tableau"});
  await periods.getByLabel("Période 1 : du").fill("2025-01-01");
  await periods.getByLabel("Période 1 : au (inclus)").fill("2025-12-31");
  await periods.getByLabel("Période 2 : du").fill("2026-01-01");
  await periods.getByLabel("Période 2 : au (inclus)").fill("2026-06-30");
  await periods.getByRole("button", {name: "Afficher le tableau"}).click();
  await page.getByRole("table", {name: "Pass utilisés", exact: true}).waitFor();
  const [csv] = await Promise.all([page.waitForEvent("download"),
    page.getByRole("button", {name: "Télécharger en CSV (tableur)"}).click()]);
  eq(csv.suggestedFilename(), "pass-numeriques.csv", "the CSV file");
  assert(readFileSync(await csv.path(), "utf8").includes("spent.by_gender"), "the CSV's tables");
  const [xlsx] = await Promise.all([page.waitForEvent("download"),
    page.getByRole("button", {name: "Télécharger le classeur (Excel)"}).click()]);
  eq(xlsx.suggestedFilename(), "pass-numeriques.xlsx", "the workbook");
  assert(readFileSync(await xlsx.path()).subarray(0, 4).equals(Buffer.from("PK\x03\x04", "latin1")),
         "the workbook is a zip");
  await checkView("pass-tableau");
});

step("tablet portrait (800×1280): no horizontal scrolling, targets ≥ 44 px", async () => {
  await page.setViewportSize({width: 800, height: 1280});
  for (const [hash, name] of [[`/semaine/${mondayStr}`, "tablette-semaine"],
                              [`/seances/${sessionId}`, "tablette-seance"],
                              [`/mois/${mondayStr}`, "tablette-mois"],
                              ["/accompagnement", "tablette-accompagnement"]]) {
    await page.goto(`${base}/console#${hash}`);
    await page.locator("h1").waitFor();
    await page.waitForLoadState("networkidle");
    const over = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert(over <= 0, `${name}: ${over}px wider than the screen`);
    const small = await page.evaluate(() => [...document.querySelectorAll(
      "main button, main a.button, main input:not([type=checkbox]):not([type=radio]), main select, nav a")]
      .filter((e) => e.offsetParent && e.getBoundingClientRect().height < 44)
      .map((e) => e.textContent.trim() || e.name));
    eq(small, [], `${name}: controls under 44 px`);
    await checkView(name);
  }
  await page.setViewportSize({width: 1280, height: 800});
});

step("a phone (390 px): no screen scrolls sideways", async () => {
  await page.setViewportSize({width: 390, height: 844});
  const screens = [`/semaine/${mondayStr}`, `/mois/${mondayStr}`, `/seances/${sessionId}`,
    `/seances/${held.id}`, `/seances/${sessionId}/modifier`, "/seances/nouvelle", "/personnes",
    `/personnes/${elodie.id}`, `/personnes/${monique.id}`, "/pix",
    `/rapport?from=${heldDay}&to=${mondayStr}`, `/enquetes?from=${heldDay}&staff=${samir.id}`,
    "/accompagnement", "/reunions", "/materiel", "/pass"];
  for (const hash of screens) {
    await page.goto(`${base}/console#${hash}`);
    await page.locator("h1").waitFor();
    await page.waitForLoadState("networkidle");
    // Open what is folded, as a user would.
    await page.evaluate(() => document.querySelectorAll("main details").forEach((d) => { d.open = true; }));
    const over = await page.evaluate(() => document.scrollingElement.scrollWidth - window.innerWidth);
    // Which elements stick out, to say where to look.
    const wide = over <= 0 ? [] : await page.evaluate(() => [...document.querySelectorAll("body *")]
      .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1 &&
                     !e.closest(".table-wrap"))
      .slice(-3).map((e) => `${e.tagName.toLowerCase()}.${e.className}`));
    assert(over <= 0, `${hash}: ${over}px wider than a 390 px phone (${wide.join(", ")})`);
  }
  await checkView("telephone-seance");
  await page.setViewportSize({width: 1280, height: 800});
});

step("a trainer signs in: own sessions, attendance, a reduced menu; logout ends the session", async () => {
  await signOut();
  assert(!(await context.cookies()).some((c) => c.name === "relais_session" && c.value),
    "the cookie is gone");
  await signIn("samir.haddad@example.org", PASSWORDS.samir);
  // The menu reflects the role before anything is tried.
  for (const name of ["Rapport", "Personnes", "Import PIX", "Nouvelle séance", "Pass numérique"])
    assert(!(await page.getByRole("link", {name}).isVisible()), `no ${name} link`);
  await page.goto(`${base}/console#/semaine/${mondayStr}`);
  await page.locator("li.session", {hasText: "smartphone"}).first().waitFor();
  eq(await page.locator("li.session", {hasText: "Aide aux démarches"}).count(), 0,
    "another trainer's session is not in their calendar");
  await checkView("animateur-semaine");
  await page.goto(`${base}/console#/seances/${held.id}`);
  const row = page.locator("li.person", {hasText: "Jeanne Martin"});
  await row.getByRole("button", {name: "Excusé·e"}).click();
  await page.locator("li.person", {hasText: "Jeanne Martin"})
    .getByRole("button", {name: "Excusé·e", pressed: true}).waitFor();
  eq(await page.getByRole("button", {name: "Annuler l'inscription"}).count(), 0, "cannot cancel");
  eq(await page.getByRole("heading", {name: "Inscrire quelqu'un"}).count(), 0, "cannot enroll");
  await checkView("animateur-seance");
  await page.goto(`${base}/console#/rapport?from=${mondayStr}&to=${mondayStr}`);
  await page.getByText("Votre rôle ne permet pas cette action.").waitFor();
  await signOut();
  // The session is over on the server too: the old cookie is refused.
  const res = await fetch(base + "/auth/me", {headers: {Cookie: "relais_session=x"}});
  eq(res.status, 401, "no session");
});

step("keyboard only: skip link, sign-in, a toggle and a dialog", async () => {
  await page.goto(base + "/console");
  await page.locator("#main h1").waitFor();
  // The sign-in puts the focus in the e-mail field; the skip link comes before it.
  eq(await page.evaluate(() => document.activeElement.name), "email", "focus in the e-mail field");
  await page.keyboard.press("Shift+Tab");
  eq(await page.evaluate(() => document.activeElement.textContent), "Aller au contenu", "skip link");
  await page.keyboard.press("Enter");
  eq(await page.evaluate(() => document.activeElement.id), "main", "skip link target");
  await page.getByLabel("Adresse e-mail").focus();
  await page.keyboard.type("claire.dumas@example.org");
  await page.keyboard.press("Tab");
  await page.keyboard.type(PASSWORDS.claire);
  await page.keyboard.press("Enter");
  await page.getByRole("heading", {level: 1, name: /Semaine du/}).waitFor();
  eq(await page.evaluate(() => document.activeElement.tagName), "H1", "focus on the new view's title");
  await page.goto(`${base}/console#/seances/${held.id}`);
  const present = page.locator("li.person", {hasText: "Jeanne Martin"}).getByRole("button", {name: "Présent·e"});
  await present.focus();
  await page.keyboard.press("Space");
  await page.locator("li.person", {hasText: "Jeanne Martin"})
    .getByRole("button", {name: "Présent·e", pressed: true}).waitFor();
  eq(await page.evaluate(() => document.activeElement.textContent), "Présent·e", "focus stays on the toggle");
  await page.getByRole("button", {name: "Annuler la séance"}).focus();
  await page.keyboard.press("Enter");
  await page.getByRole("dialog").waitFor();
  eq(await page.evaluate(() => document.activeElement.textContent), "Ne rien faire", "safe default");
  await page.keyboard.press("Escape");
  eq(await page.getByRole("dialog").count(), 0, "Escape closes the dialog");
  eq((await api("GET", `/sessions/${held.id}`)).json.status, "scheduled", "nothing cancelled");
});

step("the beneficiary's page without JavaScript: a two-step cancel, Back and reload harmless", async () => {
  const e = (await api("GET", `/sessions/${sessionId}/enrollments`)).json.items
    .find((x) => x.beneficiary_id === fatimaId);
  const tok = linkToken(e.id);
  const plain = await browser.newContext({javaScriptEnabled: false, locale: "fr-FR",
    viewport: {width: 390, height: 844}});
  const p = await plain.newPage();
  p.setDefaultTimeout(8000);
  await p.goto(`${base}/r/${tok}`);
  await p.getByText("Votre place est réservée.").waitFor();
  assert(/Pour toute question : 04 79 12 34 56/.test(await p.locator("main").textContent()), "the venue's phone");
  assert(!/·/.test(await p.locator("main").textContent()), "no « inscrit·e » forms");
  await p.getByRole("button", {name: "Annuler mon rendez-vous"}).click();
  await p.getByRole("heading", {level: 1, name: "Annuler votre rendez-vous ?"}).waitFor();
  eq((await api("GET", `/enrollments/${e.id}`)).json.status, "booked", "one tap changes nothing");
  // The way back keeps it.
  await p.getByRole("link", {name: "Non, je garde mon rendez-vous"}).click();
  await p.getByText("Votre place est réservée.").waitFor();
  await p.getByRole("button", {name: "Annuler mon rendez-vous"}).click();
  await p.getByRole("button", {name: "Oui, j'annule"}).click();
  await p.getByText("Votre rendez-vous est annulé.").waitFor();
  eq(new URL(p.url()).pathname, `/r/${tok}`, "back on the appointment's page (303)");
  eq((await api("GET", `/enrollments/${e.id}`)).json.status, "cancelled", "cancelled");
  await p.reload();
  await p.getByText("Votre rendez-vous est annulé.").waitFor();
  // Back: the confirmation again (kept by the browser), whose button now
  // meets a page saying it is done, not an error.
  await p.goBack();
  await p.getByRole("heading", {level: 1, name: "Annuler votre rendez-vous ?"}).waitFor();
  await p.getByRole("button", {name: "Oui, j'annule"}).click();
  await p.getByRole("heading", {level: 1, name: "Rendez-vous déjà annulé"}).waitFor();
  await p.getByRole("link", {name: "Voir mon rendez-vous"}).click();
  await p.getByText("Votre rendez-vous est annulé.").waitFor();
  await plain.close();
});

step("no script error and no CSP violation in the whole run", async () => {
  // Chromium logs every 4xx answer (401, 403, 404, 422 are provoked above on
  // purpose); a CSP refusal or a script error is anything else.
  eq(pageErrors.filter((e) => !/^Failed to load resource: .* status of 4\d\d/.test(e)), [],
    "page errors");
});

// --- run -------------------------------------------------------------------------
const only = process.env.ONLY;
const last = only ? steps.findIndex((s) => s.name.includes(only)) : steps.length - 1;
const run = steps.slice(0, last + 1);   // a step builds on those before it
console.log(`1..${run.length}`);
let failed = 0;
for (const [i, s] of run.entries()) {
  try {
    await s.fn();
    console.log(`ok ${i + 1} - ${s.name}`);
  } catch (err) {
    failed++;
    console.log(`not ok ${i + 1} - ${s.name}`);
    diag(err.stack || err);
    await page.screenshot({path: join(SHOTS, `echec-${i + 1}.png`), fullPage: true}).catch(() => {});
  }
}

// Page weight of the first load (sign-in page, then the week after signing
// in): what the browser fetched from /console, as sent and gzipped.
const seen = new Map();
for (const t of transfers) if (t.status === 200 && !seen.has(t.url)) seen.set(t.url, t.body);
// (js/records.js is loaded with the records' views only, never first.)
const first = [...seen].filter(([u]) => !/\/views\/(?!calendar)|\/js\/records\.js$/.test(u));
const sum = (xs) => xs.reduce((a, [, b]) => a + b.length, 0);
const gz = (xs) => xs.reduce((a, [, b]) => a + gzipSync(b, {level: 6}).length, 0);
diag(`page weight, first load (${first.length} files): ${sum(first)} bytes, ${gz(first)} gzipped`);
diag(`page weight, every console file (${seen.size} files): ${sum([...seen])} bytes, ${gz([...seen])} gzipped`);
diag(`accessibility (axe-core ${JSON.parse(readFileSync(join(here, "node_modules", "axe-core",
  "package.json"))).version}): ${axeResults.length} views checked, ` +
  `${axeResults.reduce((a, r) => a + r.violations.length, 0)} violation(s) of any impact`);
diag(`screenshots in ${SHOTS}`);
writeFileSync(join(SHOTS, "summary.json"), JSON.stringify({firstLoad: {files: first.map(([u]) => u),
  bytes: sum(first), gzip: gz(first)}, all: {files: seen.size, bytes: sum([...seen]), gzip: gz([...seen])},
  axe: axeResults}, null, 2));

await browser.close();
server.kill("SIGTERM");
await new Promise((r) => (exited ? r() : server.on("exit", r)));
if (exited && exited.code !== 0) { diag("relais exited with " + JSON.stringify(exited)); failed++; }
if (!failed) rmSync(dir, {recursive: true, force: true});
else {
  writeFileSync(join(dir, "relais.log"), log.join(""));
  diag(`server files and log kept in ${dir}`);
}
process.exit(failed ? 1 : 0);
