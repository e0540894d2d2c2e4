-- A beneficiary's Pix results, latest first, and the workshop level they
-- suggest (README.md, "Suggested level").
local M = {}

local null = relais.json.null

-- Pix levels 1–2 are "novice", 3–4 "independent" (the framework's own
-- grouping). The mean level over the competences of the latest results
-- that carry levels: below 1 (nothing validated yet) → level 1, the
-- discovery workshops; below 3 (novice) → level 2; else (independent or
-- better) → level 3.
function M.suggest(levels)
  if #levels == 0 then return nil end
  local sum = 0
  for _, l in ipairs(levels) do sum = sum + l end
  local mean = sum / #levels
  if mean < 1 then return 1 elseif mean < 3 then return 2 end
  return 3
end

-- Items and suggested level, or nil when there is no such (living) person.
function M.of(id)
  local who = assert(relais.db.query(
    "SELECT id FROM relais_v1_people WHERE id = ? AND erased_at IS NULL", id))
  if not who[1] then return nil end
  local parts = assert(relais.db.query([[
    SELECT id, campaign, campaign_code, date, total_pix, mastery FROM pix_participations
    WHERE beneficiary_id = ? ORDER BY date DESC, id DESC]], id))
  local comps = assert(relais.db.query([[
    SELECT c.participation_id AS pid, c.code, c.name, c.level, c.pix, c.mastery
    FROM pix_competences c JOIN pix_participations p ON p.id = c.participation_id
    WHERE p.beneficiary_id = ? ORDER BY c.participation_id, c.position]], id))
  local by_part = {}
  for _, c in ipairs(comps) do
    local l = by_part[c.pid] or {}
    by_part[c.pid] = l
    l[#l + 1] = {code = c.code or null, name = c.name, level = c.level or null,
                 pix = c.pix or null, mastery = c.mastery or null}
  end
  local items, suggested = {}, nil
  for i, p in ipairs(parts) do
    local cl = by_part[p.id] or {}
    items[i] = {campaign = p.campaign, campaign_code = p.campaign_code or null,
                date = relais.time.rfc3339(p.date), total_pix = p.total_pix or null,
                mastery = p.mastery or null, competences = cl}
    if suggested == nil then
      local levels = {}
      for _, c in ipairs(cl) do
        if c.level ~= null then levels[#levels + 1] = c.level end
      end
      suggested = M.suggest(levels)
    end
  end
  return items, suggested
end

return M
