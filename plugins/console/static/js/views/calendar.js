// Week and month calendars of sessions, filterable by venue, trainer and
// kind, with places left and the waitlist on each session.
import {getAll} from "../api.js";
import {refs} from "../refs.js";
import {h, put, KINDS, isoDay, parseDay, startOfWeek, addDays, dayName, timeOf, monthName,
        placesText, loading, field} from "../ui.js";
import {go} from "../app.js";

export async function render(main, params, ctx) {
  loading(main);
  const r = await refs();
  const q = params.query;
  const trainer = ctx.me.role === "trainer";
  const filters = {
    venue_id: q.get("venue_id") || "",
    trainer_id: trainer ? String(ctx.me.staff_id || "") : q.get("trainer_id") || "",
    kind: q.get("kind") || "",
  };
  const day = parseDay(params.day) || new Date();
  let from, to, title, prev, next;
  if (params.mode === "week") {
    from = startOfWeek(day);
    to = addDays(from, 6);
    title = `Semaine du ${dayName(from).toLowerCase()}`;
    prev = addDays(from, -7);
    next = addDays(from, 7);
  } else {
    from = new Date(day.getFullYear(), day.getMonth(), 1);
    to = new Date(day.getFullYear(), day.getMonth() + 1, 0);
    title = monthName(from).replace(/^./, (c) => c.toUpperCase());
    prev = new Date(from.getFullYear(), from.getMonth() - 1, 1);
    next = new Date(from.getFullYear(), from.getMonth() + 1, 1);
  }
  const sessions = await getAll("/sessions", {from: isoDay(from), to: isoDay(to), ...filters});
  const base = params.mode === "week" ? "/semaine" : "/mois";
  const qs = () => {
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries(filters)) if (v && !(trainer && k === "trainer_id")) p.set(k, v);
    const s = p.toString();
    return s ? "?" + s : "";
  };

  const filterForm = h("form", {class: "filters", "aria-label": "Filtrer les séances"},
    field({name: "venue_id", label: "Lieu", value: filters.venue_id,
           options: [["", "Tous les lieux"], ...r.venues.map((v) => [v.id, v.name])]}),
    trainer ? null : field({name: "trainer_id", label: "Animateur·rice", value: filters.trainer_id,
           options: [["", "Toute l'équipe"], ...r.staff.map((s) => [s.id, s.name])]}),
    field({name: "kind", label: "Type", value: filters.kind,
           options: [["", "Tous les types"], ...Object.entries(KINDS)]}));
  filterForm.addEventListener("change", () => {
    for (const k of Object.keys(filters))
      if (filterForm.elements[k]) filters[k] = filterForm.elements[k].value;
    go(`${base}/${isoDay(day)}${qs()}`);
  });
  filterForm.addEventListener("submit", (e) => e.preventDefault());

  const nav = h("div", {class: "cal-nav"},
    h("a", {class: "button", href: `#${base}/${isoDay(prev)}${qs()}`},
      params.mode === "week" ? "← Semaine précédente" : "← Mois précédent"),
    h("a", {class: "button", href: `#${base}/${isoDay(new Date())}${qs()}`},
      params.mode === "week" ? "Cette semaine" : "Ce mois-ci"),
    h("a", {class: "button", href: `#${base}/${isoDay(next)}${qs()}`},
      params.mode === "week" ? "Semaine suivante →" : "Mois suivant →"),
    ctx.me.role === "trainer" ? null :
      h("a", {class: "button primary", href: "#/seances/nouvelle"}, "Nouvelle séance"));

  const byDay = new Map();
  for (const s of sessions) {
    const k = isoDay(new Date(s.starts_at));
    if (!byDay.has(k)) byDay.set(k, []);
    byDay.get(k).push(s);
  }
  const card = (s, compact) => {
    const start = new Date(s.starts_at), end = new Date(s.ends_at);
    const venue = s.venue_id ? r.venue.get(s.venue_id) : null;
    const who = s.trainer_id ? r.person.get(s.trainer_id) : null;
    const full = s.remaining === 0;
    return h("li", {class: `session kind-${s.kind}${s.status === "cancelled" ? " cancelled" : ""}`},
      h("a", {href: `#/seances/${s.id}`},
        h("span", {class: "time"}, `${timeOf(start)} – ${timeOf(end)}`), " ",
        h("strong", {}, s.title)),
      h("span", {class: "meta"}, KINDS[s.kind] + (s.parent_id ? " (partie)" : ""),
        compact ? null : venue ? ` · ${venue.name}` : s.online ? " · En ligne" : "",
        compact || !who ? null : ` · ${who.name}`),
      h("span", {class: `places${full ? " full" : ""}${s.waitlisted ? " waiting" : ""}`}, placesText(s)));
  };

  let body;
  if (params.mode === "week") {
    body = h("div", {class: "week"}, [...Array(7).keys()].map((i) => {
      const d = addDays(from, i), list = byDay.get(isoDay(d)) || [];
      return h("section", {class: "day", "aria-labelledby": `d-${isoDay(d)}`},
        h("h2", {id: `d-${isoDay(d)}`}, dayName(d)),
        list.length ? h("ul", {class: "sessions"}, list.map((s) => card(s, false))) :
          h("p", {class: "empty"}, "Aucune séance"));
    }));
  } else {
    const first = startOfWeek(from);
    const weeks = [];
    for (let w = first; w <= to; w = addDays(w, 7)) weeks.push(w);
    body = h("table", {class: "month"},
      h("caption", {class: "visually-hidden"}, `Séances de ${title}`),
      h("thead", {}, h("tr", {}, ["Lundi", "Mardi", "Mercredi", "Jeudi", "Vendredi", "Samedi",
        "Dimanche"].map((n) => h("th", {scope: "col"}, n)))),
      h("tbody", {}, weeks.map((w) => h("tr", {}, [...Array(7).keys()].map((i) => {
        const d = addDays(w, i), list = byDay.get(isoDay(d)) || [];
        const inMonth = d.getMonth() === from.getMonth();
        return h("td", {class: inMonth ? "" : "out"},
          h("a", {class: "daynum", href: `#/semaine/${isoDay(d)}${qs()}`,
                  "aria-label": `${dayName(d)} : voir la semaine`}, String(d.getDate())),
          list.length ? h("ul", {class: "sessions"}, list.map((s) => card(s, true))) : null);
      })))));
  }
  put(main, h("h1", {}, title),
    h("p", {class: "summary"}, `${sessions.length} séance${sessions.length > 1 ? "s" : ""}` +
      (trainer ? " que vous animez" : "")),
    filterForm, nav, body);
}
