// Venues and staff, read once per sign-in and on demand after a change:
// every view names them, and they change rarely.
import {getAll} from "./api.js";

let cache = null;
export async function refs(force) {
  if (!cache || force) {
    const [venues, staff] = await Promise.all([getAll("/venues"), getAll("/staff")]);
    cache = {venues, staff, venue: new Map(venues.map((v) => [v.id, v])),
             person: new Map(staff.map((s) => [s.id, s]))};
  }
  return cache;
}
export const forget = () => { cache = null; };
