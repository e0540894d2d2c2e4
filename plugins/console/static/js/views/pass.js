// Pass numérique (APTIC cheques), for coordinators: where the books are
// (statuses), registering an order's books, handing a book over (to a
// structure, or to a person found by phone), importing the platform's
// export (its line errors in French), the anomalies to resolve, what each
// venue is owed, and the funders' table for chosen periods (printable,
// XLSX, CSV, HTML). Every save is busy until its answer (onSubmit): a double
// click records once. Route: #/pass.
import {get, request} from "../api.js";
import {h, put, field, checkbox, clearErrors, announce, loading, onSubmit, busy,
        download, isoDay, parseDay, dayNameYear} from "../ui.js";
import {organisations} from "../records.js";
import {bars} from "./charts.js";

const STATUS = {stock: "En stock", distributed: "Chez une structure", assigned: "Remis à une personne",
  started: "Entamé", used: "Utilisé", expired: "Périmé"};
const STATUSES = ["stock", "distributed", "assigned", "started", "used", "expired"];
const ANOMALY = {unknown_pass: "Pass d'aucun carnet", not_given: "Carnet jamais remis",
  after_validity: "Utilisé trop tard", duplicate: "Utilisé deux fois",
  venue_not_aptic: "Lieu non APTIC"};
const XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
const GENDER = {F: "Femmes", M: "Hommes", X: "Autre", unknown: "Non renseigné"};
const LEVEL = {1: "Niveau 1 — Découvrir", 2: "Niveau 2 — Maîtriser", 3: "Niveau 3 — Agir",
  unknown: "Sans niveau"};
// A wide table scrolls in a box of its own on a phone, never the page; the
// box takes the keyboard's focus (and names itself) so that it can be
// scrolled without a mouse.
const scrollBox = (table) => h("div", {class: "table-wrap", tabindex: "0", role: "region",
  "aria-label": table.querySelector("caption")?.textContent || "Tableau"}, table);
const euros = (cents) => `${(cents / 100).toLocaleString("fr-FR", {minimumFractionDigits: 2})} €`;
const frDay = (s) => s ? dayNameYear(parseDay(s)) : "—";
const ageLabel = (b) => b === "unknown" ? "Non renseigné" : b.startsWith("<") ?
  `Moins de ${b.slice(1)} ans` : b.endsWith("+") ? `${b.slice(0, -1)} ans et plus` :
  `${b.replace("-", " à ")} ans`;

// The server's problems, in the words of this screen.
const CONFLICT = [
  [/another person/, "Ce carnet a déjà été remis à une autre personne : un carnet, une personne."],
  [/already holds a book/, "Cette personne a déjà un carnet en cours : cochez « Deuxième carnet » " +
    "pour lui en remettre un autre."],
  [/already held by/, "Ce carnet est déjà chez ce destinataire."],
  [/already spent/, "Ce pass a déjà été utilisé."],
];
function french(err, fields = {}) {
  const detail = err.problem && err.problem.detail;
  if (err.status === 409 && detail) {
    const c = CONFLICT.find(([re]) => re.test(detail));
    if (c) err.message = c[1];
  }
  for (const f of err.fields || []) {
    const raw = ((err.problem && err.problem.errors) || []).find((e) => e.field === f.field);
    const m = /^books\[(\d+)\]\.(\w+)/.exec(f.field);
    const key = m ? m[2] : f.field;
    if (fields[key]) f.label = fields[key];
    if (m) f.label = `Carnet n° ${Number(m[1]) + 1} — ${f.label}`;
    const text = raw ? raw.message : "";
    const taken = /^(book|pass) (.+) is already registered$/.exec(text);
    if (taken) f.message = `${taken[1] === "book" ? "le carnet" : "le pass"} ${taken[2]} est déjà enregistré`;
    else if (/needs more digits/.test(text)) f.message = "la numérotation dépasserait le nombre de chiffres";
    else if (/is valid until/.test(text)) f.message = "cette commande a déjà une autre fin de validité";
    else if (/has passes of/.test(text)) f.message = "cette commande a déjà une autre valeur de pass";
    else if (/before the last handover/.test(text)) f.message = "la date est avant la remise précédente";
    else if (/in the future/.test(text)) f.message = "la date est dans le futur";
    else if (/give organisation_id or beneficiary_id/.test(text)) f.message = "choisissez le destinataire";
    else if (/no such organisation/.test(text)) f.message = "cette structure n'existe pas";
    else if (/appears more than once/.test(text)) f.message = "donné deux fois dans la commande";
    if (m) f.field = key;   /* the form's own field shows it */
  }
  return err;
}

