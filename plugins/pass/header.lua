-- The header of an APTIC export: which column holds what. Labels are
-- compared folded (case, accents) and without anything but letters and
-- digits ("N° pass" is "npass"), so that the platform's labels and what a
-- coordinator typed or Excel rewrote are found alike. Each role takes the
-- column of its most specific label: "Numéro du pass" before "Pass".
local M = {}

-- Role → labels, the most specific first. The contract's labels, and the
-- others the platform and the programme's spreadsheets use.
M.LABELS = {
  pass = {"Numéro du pass", "Numéro de pass", "Numéro du chèque", "Numéro de chèque",
          "N° du pass", "N° de pass", "N° pass", "N° du chèque", "N° de chèque", "N° chèque",
          "Identifiant du pass", "Code du pass", "Pass", "Chèque"},
  date = {"Date de scan", "Date du scan", "Date et heure du scan", "Date d'utilisation",
          "Date de validation", "Scanné le", "Date"},
  venue = {"Nom du lieu", "Lieu", "Lieu de scan", "Nom de la structure", "Structure",
           "Lieu qualifié", "Établissement"},
  siret = {"SIRET", "N° SIRET", "Numéro SIRET", "SIRET du lieu", "SIRET de la structure"},
  service = {"Service", "Prestation", "Service réalisé", "Nom du service"},
  level = {"Niveau", "Niveau du service", "Niveau APTIC", "Niveau du pass"},
  amount = {"Montant", "Valeur", "Montant (€)", "Montant en euros", "Valeur faciale"},
}

function M.key(label)
  return (relais.fold(label):gsub("[^%w]", ""))
end

local rank = {}   -- key → {role, rank}
for role, labels in pairs(M.LABELS) do
  for i, label in ipairs(labels) do rank[M.key(label)] = {role, i} end
end

-- FIELDS: one record. Returns {role = column index} when it holds a pass
-- number column, else nil.
function M.plan(fields)
  local col, best = {}, {}
  for i, raw in ipairs(fields) do
    if #raw <= 200 then
      local r = rank[M.key(raw)]
      if r and (not best[r[1]] or r[2] < best[r[1]]) then
        col[r[1]], best[r[1]] = i, r[2]
      end
    end
  end
  if not col.pass then return nil end
  return col
end

return M
