-- The header line of a Pix Orga export: which column holds what. Labels
-- are matched after removing the formula guard and folding (case, accents,
-- apostrophes), old and new labels alike; columns not known are ignored.
local framework = require "framework"
local M = {}

-- Pix writes a string starting with - @ = + as '-… inside the quotes.
function M.unguard(s)
  if s:byte(1) == 39 then
    local c = s:byte(2)
    if c == 45 or c == 64 or c == 61 or c == 43 then return s:sub(2) end
  end
  return s
end

-- Labels as Pix writes them, old and new, → role. Compared folded.
local labels = {
  ["Nom de l'organisation"] = "organisation",
  ["ID Campagne"] = "campaign_id",
  ["Code"] = "code",
  ["Nom de la campagne"] = "campaign",
  ["Parcours"] = "target", ["Nom du Profil Cible"] = "target",
  ["Nom du Participant"] = "last_name",
  ["Prénom du Participant"] = "first_name",
  -- assessment
  ["% de progression"] = "progress",
  ["Date de début"] = "started",
  ["Partage (O/N)"] = "shared",
  ["Date du partage"] = "shared_at",
  ["% maitrise de l'ensemble des acquis du profil"] = "mastery",
  -- profile collection
  ["Envoi (O/N)"] = "sent",
  ["Date de l'envoi"] = "sent_day",
  ["Date et heure de l'envoi (Europe/Paris)"] = "sent_at",
  ["Nombre de pix total"] = "total_pix",
  ["Certifiable (O/N)"] = "certifiable",
  ["Nombre de compétences certifiables"] = "certifiable_count",
}
local fixed = {}
for label, role in pairs(labels) do fixed[framework.key(label)] = role end

-- Columns that are Pix's own results: the first of them after the
-- participant's first name ends the optional columns (§1.1).
local pix_column = {progress = true, started = true, shared = true, shared_at = true,
                    mastery = true, sent = true, sent_day = true, sent_at = true,
                    total_pix = true, certifiable = true, certifiable_count = true}

local prefixes = {
  {framework.key("% de maitrise des acquis de la compétence") .. " ", "c_mastery"},
  {framework.key("Niveau pour la compétence") .. " ", "c_level"},
  {framework.key("Nombre de pix pour la compétence") .. " ", "c_pix"},
}

-- The required columns, by the name Pix gives them (for the messages).
local NEEDED = {campaign_id = "ID Campagne", campaign = "Nom de la campagne",
                last_name = "Nom du Participant", first_name = "Prénom du Participant"}

-- FIELDS: the header record. EXT_LABEL: ?external_id_column, or nil.
-- Returns the plan {col = {name = index}, comps = {{name, code, level =,
-- pix =, mastery =}}, ext = index or nil, kind, width}, or nil, reason.
function M.plan(fields, ext_label)
  local plan = {col = {}, comps = {}, width = #fields}
  local comp_by_key = {}
  local first_pix
  for i, raw in ipairs(fields) do
    local label = M.unguard(raw)
    local key = framework.key(label)
    local role = fixed[key]
    if role then
      if not plan.col[role] then plan.col[role] = i end
      if pix_column[role] and plan.col.first_name and i > plan.col.first_name
         and not first_pix then
        first_pix = i
      end
    else
      for _, p in ipairs(prefixes) do
        if key:sub(1, #p[1]) == p[1] then
          local ckey = key:sub(#p[1] + 1)
          local c = comp_by_key[ckey]
          if not c then
            -- The name as written in the header, after the prefix.
            local name = label:match("[Cc]omp\u{00E9}tence%s+(.+)$")
                         or label:match("[Cc]ompetence%s+(.+)$") or label
            c = {name = name, code = framework.code(name)}
            comp_by_key[ckey] = c
            plan.comps[#plan.comps + 1] = c
          end
          c[p[2]:sub(3)] = i
          break
        end
      end
    end
  end
  for _, need in ipairs{"campaign_id", "campaign", "last_name", "first_name"} do
    if not plan.col[need] then
      return nil, "ce n'est pas un export de Pix Orga : une colonne manque dans l'en-tête ("
                  .. NEEDED[need] .. ")"
    end
  end
  if plan.col.sent or plan.col.total_pix then
    plan.kind = "profiles"
    if not (plan.col.sent_day or plan.col.sent_at) then
      return nil, "ce n'est pas un export de Pix Orga : la colonne de la date d'envoi manque"
    end
  elseif plan.col.shared then
    plan.kind = "assessment"
    if not plan.col.shared_at then
      return nil, "ce n'est pas un export de Pix Orga : la colonne de la date de partage manque"
    end
  else
    return nil, "ce n'est pas un export de Pix Orga : ni une campagne d'évaluation, ni une "
                .. "collecte de profils"
  end
  if ext_label then
    local want = framework.key(ext_label)
    for i, raw in ipairs(fields) do
      if framework.key(M.unguard(raw)) == want then plan.ext = i break end
    end
    if not plan.ext then
      return nil, "aucune colonne de l'en-tête ne porte le nom donné par external_id_column"
    end
  elseif first_pix and first_pix - 1 > plan.col.first_name then
    plan.ext = first_pix - 1
  end
  return plan
end

return M