export async function render(main) {
  loading(main);
  const [rec, orgs, orders] = await Promise.all([get("/pass/reconciliation"), organisations(),
    get("/pass/orders")]);
  const again = () => render(main);
  put(main, h("h1", {}, "Pass numérique"),
    h("p", {class: "summary"}, "Les carnets de chèques APTIC : où ils sont, qui les a reçus, " +
      "les pass utilisés, ce qu'il reste à régler, et le tableau des financeurs."),
    summary(rec),
    orderSection(orders, again),
    booksSection(),
    handoverSection(orgs, again),
    importSection(again),
    anomaliesSection(rec),
    venuesSection(rec),
    tableSection());
}

// --- where the books are -------------------------------------------------------
function summary(rec) {
  const b = rec.books, p = rec.passes;
  return h("section", {"aria-labelledby": "pass-sum"},
    h("h2", {id: "pass-sum"}, "Où en sont les carnets"),
    h("dl", {class: "figures"},
      h("dt", {}, "Carnets"), h("dd", {}, b.total),
      ...STATUSES.flatMap((s) => [h("dt", {}, STATUS[s]), h("dd", {}, b[s])]),
      h("dt", {}, "Pass utilisés"), h("dd", {}, `${p.spent} sur ${p.total}`),
      h("dt", {}, "Pass perdus (validité dépassée)"), h("dd", {}, p.expired_unspent),
      h("dt", {}, "Avoir à demander"), h("dd", {}, euros(p.expired_value_cents))));
}

function booksSection() {
  const out = h("div", {"aria-live": "polite"});
  const filter = h("form", {class: "filters", "aria-label": "Carnets affichés"},
    field({name: "status", label: "Statut", options: [["", "Tous"],
      ...STATUSES.map((s) => [s, STATUS[s]])]}),
    field({name: "q", label: "Numéro ou nom du carnet", attrs: {autocomplete: "off"}}),
    h("button", {type: "submit"}, "Afficher"));
  let cursor = null;
  const load = async (more) => {
    const q = {status: filter.elements.status.value, q: filter.elements.q.value.trim(), limit: 50};
    if (more) q.cursor = cursor;
    const page = await get("/pass/books", q);
    cursor = page.next;
    const rows = page.items.map((b) => h("tr", {},
      h("td", {}, b.number), h("td", {}, b.label || "—"), h("td", {}, b.order),
      h("td", {}, STATUS[b.status]), h("td", {}, `${b.used} / ${b.passes}`),
      h("td", {}, b.holder ? (b.holder.name || (b.holder.erased ? "personne effacée" : "—")) : "—")));
    const body = more && out.querySelector("tbody");
    if (body) body.append(...rows);
    else put(out, page.items.length ? scrollBox(h("table", {},
      h("caption", {}, "Liste des carnets"),
      h("thead", {}, h("tr", {}, ["Carnet", "Nom local", "Commande", "Statut", "Pass utilisés",
        "Détenu par"].map((t) => h("th", {scope: "col"}, t)))),
      h("tbody", {}, rows))) : h("p", {class: "empty"}, "Aucun carnet."));
    out.querySelector("button.more")?.remove();
    if (cursor) out.append(h("button", {type: "button", class: "more", onclick: (ev) =>
      busy(ev.currentTarget, () => load(true), "Chargement…")}, "Voir les suivants"));
  };
  filter.addEventListener("submit", (e) => { e.preventDefault(); load(false); });
  load(false).catch((err) => put(out, h("p", {class: "error", role: "alert"}, err.message)));
  return h("section", {"aria-labelledby": "pass-books"},
    h("h2", {id: "pass-books"}, "Carnets"), filter, out);
}

