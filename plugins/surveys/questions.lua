-- The questionnaires: the contract's default one, and per session kind the
-- lists of the config's surveys = {workshop = {…}, training = {…}} table,
-- checked once at load (a wrong entry stops the plugin with the key named).
-- A kind without its own list uses the default. Question ids are what the
-- answers are stored under: keep them when a label is reworded.

local M = {}

M.DEFAULT = {
  {id = "content", label = "Le contenu de l'atelier", type = "score"},
  {id = "clarity", label = "La clarté du formateur ou de la formatrice", type = "score"},
  {id = "exchanges", label = "Les échanges et l'ambiance du groupe", type = "score"},
  {id = "overall", label = "Dans l'ensemble, la séance vous a plu ?", type = "score"},
  {id = "liked", label = "Ce que vous avez aimé", type = "text"},
  {id = "liked_less", label = "Ce que vous avez moins aimé", type = "text"},
  {id = "next", label = "Ce que vous aimeriez apprendre ensuite", type = "text"},
}

M.KINDS = {"workshop", "permanence", "training"}
local MAX_QUESTIONS = 20
local MAX_LABEL = 300

local function bad(fmt, ...)
  error(string.format(fmt, ...), 0)
end

local function check_list(kind, list)
  if type(list) ~= "table" or #list == 0 then
    bad("'surveys.%s' must be a list of questions {id = …, label = …, type = \"score\"|\"text\"}",
        kind)
  end
  if #list > MAX_QUESTIONS then
    bad("'surveys.%s' lists more than %d questions", kind, MAX_QUESTIONS)
  end
  local seen, out = {}, {}
  for i, q in ipairs(list) do
    local name = string.format("surveys.%s[%d]", kind, i)
    if type(q) ~= "table" then
      bad("'%s' must be a table {id = …, label = …, type = …}", name)
    end
    for k in pairs(q) do
      if k ~= "id" and k ~= "label" and k ~= "type" then
        bad("unknown key '%s.%s'", name, tostring(k))
      end
    end
    -- The id is a form field name and an HTML id: keep it plain.
    if type(q.id) ~= "string" or not q.id:match("^[a-z][a-z0-9_]*$") or #q.id > 32 then
      bad("'%s.id' must be a name of up to 32 letters a-z, digits and _", name)
    end
    if seen[q.id] then
      bad("'%s.id' repeats \"%s\"", name, q.id)
    end
    seen[q.id] = true
    if type(q.label) ~= "string" or q.label == "" or #q.label > MAX_LABEL
       or not utf8.len(q.label) then
      bad("'%s.label' must be a text of up to %d bytes", name, MAX_LABEL)
    end
    if q.type ~= "score" and q.type ~= "text" then
      bad("'%s.type' must be \"score\" or \"text\"", name)
    end
    out[#out + 1] = {id = q.id, label = q.label, type = q.type}
  end
  return out
end

-- Returns {kind = list} for every kind (the default where none is given).
function M.load(raw)
  local known, by_kind = {}, {}
  for _, k in ipairs(M.KINDS) do
    known[k] = true
  end
  for k in pairs(raw or {}) do
    if not known[k] then
      bad("unknown key 'surveys.%s': session kinds are workshop, permanence, training",
          tostring(k))
    end
  end
  for _, k in ipairs(M.KINDS) do
    by_kind[k] = raw[k] ~= nil and check_list(k, raw[k]) or M.DEFAULT
  end
  return by_kind
end

-- The questions of several kinds at once (results per trainer): each id
-- once, in the order first met, kinds in M.KINDS order.
function M.union(by_kind, kinds)
  local out, seen = {}, {}
  for _, k in ipairs(M.KINDS) do
    if kinds[k] then
      for _, q in ipairs(by_kind[k]) do
        if not seen[q.id] then
          seen[q.id] = true
          out[#out + 1] = q
        end
      end
    end
  end
  return out
end

return M
