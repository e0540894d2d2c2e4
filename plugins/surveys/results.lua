-- The results: per session (GET /api/v1/sessions/{id}/survey) and per
-- trainer (GET /api/v1/staff/{id}/survey), as JSON or CSV.
--
--   invited    people sent the survey: enrollments with a survey
--              notification sent or delivered (on any channel), so that
--              responses ÷ invited is the response rate
--   responses  answers received (each answers at least one question)
--   questions  the score questions of the questionnaire, in its order:
--              counts of 1, 2, 3, 4 and the mean (2 decimals; null
--              without answers)
--   comments   the text answers {question = id, label, text}, by question
--              in the questionnaire's order, then oldest first (label: the
--              question as it was asked, so that a comment is read with it)
--
-- A training's survey is asked once for the whole training: the results of
-- a part are its training's. A trainer sees a session they lead, or whose
-- training, or one of whose parts, they lead; per trainer, the sessions
-- (not cancelled, not parts) that they lead or of which they lead a part.

local questions = require "questions"

local M = {}

local function round2(x)
  return math.floor(x * 100 + 0.5) / 100
end

-- SESSIONS_SQL selects the ids of the sessions counted; ARGS are its
-- parameters (it is a fixed text: no input is ever put into SQL).
local function tally(qs, sessions_sql, args)
  local function q(sql)
    return assert(relais.db.query(sql, table.unpack(args, 1, args.n)))
  end
  local invited = q("SELECT COUNT(DISTINCT enrollment_id) AS n FROM relais_v1_notifications"
                    .. " WHERE kind = 'survey' AND status IN ('sent', 'delivered')"
                    .. " AND session_id IN (" .. sessions_sql .. ")")[1].n
  local responses = q("SELECT COUNT(*) AS n FROM surveys_responses"
                      .. " WHERE session_id IN (" .. sessions_sql .. ")")[1].n
  local counts = {}
  for _, row in ipairs(q("SELECT a.question_id, a.score, COUNT(*) AS n"
                         .. " FROM surveys_answers a JOIN surveys_responses r"
                         .. " ON r.enrollment_id = a.enrollment_id"
                         .. " WHERE a.score IS NOT NULL AND r.session_id IN (" .. sessions_sql
                         .. ") GROUP BY a.question_id, a.score")) do
    counts[row.question_id] = counts[row.question_id] or {0, 0, 0, 0}
    counts[row.question_id][row.score] = row.n
  end
  local texts = {}
  for _, row in ipairs(q("SELECT a.question_id, a.text FROM surveys_answers a"
                         .. " JOIN surveys_responses r ON r.enrollment_id = a.enrollment_id"
                         .. " WHERE a.text IS NOT NULL AND r.session_id IN (" .. sessions_sql
                         .. ") ORDER BY r.answered_at, r.enrollment_id")) do
    texts[row.question_id] = texts[row.question_id] or {}
    table.insert(texts[row.question_id], row.text)
  end
  local out = {invited = invited, responses = responses, questions = {}, comments = {}}
  for _, qq in ipairs(qs) do
    if qq.type == "score" then
      local c = counts[qq.id] or {0, 0, 0, 0}
      local n = c[1] + c[2] + c[3] + c[4]
      local mean = relais.json.null
      if n > 0 then
        mean = round2((c[1] + 2 * c[2] + 3 * c[3] + 4 * c[4]) / n)
      end
      table.insert(out.questions, {id = qq.id, label = qq.label, counts = c, mean = mean})
    else
      for _, t in ipairs(texts[qq.id] or {}) do
        table.insert(out.comments, {question = qq.id, label = qq.label, text = t})
      end
    end
  end
  return out
end

-- --- CSV -------------------------------------------------------------------

-- RFC 4180 quoting, and a leading apostrophe on a text a spreadsheet would
-- run as a formula (comments are written by anyone holding a link).
local function cell(v)
  if v == nil or v == relais.json.null then
    return ""
  end
  local s = tostring(v)
  if type(v) == "string" and s:match("^[=+%-@\t\r]") then
    s = "'" .. s
  end
  if s:find('[,"\r\n]') then
    s = '"' .. s:gsub('"', '""') .. '"'
  end
  return s
end

local function line(cells)
  local out = {}
  for i, v in ipairs(cells) do
    out[i] = cell(v)
  end
  return table.concat(out, ",") .. "\r\n"
end

