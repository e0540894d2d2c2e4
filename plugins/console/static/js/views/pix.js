// PIX import: drop (or choose) a Pix Orga export and read the report of
// matched, unmatched and bad lines.
import {request} from "../api.js";
import {h, put, newId, announce} from "../ui.js";

export async function render(main) {
  const inputId = newId("pixfile");
  const out = h("div", {class: "pix-report", "aria-live": "polite"});
  const input = h("input", {type: "file", id: inputId, accept: ".csv,text/csv", class: "file"});
  const zone = h("div", {class: "dropzone"},
    h("label", {for: inputId}, h("strong", {}, "Choisir le fichier"),
      " — ou le déposer ici (export CSV « Résultats de la campagne » de Pix Orga)"),
    input);
  const send = async (file) => {
    if (!file) return;
    put(out, h("p", {}, `Import de « ${file.name} »…`));
    try {
      const rep = await request("POST", "/imports/pix", {body: file, contentType: "text/csv"});
      put(out, h("h2", {}, `Compte rendu : ${file.name}`),
        h("dl", {class: "figures"},
          h("dt", {}, "Lignes lues"), h("dd", {}, rep.rows),
          h("dt", {}, "Personnes reconnues"), h("dd", {}, rep.matched),
          h("dt", {}, "Personnes non reconnues"), h("dd", {}, rep.unmatched),
          h("dt", {}, "Lignes en erreur"), h("dd", {}, rep.errors.length)),
        rep.unmatched ? h("p", {class: "hint"}, "Une personne non reconnue n'a ni l'identifiant " +
          "externe de la campagne ni un nom et prénom uniques dans Relais : enregistrez-la, puis " +
          "importez à nouveau le fichier (un fichier importé deux fois ne compte qu'une fois).") : null,
        rep.errors.length ? h("table", {},
          h("caption", {}, "Lignes en erreur"),
          h("thead", {}, h("tr", {}, h("th", {scope: "col"}, "Ligne"), h("th", {scope: "col"}, "Problème"))),
          h("tbody", {}, rep.errors.map((e) => h("tr", {}, h("td", {}, e.line), h("td", {}, e.message)))))
          : null);
      announce(`Import terminé : ${rep.matched} reconnue(s), ${rep.unmatched} non reconnue(s), ` +
        `${rep.errors.length} erreur(s).`);
    } catch (err) {
      put(out, h("p", {class: "error", role: "alert"},
        err.status === 400 ? "Ce fichier n'est pas un export de campagne Pix Orga " +
          `(${(err.problem && err.problem.detail) || "format inconnu"}).` : err.message));
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