// --- handing a book over -------------------------------------------------------
function handoverSection(orgs, again) {
  let person = null;
  const results = h("div", {class: "results", "aria-live": "polite"});
  const chosen = h("p", {class: "chosen", "aria-live": "polite"});
  const personBox = h("div", {class: "who-known", "data-field": "beneficiary_id", hidden: true},
    h("div", {class: "inline"},
      field({name: "q", label: "Téléphone ou nom de la personne", type: "search",
             attrs: {autocomplete: "off", inputmode: "search"}}),
      h("button", {type: "button", onclick: () => search()}, "Chercher")),
    results, chosen, checkbox("second", "Deuxième carnet pour cette personne",
      false, "Seulement quand son premier carnet n'est pas encore utilisé en entier."),
    h("p", {class: "field-error"}));
  const orgBox = field({name: "organisation_id", label: "Structure",
    options: [["", "Choisir…"], ...orgs.map((o) => [o.id, o.name])]});
  const form = h("form", {class: "card", novalidate: true, "aria-label": "Remettre un carnet"},
    field({name: "number", label: "Numéro du carnet (ou son nom local)", required: true,
           attrs: {autocomplete: "off"}}),
    h("fieldset", {},
      h("legend", {}, "Remis à"),
      h("div", {class: "radio"}, h("input", {type: "radio", name: "to", id: "to-org", value: "org",
        checked: true}), h("label", {for: "to-org"}, "une structure (un distributeur)")),
      h("div", {class: "radio"}, h("input", {type: "radio", name: "to", id: "to-person",
        value: "person"}), h("label", {for: "to-person"}, "une personne"))),
    orgBox, personBox,
    field({name: "on", label: "Le", type: "date", value: isoDay(new Date())}),
    h("button", {type: "submit", class: "primary"}, "Enregistrer la remise"));
  const toPerson = () => form.elements.to.value === "person";
  form.querySelectorAll("input[name=to]").forEach((r) => r.addEventListener("change", () => {
    personBox.hidden = !toPerson();
    orgBox.hidden = toPerson();
  }));
  const search = async () => {
    const text = form.elements.q.value.trim();
    if (!text) return;
    try {
      const page = await get("/beneficiaries", {q: text, limit: 10});
      put(results, page.items.length ? h("ul", {class: "plain"}, page.items.map((p) => h("li", {},
        h("button", {type: "button", class: "small", onclick: () => {
          person = p;
          put(chosen, "Pour : ", h("strong", {}, `${p.first_name} ${p.last_name}`));
          put(results);
        }}, `Choisir ${p.first_name} ${p.last_name}`), p.phone ? ` ${p.phone}` : ""))) :
        h("p", {}, "Personne trouvée : enregistrez-la d'abord (menu Personnes)."));
    } catch (err) { announce(err.message, "error"); }
  };
  form.elements.q.addEventListener("keydown", (e) => {
    if (e.key === "Enter") { e.preventDefault(); search(); }
  });
  onSubmit(form, async () => {
    clearErrors(form);
    const el = form.elements, number = el.number.value.trim();
    const found = number ? (await get("/pass/books", {q: number, limit: 50})).items : [];
    const book = found.find((b) => b.number === number || b.label === number) ||
      (found.length === 1 ? found[0] : null);
    if (!book) {
      const err = new Error(number ? `Aucun carnet n'a le numéro « ${number} ».` :
        "Indiquez le numéro du carnet.");
      err.fields = [{field: "number", label: "Carnet", message: "carnet introuvable"}];
      throw err;
    }
    const body = {on: el.on.value || undefined};
    if (toPerson()) {
      if (person) body.beneficiary_id = person.id;
      if (el.second.checked) body.second = true;
    } else if (el.organisation_id.value) body.organisation_id = Number(el.organisation_id.value);
    try {
      await request("POST", `/pass/books/${book.id}/handover`, {json: body});
    } catch (err) {
      throw french(err, {beneficiary_id: "Personne", organisation_id: "Structure", on: "Date"});
    }
    announce(`Carnet ${book.number} remis à ${toPerson() ? `${person.first_name} ${person.last_name}` :
      el.organisation_id.selectedOptions[0].textContent}.`);
    await again();
    return "leave";   /* the view was drawn again */
  });
  return h("section", {"aria-labelledby": "pass-hand"},
    h("h2", {id: "pass-hand"}, "Remettre un carnet"),
    h("p", {class: "hint"}, "Un carnet va d'abord à une structure, puis à une seule personne."),
    form);
}

