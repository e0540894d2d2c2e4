-- The Pix framework (formats.md §1.4): competence names as exports print
-- them (without their code) → code. Names are compared folded (lower case,
-- no accents, typographic apostrophes made plain), see key().
local M = {}

local names = {
  ["1.1"] = "Mener une recherche et une veille d’information",
  ["1.2"] = "Gérer des données",
  ["1.3"] = "Traiter des données",
  ["2.1"] = "Interagir",
  ["2.2"] = "Partager et publier",
  ["2.3"] = "Collaborer",
  ["2.4"] = "S’insérer dans le monde numérique",
  ["3.1"] = "Développer des documents textuels",
  ["3.2"] = "Développer des documents multimédia",
  ["3.3"] = "Adapter les documents à leur finalité",
  ["3.4"] = "Programmer",
  ["4.1"] = "Sécuriser l’environnement numérique",
  ["4.2"] = "Protéger les données personnelles et la vie privée",
  ["4.3"] = "Protéger la santé, le bien-être et l’environnement",
  ["5.1"] = "Résoudre des problèmes techniques",
  ["5.2"] = "Construire un environnement numérique",
}

-- A label or name as compared: apostrophes plain, folded, trimmed.
function M.key(s)
  s = s:gsub("\u{2019}", "'"):gsub("\u{2018}", "'"):gsub("\u{00A0}", " ")
  return relais.fold(s)
end

local by_key = {}
for code, name in pairs(names) do by_key[M.key(name)] = code end

-- The code of a competence name, or nil outside the framework.
function M.code(name)
  return by_key[M.key(name)]
end

M.names = names
return M