-- Two tables one after the other, separated by an empty line: the score
-- questions (counts and mean), then the comments.
local function csv(res, filename)
  local out = {line{"question", "label", "1", "2", "3", "4", "mean"}}
  for _, q in ipairs(res.questions) do
    local mean = q.mean
    if mean ~= relais.json.null then
      mean = string.format("%.2f", mean)
    end
    out[#out + 1] = line{q.id, q.label, q.counts[1], q.counts[2], q.counts[3], q.counts[4], mean}
  end
  out[#out + 1] = "\r\n"
  out[#out + 1] = line{"question", "text"}
  for _, c in ipairs(res.comments) do
    out[#out + 1] = line{c.question, c.text}
  end
  return {status = 200, body = table.concat(out), headers = {
    ["Content-Type"] = "text/csv; charset=utf-8",
    ["Content-Disposition"] = 'attachment; filename="' .. filename .. '"'}}
end

local function wants_csv(req)
  local f = req.query.format
  if f == "csv" then
    return true
  end
  if f == "json" then
    return false
  end
  return (req.headers.accept or ""):lower():find("text/csv", 1, true) ~= nil
end

-- relais.json.encode writes an empty table as {}: the lists are spliced in
-- so that an empty one is [] as the contract says.
local function list_json(t)
  return #t > 0 and relais.json.encode(t) or "[]"
end

local function json(res)
  local parts = {string.format('{"invited":%d,"responses":%d', res.invited, res.responses)}
  if res.sessions then
    parts[#parts + 1] = string.format(',"sessions":%d', res.sessions)
  end
  parts[#parts + 1] = ',"questions":' .. list_json(res.questions)
  parts[#parts + 1] = ',"comments":' .. list_json(res.comments) .. "}"
  return {status = 200, body = table.concat(parts),
          headers = {["Content-Type"] = "application/json"}}
end

local function reply(req, res, filename)
  if req.query.format ~= nil and req.query.format ~= "csv" and req.query.format ~= "json" then
    return relais.problem(400, "'format' must be \"json\" or \"csv\"")
  end
  if wants_csv(req) then
    return csv(res, filename)
  end
  return json(res)
end

local function id_param(req)
  local s = req.params.id
  if not s:match("^[1-9]%d*$") or #s > 15 then
    return nil
  end
  return tonumber(s)
end

-- --- per session ------------------------------------------------------------

local ONE_SESSION = "SELECT ?"

function M.session(req, by_kind)
  local id = id_param(req)
  if not id then
    return relais.problem(404, "no such session")
  end
  local s = assert(relais.db.query("SELECT id, kind, parent_id, trainer_id FROM relais_v1_sessions"
                                   .. " WHERE id = ?", id))[1]
  if not s then
    return relais.problem(404, "no such session")
  end
  local root = s
  if s.parent_id then
    root = assert(relais.db.query("SELECT id, kind, trainer_id FROM relais_v1_sessions WHERE id = ?",
                                  s.parent_id))[1]
  end
  if req.role == "trainer" then
    local mine = req.staff_id ~= nil and assert(relais.db.query(
      "SELECT 1 AS yes FROM relais_v1_sessions WHERE (id = ? OR parent_id = ?) AND trainer_id = ?",
      root.id, root.id, req.staff_id))[1] ~= nil
    if not mine then
      return relais.problem(403, "a trainer sees the surveys of their own sessions only")
    end
  end
  local res = tally(by_kind[root.kind], ONE_SESSION, {root.id, n = 1})
  return reply(req, res, string.format("survey-session-%d.csv", root.id))
end

-- --- per trainer ------------------------------------------------------------

-- "2026-01-01" (a local date: its first second for FROM, its last for TO)
-- or an RFC 3339 time. nil when S is neither.
local function bound(s, is_to)
  local y, m, d = s:match("^(%d%d%d%d)-(%d%d)-(%d%d)$")
  if y then
    y, m, d = tonumber(y), tonumber(m), tonumber(d)
    -- The process runs in the configured zone: os.time is local time.
    local t = os.time{year = y, month = m, day = d + (is_to and 1 or 0), hour = 0}
    local back = os.date("*t", os.time{year = y, month = m, day = d, hour = 12})
    if back.year ~= y or back.month ~= m or back.day ~= d then
      return nil
    end
    return is_to and t - 1 or t
  end
  return (relais.time.parse(s))
end

local TRAINER_SESSIONS =
  "SELECT s.id FROM relais_v1_sessions s WHERE s.parent_id IS NULL AND s.status <> 'cancelled'"
  .. " AND s.starts_at >= ? AND s.starts_at <= ?"
  .. " AND (s.trainer_id = ? OR EXISTS (SELECT 1 FROM relais_v1_sessions p"
  .. "      WHERE p.parent_id = s.id AND p.trainer_id = ?))"

local MAX_TIME = 253402300799    -- 9999-12-31T23:59:59Z

function M.trainer(req, by_kind)
  local id = id_param(req)
  if not id or not assert(relais.db.query("SELECT id FROM relais_v1_staff WHERE id = ?", id))[1] then
    return relais.problem(404, "no such staff member")
  end
  if req.role == "trainer" and req.staff_id ~= id then
    return relais.problem(403, "a trainer sees their own survey results only")
  end
  local from, to = -MAX_TIME, MAX_TIME
  for _, k in ipairs{"from", "to"} do
    local v = req.query[k]
    if v ~= nil then
      local t = type(v) == "string" and bound(v, k == "to")
      if not t then
        return relais.problem(422, string.format(
          "'%s' must be an RFC 3339 time or a date YYYY-MM-DD", k))
      end
      if k == "from" then from = t else to = t end
    end
  end
  local args = {from, to, id, id, n = 4}
  local kinds, n = {}, 0
  for _, row in ipairs(assert(relais.db.query(
      "SELECT kind, COUNT(*) AS n FROM (" .. TRAINER_SESSIONS .. ") t"
      .. " JOIN relais_v1_sessions USING (id) GROUP BY kind", table.unpack(args, 1, 4)))) do
    kinds[row.kind] = true
    n = n + row.n
  end
  -- Without any session, the default questionnaire (all counts 0).
  local qs = n > 0 and questions.union(by_kind, kinds) or questions.DEFAULT
  local res = tally(qs, TRAINER_SESSIONS, args)
  res.sessions = n
  return reply(req, res, string.format("survey-staff-%d.csv", id))
end

return M