// --- the platform's export -----------------------------------------------------
function importSection(again) {
  const out = h("div", {class: "pix-report", "aria-live": "polite"});
  const input = h("input", {type: "file", id: "aptic-file", accept: ".csv,text/csv", class: "file"});
  const zone = h("div", {class: "dropzone"},
    h("label", {for: "aptic-file"}, h("strong", {}, "Choisir le fichier"),
      " — ou le déposer ici (export CSV des pass scannés, tel quel ou enregistré par Excel)"),
    input);
  let sending = false;
  const send = async (file) => {
    if (!file || sending) return;   /* one import at a time */
    sending = true;
    input.disabled = true;
    zone.classList.add("busy");
    put(out, h("p", {class: "loading", role: "status"}, h("span", {class: "spinner",
      "aria-hidden": "true"}), `Import de « ${file.name} » en cours…`));
    try {
      const rep = await request("POST", "/imports/aptic", {body: file, contentType: "text/csv"});
      announce(`Import terminé : ${rep.matched} pass reconnus, ${rep.unknown} inconnus, ` +
        `${rep.duplicates} déjà vus, ${rep.errors.length} ligne(s) en erreur.`);
      await again();
      const box = document.getElementById("aptic-report");
      if (box) put(box, report(file.name, rep));
    } catch (err) {
      put(out, h("p", {class: "error", role: "alert"}, err.status === 422 && err.problem ?
        `Ce fichier n'a pas pu être lu : ${err.problem.detail}.` : err.message));
    } finally {
      sending = false;
      input.disabled = false;
      input.value = "";
      zone.classList.remove("busy");
    }
  };
  input.addEventListener("change", () => send(input.files[0]));
  zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("over");
    send(e.dataTransfer.files[0]);
  });
  return h("section", {"aria-labelledby": "pass-imp"},
    h("h2", {id: "pass-imp"}, "Importer l'export APTIC"),
    h("p", {class: "hint"}, "Un fichier importé deux fois ne compte qu'une fois."),
    zone, h("div", {id: "aptic-report", "aria-live": "polite"}), out);
}

function report(name, rep) {
  return [h("h3", {}, `Compte rendu : ${name}`),
    h("dl", {class: "figures"},
      h("dt", {}, "Lignes lues"), h("dd", {}, rep.rows),
      h("dt", {}, "Pass reconnus"), h("dd", {}, rep.matched),
      h("dt", {}, "Pass d'aucun carnet"), h("dd", {}, rep.unknown),
      h("dt", {}, "Déjà vus"), h("dd", {}, rep.duplicates),
      h("dt", {}, "Lignes en erreur"), h("dd", {}, rep.errors.length)),
    rep.unmatched_venues.length ? h("p", {}, "Lieux inconnus de Relais : ",
      rep.unmatched_venues.join(", "), ".") : null,
    rep.errors.length ? scrollBox(h("table", {},
      h("caption", {}, "Lignes en erreur"),
      h("thead", {}, h("tr", {}, h("th", {scope: "col"}, "Ligne"), h("th", {scope: "col"}, "Problème"))),
      h("tbody", {}, rep.errors.map((e) => h("tr", {}, h("td", {}, e.line), h("td", {}, e.message))))))
      : null];
}

// --- what to resolve, what venues are owed ---------------------------------------
function anomaliesSection(rec) {
  const list = rec.anomalies;
  const shown = list.slice(0, 200);
  return h("section", {"aria-labelledby": "pass-ano"},
    h("h2", {id: "pass-ano"}, "À régler"),
    list.length ? h("ul", {class: "plain"}, Object.entries(rec.anomaly_counts)
      .filter(([, n]) => n).map(([k, n]) => h("li", {}, `${ANOMALY[k]} : ${n}`))) : null,
    list.length ? scrollBox(h("table", {},
      h("caption", {}, list.length > shown.length ?
        `Les ${shown.length} premières anomalies sur ${list.length}` : "Anomalies"),
      h("thead", {}, h("tr", {}, ["Type", "Pass", "Carnet", "Ce qui ne va pas"]
        .map((t) => h("th", {scope: "col"}, t)))),
      h("tbody", {}, shown.map((a) => h("tr", {},
        h("td", {}, ANOMALY[a.kind]), h("td", {}, a.pass), h("td", {}, a.book || "—"),
        h("td", {}, a.detail))))))
      : h("p", {class: "empty"}, "Rien à régler : chaque pass utilisé vient d'un carnet remis à " +
        "une personne, à temps, dans un lieu APTIC."));
}

function venuesSection(rec) {
  return h("section", {"aria-labelledby": "pass-ven"},
    h("h2", {id: "pass-ven"}, "Pass utilisés par lieu"),
    rec.by_venue.length ? scrollBox(h("table", {class: "compact"},
      h("caption", {}, "Ce que chaque lieu a encaissé"),
      h("thead", {}, h("tr", {}, ["Lieu", "APTIC", "Pass", "Montant"]
        .map((t) => h("th", {scope: "col"}, t)))),
      h("tbody", {}, rec.by_venue.map((v) => h("tr", {},
        h("td", {}, v.venue || "Lieu non précisé"), h("td", {}, v.aptic ? "oui" : "non"),
        h("td", {}, v.spent), h("td", {}, euros(v.value_cents)))))))
      : h("p", {class: "empty"}, "Aucun pass utilisé."));
}

