// Week and month calendars of sessions, filterable by venue, trainer and
// kind, with places left and the waitlist on each session. Past sessions
// are dimmed; a session that has started with people not yet marked
// present or absent carries « présences à saisir ». Saturday and Sunday
// are shown only when something happens on them. The month stays compact:
// one line a session, at most MONTH_PER_DAY a day (then « + N »).
import {getAll} from "../api.js";
import {refs} from "../refs.js";
import {h, put, KINDS, isoDay, parseDay, startOfWeek, addDays, dayName, timeOf, monthName,
        placesText, loading, field, started} from "../ui.js";
import {go} from "../app.js";

const MONTH_PER_DAY = 3;
const DAY_NAMES = ["Lundi", "Mardi", "Mercredi", "Jeudi", "Vendredi", "Samedi", "Dimanche"];

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
  loading(main, `Chargement : ${title.toLowerCase()}…`);
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
  const now = Date.now();
  const toMark = (s) => s.status !== "cancelled" && started(s, now) && s.unmarked > 0;
  const state = (s) => (s.status === "cancelled" ? " cancelled" : "") +
    (new Date(s.ends_at).getTime() < now ? " past" : "") + (toMark(s) ? " to-mark" : "");
  const markBadge = (s) => toMark(s) ? h("span", {class: "badge to-mark"}, "présences à saisir") : null;
  const card = (s) => {
    const start = new Date(s.starts_at), end = new Date(s.ends_at);
    const venue = s.venue_id ? r.venue.get(s.venue_id) : null;
    const who = s.trainer_id ? r.person.get(s.trainer_id) : null;
    const full = s.remaining === 0;
    return h("li", {class: `session kind-${s.kind}${state(s)}`},
      h("a", {href: `#/seances/${s.id}`},
        h("span", {class: "time"}, `${timeOf(start)} – ${timeOf(end)}`), " ",
        h("strong", {}, s.title)),
      h("span", {class: "meta"}, KINDS[s.kind] + (s.parent_id ? " (partie)" : ""),
        venue ? ` · ${venue.name}` : s.online ? " · En ligne" : "", who ? ` · ${who.name}` : null),
      h("span", {class: `places${full ? " full" : ""}${s.waitlisted ? " waiting" : ""}`}, placesText(s)),
      markBadge(s));
  };
  // The month's line: the time and the title, the rest for the week view.
  const line = (s) => h("li", {class: `session line kind-${s.kind}${state(s)}`},
    h("a", {href: `#/seances/${s.id}`, title: `${s.title} — ${placesText(s)}`},
      h("span", {class: "time"}, timeOf(new Date(s.starts_at))), " ", s.title,
      s.remaining === 0 && s.status !== "cancelled" ? h("span", {class: "visually-hidden"}, " (complet)") : null,
      toMark(s) ? h("span", {class: "dot", title: "présences à saisir"}, " ●") : null,
      toMark(s) ? h("span", {class: "visually-hidden"}, " (présences à saisir)") : null));

  // Saturday and Sunday only when something happens on them.
  const shown = (days) => [...Array(7).keys()].filter((i) => i < 5 ||
    days.some((d) => (byDay.get(isoDay(addDays(d, i))) || []).length));
  let body;
  if (params.mode === "week") {
    const cols = shown([from]);
    body = h("div", {class: `week cols-${cols.length}`}, cols.map((i) => {
      const d = addDays(from, i), list = byDay.get(isoDay(d)) || [];
      return h("section", {class: "day", "aria-labelledby": `d-${isoDay(d)}`},
        h("h2", {id: `d-${isoDay(d)}`}, dayName(d)),
        list.length ? h("ul", {class: "sessions"}, list.map(card)) :
          h("p", {class: "empty"}, "Aucune séance"));
    }));
  } else {
    const first = startOfWeek(from);
    const weeks = [];
    for (let w = first; w <= to; w = addDays(w, 7)) weeks.push(w);
    const cols = shown(weeks);
    body = h("table", {class: `month cols-${cols.length}`},
      h("caption", {class: "visually-hidden"}, `Séances de ${title}`),
      h("thead", {}, h("tr", {}, cols.map((i) => h("th", {scope: "col"}, DAY_NAMES[i])))),
      h("tbody", {}, weeks.map((w) => h("tr", {}, cols.map((i) => {
        const d = addDays(w, i), list = byDay.get(isoDay(d)) || [];
        const inMonth = d.getMonth() === from.getMonth();
        const more = list.length - MONTH_PER_DAY;
        return h("td", {class: (inMonth ? "" : "out") + (list.length ? " busy" : "")},
          h("a", {class: "daynum", href: `#/semaine/${isoDay(d)}${qs()}`,
                  "aria-label": `${dayName(d)} : voir la semaine`}, String(d.getDate())),
          list.length ? h("ul", {class: "sessions"}, list.slice(0, more > 0 ? MONTH_PER_DAY - 1 : MONTH_PER_DAY).map(line)) : null,
          more > 0 ? h("a", {class: "more", href: `#/semaine/${isoDay(d)}${qs()}`},
            `+ ${more + 1} autres séances`) : null);
      })))));
  }
  const marks = sessions.filter(toMark).length;
  put(main, h("h1", {}, title),
    h("p", {class: "summary"}, `${sessions.length} séance${sessions.length > 1 ? "s" : ""}` +
      (trainer ? " que vous animez" : "") +
      (marks ? ` — présences à saisir pour ${marks} séance${marks > 1 ? "s" : ""}` : "")),
    filterForm, nav, body);
}
