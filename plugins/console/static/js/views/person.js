// A person's page: details and consents (editable), enrollments, PIX
// results with the suggested level, export (right of access) and erasure
// (right to erasure, after a confirmation).
import {get, patch, del, request} from "../api.js";
import {h, put, clearErrors, announce, confirmDialog, download, busy, onSubmit, scrollBox, KINDS,
        ENROLL, LEVELS, GENDERS, dayNameYear, timeOf, loading} from "../ui.js";
import {personForm, personBody} from "./people.js";
import {go} from "../app.js";
import {organisations, accompanimentsTable, AUDIENCE, RESIDENCE} from "../records.js";

const pct = (x) => `${Math.round(x * 100)} %`;

export async function render(main, params) {
  loading(main);
  const id = params.id;
  const [p, exp, pix] = await Promise.all([get(`/beneficiaries/${id}`),
    get(`/beneficiaries/${id}/export`), get(`/beneficiaries/${id}/pix`).catch(() => null)]);
  const name = `${p.first_name} ${p.last_name}`;
  const orgs = await organisations().catch(() => []);
  const orgName = (oid) => (orgs.find((o) => o.id === oid) || {}).name || "—";
  const yes = (b) => (b ? "oui" : "non");
  const summary = h("dl", {class: "details"},
    [["Téléphone", p.phone || "—"], ["E-mail", p.email || "—"],
     ["Année de naissance", p.birth_year || "—"], ["Genre", GENDERS[p.gender] || "Non précisé"],
     ["Commune", p.commune || "—"], ["Quartier", p.neighborhood || "—"],
     ["Orientée par", p.prescriber || "—"], ["Structure", orgName(p.organisation_id)],
     ["Public", AUDIENCE[p.audience] || p.audience], ["Résidence", RESIDENCE[p.residence] || "—"],
     ["Identifiant externe", p.external_id || "—"],
     ["Accepte les SMS", p.consent_sms ? "oui" : "non — elle ne reçoit aucun rappel par SMS"],
     ["Accepte les e-mails", yes(p.consent_email)]].map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));

  const edit = personForm(p, "Enregistrer les modifications");
  onSubmit(edit, async () => {
    clearErrors(edit);
    await patch(`/beneficiaries/${id}`, personBody(edit, true, p));
    announce("Modifications enregistrées.");
    await render(main, params);
  });

  const enr = exp.enrollments || [];
  const enrollments = enr.length ? scrollBox(h("table", {},
    h("caption", {class: "visually-hidden"}, "Inscriptions"),
    h("thead", {}, h("tr", {}, ["Séance", "Type", "Date", "État"].map((t) => h("th", {scope: "col"}, t)))),
    h("tbody", {}, enr.map((e) => h("tr", {},
      h("td", {}, h("a", {href: `#/seances/${e.session_id}`}, e.session_title)),
      h("td", {}, KINDS[e.session_kind] || e.session_kind),
      h("td", {}, `${dayNameYear(new Date(e.starts_at))}, ${timeOf(new Date(e.starts_at))}`),
      h("td", {}, ENROLL[e.status] || e.status)))))) : h("p", {class: "empty"}, "Aucune inscription.");

  let pixBlock = h("p", {class: "empty"}, "Aucun résultat PIX.");
  if (pix && pix.items.length) {
    pixBlock = h("div", {},
      h("p", {class: "suggested"}, "Niveau d'atelier conseillé : ",
        h("strong", {}, pix.suggested_level ? LEVELS[pix.suggested_level] : "pas assez d'éléments")),
      pix.items.map((c) => {
        // A profile collection gives levels and pix; an assessment gives
        // mastery rates (shown as percentages).
        const rates = c.competences.some((k) => k.mastery !== null && k.mastery !== undefined);
        const heads = rates ? ["Compétence", "Maîtrise"] : ["Compétence", "Niveau", "Pix"];
        return h("details", {},
          h("summary", {}, `${c.campaign}${c.date ? " — " + dayNameYear(new Date(c.date)) : ""}` +
            (c.total_pix !== null && c.total_pix !== undefined ? ` — ${c.total_pix} pix` : "") +
            (c.mastery !== null && c.mastery !== undefined ? ` — maîtrise ${pct(c.mastery)}` : "")),
          scrollBox(h("table", {class: "compact"},
            h("caption", {class: "visually-hidden"}, `Compétences, ${c.campaign}`),
            h("thead", {}, h("tr", {}, heads.map((t) => h("th", {scope: "col"}, t)))),
            h("tbody", {}, c.competences.map((k) => h("tr", {},
              h("td", {}, `${k.code ? k.code + " " : ""}${k.name}`),
              rates ? h("td", {}, k.mastery === null || k.mastery === undefined ? "—" : pct(k.mastery))
                : [h("td", {}, k.level ?? "—"), h("td", {}, k.pix ?? "—")]))))));
      }));
  } else if (pix && pix.suggested_level) {
    pixBlock = h("p", {}, `Niveau d'atelier conseillé : ${LEVELS[pix.suggested_level]}`);
  }

  const rights = h("div", {class: "actions"},
    h("button", {type: "button", onclick: async (ev) => {
      await busy(ev.currentTarget, async () => {
        try {
          const res = await request("GET", `/beneficiaries/${id}/export`, {raw: true});
          download(`relais-personne-${id}.json`, await res.blob());
          announce("Export téléchargé.");
        } catch (err) { announce(err.message, "error"); }
      }, "Préparation…");
    }}, "Exporter ses données (fichier)"),
    h("button", {type: "button", class: "danger", onclick: async (ev) => {
      const ok = await confirmDialog(`Effacer ${name} ?`,
        "Son nom, son téléphone, son e-mail et ses accords sont effacés pour de bon, ses " +
        "inscriptions à venir annulées et ses messages en attente supprimés. Les comptages " +
        "anonymes des rapports restent justes. Cela ne peut pas être défait.", "Effacer définitivement");
      if (!ok) return;
      await busy(ev.target, async () => {
        try {
          await del(`/beneficiaries/${id}`);
          announce(`Les données de la personne n° ${id} sont effacées.`);
          go("/personnes");
        } catch (err) { announce(err.message, "error"); }
      }, "Effacement…");
    }}, "Effacer cette personne"));

  put(main, h("p", {class: "crumbs"}, h("a", {href: "#/personnes"}, "← Personnes")),
    h("h1", {}, name), summary,
    h("section", {"aria-labelledby": "e-t"}, h("h2", {id: "e-t"}, "Inscriptions"), enrollments),
    h("section", {"aria-labelledby": "a-t"}, h("h2", {id: "a-t"}, "Accompagnements"),
      accompanimentsTable(exp.accompaniments, "Accompagnements")),
    h("section", {"aria-labelledby": "x-t"}, h("h2", {id: "x-t"}, "Résultats PIX"), pixBlock),
    h("section", {"aria-labelledby": "m-t"}, h("h2", {id: "m-t"}, "Modifier"),
      h("details", {}, h("summary", {}, "Modifier les informations et les accords"), edit)),
    h("section", {"aria-labelledby": "r-t"}, h("h2", {id: "r-t"}, "Droits de la personne"),
      h("p", {}, "Droit d'accès : tout ce que Relais garde sur elle. Droit à l'effacement : " +
        "effacer ses données personnelles."), rights));
}