// --- registering an order's books ------------------------------------------------
// "C-0099" + 2 → "C-0101": the trailing digits counted up, padding kept.
function plus(s, n) {
  const m = /^(.*?)(\d+)$/.exec(s);
  if (!m) return null;
  const next = (BigInt(m[2]) + BigInt(n)).toString();
  return next.length > m[2].length ? null : m[1] + next.padStart(m[2].length, "0");
}

function orderSection(orders, again) {
  const labels = {order: "Commande", valid_until: "Valable jusqu'au", value_cents: "Valeur d'un pass",
    number: "Numéro du premier carnet", first_pass: "Premier pass", count: "Pass par carnet",
    passes: "Pass", books: "Carnets", label: "Nom local"};
  const year = new Date().getFullYear();
  const form = h("form", {class: "card", novalidate: true, "aria-label": "Enregistrer une commande"},
    h("div", {class: "grid2"},
      field({name: "order", label: "Commande (année ou nom)", value: String(year), required: true}),
      field({name: "valid_until", label: "Valable jusqu'au", type: "date", value: `${year}-12-31`,
             hint: orders.items.length ? "Pour une commande déjà enregistrée : laissez sa date." : null}),
      field({name: "value", label: "Valeur d'un pass (€)", type: "number", value: "10",
             attrs: {min: 0, step: "0.01", inputmode: "decimal"}}),
      field({name: "number", label: "Numéro du premier carnet", required: true,
             attrs: {autocomplete: "off"}}),
      field({name: "books", label: "Nombre de carnets", type: "number", value: "1", required: true,
             attrs: {min: 1, max: 10000, inputmode: "numeric"}}),
      field({name: "first_pass", label: "Numéro du premier pass", required: true,
             attrs: {autocomplete: "off", inputmode: "numeric"}}),
      field({name: "count", label: "Pass par carnet", type: "number", value: "10", required: true,
             attrs: {min: 1, max: 1000, inputmode: "numeric"}}),
      field({name: "label", label: "Nom local (facultatif, suivi du rang du carnet)",
             attrs: {autocomplete: "off"}})),
    h("button", {type: "submit", class: "primary"}, "Enregistrer les carnets"));
  onSubmit(form, async () => {
    clearErrors(form);
    const el = form.elements, n = Number(el.books.value), count = Number(el.count.value);
    const books = [];
    for (let i = 0; i < n && i < 10000; i++) {
      const number = plus(el.number.value.trim(), i) ?? el.number.value.trim();
      const first = plus(el.first_pass.value.trim(), i * count) ?? el.first_pass.value.trim();
      const b = {number, first_pass: first, count};
      if (el.label.value.trim()) b.label = `${el.label.value.trim()} ${i + 1}`;
      books.push(b);
    }
    const body = {order: el.order.value.trim(), books};
    if (el.valid_until.value && !orders.items.some((o) => o.order === body.order))
      body.valid_until = el.valid_until.value;
    if (el.value.value !== "" && !orders.items.some((o) => o.order === body.order))
      body.value_cents = Math.round(Number(el.value.value) * 100);
    try {
      const out = await request("POST", "/pass/books", {json: body});
      announce(`${out.created} carnet(s) enregistré(s) dans la commande ${body.order}.`);
    } catch (err) { throw french(err, labels); }
    await again();
    return "leave";   /* the view was drawn again */
  });
  return h("section", {"aria-labelledby": "pass-ord"},
    h("h2", {id: "pass-ord"}, "Enregistrer une commande de carnets"),
    orders.items.length ? h("p", {class: "hint"}, "Commandes : ", orders.items.map((o) =>
      `${o.order} (${o.books} carnets, valables jusqu'au ${frDay(o.valid_until)})`).join(" ; "), ".")
      : null,
    h("p", {class: "hint"}, "Les carnets se suivent à partir du premier numéro, et leurs pass à " +
      "partir du premier pass : personne n'a plus à les renuméroter à la main."),
    form);
}

