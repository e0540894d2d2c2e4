// PIX import: drop (or choose) a Pix Orga export and read the report:
// lines read, people recognised, and who was not recognised, each with
// « Créer la personne » (the form prefilled with their names and external
// id), and the lines in error, in French.
import {request} from "../api.js";
import {h, put, newId, announce, scrollBox, loading} from "../ui.js";

export async function render(main) {
  loading(main);
  const inputId = newId("pixfile");
  const out = h("div", {class: "pix-report", "aria-live": "polite"});
  const input = h("input", {type: "file", id: inputId, accept: ".csv,text/csv", class: "file"});
  const zone = h("div", {class: "dropzone"},
    h("label", {for: inputId}, h("strong", {}, "Choisir le fichier"),
      " — ou le déposer ici (export CSV « Résultats de la campagne » de Pix Orga)"),
    input);
  let sending = false;
  const send = async (file) => {
    // One import at a time: a second drop or choice waits for the first.
    if (!file || sending) return;
    sending = true;
    input.disabled = true;
    zone.classList.add("busy");
    put(out, h("p", {class: "loading", role: "status"}, h("span", {class: "spinner", "aria-hidden": "true"}),
      `Import de « ${file.name} » en cours…`));
    try {
      const rep = await request("POST", "/imports/pix", {body: file, contentType: "text/csv"});
      put(out, report(file.name, rep));
      announce(`Import terminé : ${rep.matched} reconnue(s), ${rep.unmatched} non reconnue(s), ` +
        `${rep.errors.length} erreur(s).`);
    } catch (err) {
      put(out, h("p", {class: "error", role: "alert"},
        err.status === 400 ? "Ce fichier n'est pas un export de campagne Pix Orga " +
          `(${(err.problem && err.problem.detail) || "format inconnu"}).` : err.message));
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
  put(main, h("h1", {}, "Import PIX"),
    h("p", {}, "Les résultats sont rattachés aux personnes par leur identifiant externe, sinon " +
      "par leur nom et prénom. Le niveau d'atelier conseillé apparaît sur la page de la personne."),
    zone, out);
}

function report(name, rep) {
  const unmatched = rep.unmatched_rows || [];
  const create = (u) => {
    const q = new URLSearchParams({first_name: u.first_name || "", last_name: u.last_name || ""});
    if (u.external_id) q.set("external_id", u.external_id);
    return `#/personnes?${q}`;
  };
  return [h("h2", {}, `Compte rendu : ${name}`),
    h("dl", {class: "figures"},
      h("dt", {}, "Lignes lues"), h("dd", {}, rep.rows),
      h("dt", {}, "Personnes reconnues"), h("dd", {}, rep.matched),
      h("dt", {}, "Personnes non reconnues"), h("dd", {}, rep.unmatched),
      h("dt", {}, "Lignes en erreur"), h("dd", {}, rep.errors.length)),
    unmatched.length ? h("section", {"aria-labelledby": "unmatched-t"},
      h("h2", {id: "unmatched-t"}, "Personnes à enregistrer"),
      h("p", {class: "hint"}, "Ces personnes n'ont ni l'identifiant externe de la campagne ni un " +
        "nom et prénom uniques dans Relais. Enregistrez-les, puis importez de nouveau le fichier " +
        "(un fichier importé deux fois ne compte qu'une fois)."),
      h("ul", {class: "plain"}, unmatched.map((u) => h("li", {},
        h("span", {}, `${u.first_name} ${u.last_name}`,
          u.external_id ? ` · identifiant ${u.external_id}` : "", ` · ligne ${u.line}`),
        h("a", {class: "button small", href: create(u),
                "aria-label": `Créer la personne ${u.first_name} ${u.last_name}`},
          "Créer la personne")))),
      rep.unmatched > unmatched.length ? h("p", {}, `… et ${rep.unmatched - unmatched.length} autres.`) : null) : null,
    rep.errors.length ? scrollBox(h("table", {},
      h("caption", {}, "Lignes en erreur"),
      h("thead", {}, h("tr", {}, h("th", {scope: "col"}, "Ligne"), h("th", {scope: "col"}, "Problème"))),
      h("tbody", {}, rep.errors.map((e) => h("tr", {}, h("td", {}, e.line), h("td", {}, e.message))))))
      : null];
}
