-- The funders' table as rows, the same for every form (CSV, HTML, XLSX):
-- a list of tables {id, sheet (the workbook's sheet name), path, title,
-- rows = {{key, label, counts, shares}}, total} where counts has one number per period and the total last.
-- A share (%) goes beside each count: the count ÷ the table's total of
-- that column (for levels, ÷ the passes with a level, so that "unknown"
-- has none), rounded to 2 decimals.
local report = require "report"

local M = {}

local GENDER = {F = "Femmes", M = "Hommes", X = "Autre (X)", unknown = "Non renseigné"}
local LEVEL = {["1"] = "Niveau 1 — Découvrir les enjeux du numérique",
               ["2"] = "Niveau 2 — Maîtriser le numérique",
               ["3"] = "Niveau 3 — Augmenter son pouvoir d'agir grâce au numérique",
               unknown = "Sans niveau"}

local function bracket_label(k)
  if k == "unknown" then return "Non renseigné" end
  local lt = k:match("^<(%d+)$")
  if lt then return "Moins de " .. lt .. " ans" end
  local plus = k:match("^(%d+)%+$")
  if plus then return plus .. " ans et plus" end
  local a, b = k:match("^(%d+)%-(%d+)$")
  if a then return a .. " à " .. b .. " ans" end
  return k
end

function M.column_names(r)
  local names = {}
  for i, p in ipairs(r.periods) do names[i] = p.from .. ".." .. p.to end
  names[#names + 1] = "total"
  return names
end

-- The French heading of a column: "2020-01-01..2021-12-31" → "du 01/01/2020
-- au 31/12/2021".
function M.column_titles(r)
  local dates = require "dates"
  local names = {}
  for i, p in ipairs(r.periods) do
    names[i] = "du " .. dates.fr(p.from) .. " au " .. dates.fr(p.to)
  end
  names[#names + 1] = "Total"
  return names
end

local function rows(map, keys, labels)
  local out = {}
  for _, k in ipairs(keys) do
    out[#out + 1] = {key = k, label = labels and labels(k) or k, counts = map[k]}
  end
  return out
end

local function sorted_keys(map)
  local keys = {}
  for k in pairs(map) do if k ~= "unknown" then keys[#keys + 1] = k end end
  table.sort(keys)
  if map.unknown then keys[#keys + 1] = "unknown" end
  return keys
end

local function round2(x)
  return math.floor(x * 100 + 0.5) / 100
end

-- Shares of each row, per column, against DENOM (a list per column).
local function with_shares(t, denom)
  for _, row in ipairs(t.rows) do
    row.shares = {}
    for i, c in ipairs(row.counts) do
      local d = denom[i]
      row.shares[i] = (d and d > 0 and not (t.no_share and t.no_share[row.key]))
                      and round2(100 * c / d) or nil
    end
  end
  return t
end

function M.build(r)
  local n = #r.periods + 1
  local levels = {}
  for _, k in ipairs(report.LEVELS) do levels[k] = r.by_level[k].spent_by_period end
  local known = {}
  for i = 1, n do known[i] = levels["1"][i] + levels["2"][i] + levels["3"][i] end
  local list = {
    with_shares({id = "spent-gender", sheet = "Pass par genre", path = "spent.by_gender",
                 title = "Pass utilisés, par genre",
                 rows = rows(r.spent.by_gender, report.GENDERS, function(k) return GENDER[k] end)},
                r.spent.total),
    with_shares({id = "spent-age", sheet = "Pass par âge", path = "spent.by_age_bracket",
                 title = "Pass utilisés, par tranche d'âge",
                 rows = rows(r.spent.by_age_bracket, r.age_brackets, bracket_label)},
                r.spent.total),
    with_shares({id = "people-gender", sheet = "Personnes par genre",
                 path = "people.by_gender",
                 title = "Personnes (usagers uniques), par genre",
                 rows = rows(r.people.by_gender, report.GENDERS, function(k) return GENDER[k] end)},
                r.people.total),
    with_shares({id = "people-age", sheet = "Personnes par âge",
                 path = "people.by_age_bracket",
                 title = "Personnes (usagers uniques), par tranche d'âge",
                 rows = rows(r.people.by_age_bracket, r.age_brackets, bracket_label)},
                r.people.total),
    with_shares({id = "levels", sheet = "Pass par niveau", path = "by_level",
                 title = "Pass utilisés, par niveau APTIC",
                 rows = rows(levels, report.LEVELS, function(k) return LEVEL[k] end),
                 no_share = {unknown = true}}, known),
    with_shares({id = "services", sheet = "Pass par service", path = "by_service",
                 title = "Pass utilisés, par service",
                 rows = rows(r.by_service, sorted_keys(r.by_service), function(k)
                   return k == "unknown" and "Non renseigné" or k end)},
                r.spent.total),
  }
  -- Each table's total row: the block's total (people and passes), or the
  -- passes with a level.
  local totals = {r.spent.total, r.spent.total, r.people.total, r.people.total, known,
                  r.spent.total}
  for i, t in ipairs(list) do t.total = totals[i] end
  return list
end

return M