// --- the funders' table ------------------------------------------------------------
function tableSection() {
  const year = new Date().getFullYear();
  const rows = h("div", {class: "periods"});
  const addPeriod = (from, to) => {
    const n = rows.children.length + 1;
    rows.append(h("div", {class: "grid2 period"},
      field({name: `from${n}`, label: `Période ${n} : du`, type: "date", value: from}),
      field({name: `to${n}`, label: `Période ${n} : au (inclus)`, type: "date", value: to})));
  };
  addPeriod(`${year - 1}-01-01`, `${year - 1}-12-31`);
  addPeriod(`${year}-01-01`, isoDay(new Date()));
  const out = h("div", {class: "report"});
  const periods = () => [...rows.querySelectorAll(".period")].map((p) => {
    const [f, t] = p.querySelectorAll("input");
    return f.value && t.value ? `${f.value}..${t.value}` : null;
  }).filter(Boolean);
  const query = () => periods().map((p) => `period=${encodeURIComponent(p)}`).join("&");
  const fetchAs = async (accept, ext, button) => busy(button, async () => {
    try {
      const res = await request("GET", `/reports/pass?${query()}`, {accept, raw: true});
      download(`pass-numeriques.${ext}`, await res.blob());
    } catch (err) { announce(err.message, "error"); }
  }, "Préparation…");
  const form = h("form", {class: "card no-print", novalidate: true, "aria-label": "Périodes du tableau"},
    rows,
    h("div", {class: "actions"},
      h("button", {type: "button", onclick: () => {
        if (rows.children.length < 12) addPeriod("", "");
      }}, "Ajouter une période"),
      h("button", {type: "submit", class: "primary"}, "Afficher le tableau")));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (!periods().length) return announce("Indiquez au moins une période.", "error");
    loading(out, "Calcul du tableau…");
    try {
      const rep = await get(`/reports/pass?${query()}`);
      put(out, funders(rep, fetchAs));
    } catch (err) {
      put(out, h("p", {class: "error", role: "alert"}, err.message));
    }
  });
  return h("section", {"aria-labelledby": "pass-tab"},
    h("h2", {id: "pass-tab"}, "Tableau des financeurs"), form, out);
}

function funders(rep, fetchAs) {
  const heads = [...rep.periods.map((p) => `${frDay(p.from)} – ${frDay(p.to)}`), "Total"];
  const table = (title, entries, first) => scrollBox(h("table", {class: "compact"},
    h("caption", {}, title),
    h("thead", {}, h("tr", {}, h("th", {scope: "col"}, first), heads.map((t) => h("th", {scope: "col"}, t)))),
    h("tbody", {}, entries.map(([k, counts]) => h("tr", {}, h("th", {scope: "row"}, k),
      counts.map((c) => h("td", {}, c)))))));
  const genders = ["F", "M", "X", "unknown"].map((g) => [GENDER[g], rep.spent.by_gender[g]]);
  const ages = rep.age_brackets.map((b) => [ageLabel(b), rep.spent.by_age_bracket[b]]);
  const people = ["F", "M", "X", "unknown"].map((g) => [GENDER[g], rep.people.by_gender[g]]);
  const levels = ["1", "2", "3", "unknown"].map((k) => [LEVEL[k], rep.by_level[k].spent_by_period]);
  const shares = ["1", "2", "3"].map((k) => `${LEVEL[k]} : ${rep.by_level[k].share ?? "—"} %`);
  const services = Object.entries(rep.by_service).map(([k, v]) => [k === "unknown" ? "Non renseigné" : k, v]);
  return [
    h("div", {class: "actions no-print"},
      h("button", {type: "button", onclick: () => window.print()}, "Imprimer"),
      h("button", {type: "button", onclick: (ev) => fetchAs(XLSX, "xlsx", ev.currentTarget)},
        "Télécharger le classeur (Excel)"),
      h("button", {type: "button", onclick: (ev) => fetchAs("text/csv", "csv", ev.currentTarget)},
        "Télécharger en CSV (tableur)"),
      h("button", {type: "button", onclick: (ev) => fetchAs("text/html", "html", ev.currentTarget)},
        "Télécharger la page (HTML)")),
    table("Pass utilisés", [["Total", rep.spent.total], ...genders], "Genre"),
    table("Pass utilisés par âge", ages, "Âge"),
    table("Personnes (usagers uniques)", [["Total", rep.people.total], ...people], "Genre"),
    table("Pass utilisés par niveau", levels, "Niveau"),
    h("p", {}, "Part de chaque niveau (pass dont le niveau est connu) : ", shares.join(" ; "), "."),
    services.length ? table("Pass utilisés par service", services, "Service") : null,
    h("div", {class: "charts"},
      bars("Pass par genre (total)", genders.map(([k, v]) => [k, v[v.length - 1]])),
      bars("Pass par âge (total)", ages.map(([k, v]) => [k, v[v.length - 1]])))];
}
