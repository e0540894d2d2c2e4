// Satisfaction survey results, per session and per trainer (a trainer sees
// their own).
import {get, getAll} from "../api.js";
import {refs} from "../refs.js";
import {h, put, field, showErrors, clearErrors, isoDay, addDays, dayNameYear, loading} from "../ui.js";
import {bars} from "./charts.js";
import {go} from "../app.js";

const SCORE = ["1 – Pas satisfait·e", "2 – Peu satisfait·e", "3 – Satisfait·e", "4 – Très satisfait·e"];

// The comments by question, each with the question as it was asked.
function comments(list) {
  const groups = [];
  for (const c of list) {
    const last = groups[groups.length - 1];
    if (last && last.question === c.question) last.texts.push(c.text);
    else groups.push({question: c.question, label: c.label || c.question, texts: [c.text]});
  }
  return h("section", {class: "comments"}, h("h3", {}, "Commentaires"),
    groups.map((g) => h("div", {class: "comment-group"},
      h("h4", {}, g.label),
      h("ul", {}, g.texts.map((t) => h("li", {}, h("q", {}, t)))))));
}

export async function render(main, params, ctx) {
  loading(main);
  const r = await refs();
  const q = params.query, trainer = ctx.me.role === "trainer";
  const now = new Date();
  const from = q.get("from") || isoDay(addDays(now, -90)), to = q.get("to") || isoDay(now);
  const staffId = trainer ? String(ctx.me.staff_id || "") : q.get("staff") || "";
  const sessions = await getAll("/sessions", {from, to, trainer_id: trainer ? staffId : undefined});
  const done = sessions.filter((s) => !s.parent_id && s.status !== "cancelled" &&
                                      new Date(s.ends_at) < now);
  const form = h("form", {class: "filters", novalidate: true},
    field({name: "from", label: "Du", type: "date", value: from}),
    field({name: "to", label: "Au (inclus)", type: "date", value: to}),
    trainer ? null : field({name: "staff", label: "Animateur·rice", value: staffId,
      options: [["", "Choisir…"], ...r.staff.map((s) => [s.id, s.name])]}),
    field({name: "session", label: "Ou une séance", value: q.get("session") || "",
      options: [["", "Choisir…"], ...done.map((s) =>
        [s.id, `${dayNameYear(new Date(s.starts_at))} — ${s.title}`])]}),
    h("button", {type: "submit", class: "primary"}, "Afficher"));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const p = new URLSearchParams({from: form.elements.from.value, to: form.elements.to.value});
    if (form.elements.staff && form.elements.staff.value) p.set("staff", form.elements.staff.value);
    if (form.elements.session.value) p.set("session", form.elements.session.value);
    go(`/enquetes?${p}`);
  });
  const out = h("div", {});
  put(main, h("h1", {}, "Enquêtes de satisfaction"), form, out);
  const sid = q.get("session");
  const who = trainer ? staffId : q.get("staff");
  if (!sid && !who) return;
  clearErrors(form);
  try {
    const res = sid ? await get(`/sessions/${sid}/survey`) :
      await get(`/staff/${who}/survey`, {from, to});
    const title = sid ? `Séance : ${(sessions.find((s) => String(s.id) === sid) || {}).title || "n° " + sid}`
      : `${(r.person.get(Number(who)) || {}).name || "Animateur·rice"} — ${res.sessions ?? ""} séance(s)`;
    put(out, h("h2", {}, title),
      h("p", {}, `${res.responses} réponse(s) pour ${res.invited} personne(s) invitée(s).`),
      h("div", {class: "charts"}, res.questions.map((qq) =>
        bars(`${qq.label} — moyenne ${qq.mean === null ? "—" : String(qq.mean).replace(".", ",")} / 4`,
          qq.counts.map((n, i) => [SCORE[i], n])))),
      res.comments.length ? comments(res.comments) : null);
  } catch (err) { showErrors(form, err); }
}
