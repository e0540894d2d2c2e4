-- The public pages of /s/{token}: the questionnaire (GET) and its answer
-- (POST). Like the appointment pages of core/domain/pages.c: French, no script,
-- the same security headers, every value escaped by relais.template, and
-- the same 404 whatever is wrong with the token (never existed, an /r/
-- token, a person erased since).
--
-- Plain words for people who read with difficulty: no "satisfait·e" forms,
-- short sentences. A submission with no answer at all is refused (422) and
-- stores nothing, so the link still works.
--
-- Who may answer: the person behind the link, once, if they were marked
-- attended (for a training: its enrollment, or one of its parts). Someone
-- whose attendance was changed to absent after the invitation left gets a
-- 403 page. Nothing personal is logged: enrollment ids only.

local M = {}

local MAX_TEXT = 1000      -- characters of a free-text answer

local HEADERS = {
  ["Content-Type"] = "text/html; charset=utf-8",
  ["Cache-Control"] = "no-store",
  ["Referrer-Policy"] = "no-referrer",
  ["X-Frame-Options"] = "DENY",
  ["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
}

local function page(status, title, content)
  return {status = status, headers = HEADERS,
          body = relais.template("page.html", {title = title, content = content})}
end

local function message(status, title, text, back)
  return page(status, title, relais.template("message.html", {text = text, back = back}))
end

local function not_found()
  return message(404, "Lien introuvable",
                 "Ce lien ne marche pas. Vérifiez qu'il est complet, ou demandez de l'aide "
                 .. "à la personne qui vous accompagne.")
end

local function already()
  return message(409, "Merci, c'est déjà fait",
                 "Vos réponses à ce questionnaire sont déjà enregistrées. Merci pour votre avis !")
end

local OUR = {workshop = "nos ateliers", permanence = "nos permanences",
             training = "nos formations"}

local function expired()
  return message(410, "Lien expiré",
                 "Ce lien n'est plus valable : la séance dont il parle est passée depuis "
                 .. "longtemps. Merci quand même de votre intérêt !")
end

-- The enrollment behind a survey token, with what the pages show, or nil
-- (and "expired" for a link past its time: links = {expire_after = …}).
local function resolve(token)
  local eid, err = relais.links.lookup("s", token)
  if err == "expired" then
    return nil, err
  elseif err then
    error("links lookup failed", 0)
  end
  if not eid then
    return nil
  end
  local rows = assert(relais.db.query(
    "SELECT e.id, e.status, b.first_name, b.erased_at IS NOT NULL AS erased,"
    .. " s.id AS session_id, s.kind, s.title, s.starts_at,"
    .. " EXISTS (SELECT 1 FROM relais_v1_enrollments c WHERE c.parent_id = e.id"
    .. "         AND c.status = 'attended') AS part_attended,"
    .. " EXISTS (SELECT 1 FROM surveys_responses r WHERE r.enrollment_id = e.id) AS answered"
    .. " FROM relais_v1_enrollments e JOIN relais_v1_people b ON b.id = e.beneficiary_id"
    .. " JOIN relais_v1_sessions s ON s.id = e.session_id WHERE e.id = ?", eid))
  local v = rows[1]
  if not v or v.erased == 1 then
    return nil
  end
  v.attended = v.status == "attended" or v.part_attended == 1
  return v
end

local function not_attended()
  return message(403, "Questionnaire réservé",
                 "Ce questionnaire est réservé aux personnes présentes à la séance. "
                 .. "Si vous étiez là, dites-le à la personne qui anime la séance.")
end

function M.show(req, by_kind)
  local v, why = resolve(req.params.token)
  if why == "expired" then
    return expired()
  elseif not v then
    return not_found()
  end
  if v.answered == 1 then
    return message(200, "Merci, c'est déjà fait",
                   "Vos réponses à ce questionnaire sont déjà enregistrées. Merci pour votre avis !")
  end
  if not v.attended then
    return not_attended()
  end
  local parts = {}
  for _, q in ipairs(by_kind[v.kind]) do
    if q.type == "score" then
      parts[#parts + 1] = relais.template("score.html", q)
    else
      parts[#parts + 1] = relais.template("text.html",
                                          {id = q.id, label = q.label, max = MAX_TEXT})
    end
  end
  return page(200, "Votre avis", relais.template("form.html", {
    first_name = v.first_name, session_title = v.title,
    when = relais.time.fr(v.starts_at), our_sessions = OUR[v.kind],
    token = req.params.token, questions = table.concat(parts)}))
end

-- Linear whatever the text: no pattern here backtracks over a run of
-- spaces (gsub("%s+$", "") tried it from every space of the run: a 60 KB
-- answer of spaces held the server for half a minute).
local function trim(s)
  if not s:find("%S") then
    return ""
  end
  return s:match("^%s*(.*%S)")
end

-- The answers of FORM for QUESTIONS: a list of {id, score | text}, or nil
-- and the label of the first question whose answer is not acceptable (a
-- browser never sends one: someone wrote the request by hand).
local function collect(questions, form)
  local out = {}
  for _, q in ipairs(questions) do
    local v = form[q.id]
    if type(v) == "table" then
      return nil, q.label
    end
    -- Longer than MAX_TEXT characters of 4 bytes each: refused before any
    -- pattern reads it.
    if type(v) == "string" and #v > MAX_TEXT * 4 then
      return nil, q.label
    end
    if v ~= nil and v ~= "" then
      if q.type == "score" then
        if not v:match("^[1-4]$") then
          return nil, q.label
        end
        out[#out + 1] = {id = q.id, score = tonumber(v)}
      else
        v = trim(v:gsub("\r\n?", "\n"))
        local n = utf8.len(v)
        if not n or n > MAX_TEXT then
          return nil, q.label
        end
        if v ~= "" then
          out[#out + 1] = {id = q.id, text = v}
        end
      end
    end
  end
  return out
end

local function form_body(req)
  if req.body == "" then
    return true
  end
  local ct = (req.headers["content-type"] or ""):lower():match("^%s*([^;%s]+)")
  return ct == "application/x-www-form-urlencoded"
end

function M.answer(req, by_kind)
  local token = req.params.token
  if not form_body(req) then
    return message(415, "Demande non comprise",
                   "Pour répondre, utilisez le bouton du questionnaire.", token)
  end
  local v, why = resolve(token)
  if why == "expired" then
    return expired()
  elseif not v then
    return not_found()
  end
  if v.answered == 1 then
    return already()
  end
  if not v.attended then
    return not_attended()
  end
  local answers, which = collect(by_kind[v.kind], req.form or {})
  if not answers then
    return message(422, "Réponse non comprise",
                   "La réponse à la question « " .. which .. " » n'est pas valable : "
                   .. "choisissez une note de 1 à 4, ou écrivez au plus "
                   .. MAX_TEXT .. " caractères.", token)
  end
  -- Nothing answered at all (a tap on the button by mistake): not a
  -- response, and the link stays usable for the real one.
  if #answers == 0 then
    return message(422, "Aucune réponse",
                   "Vous n'avez répondu à aucune question. Choisissez au moins une note, "
                   .. "ou écrivez quelques mots, puis envoyez.", token)
  end
  -- The route runs in the request's transaction: all of it or nothing. The
  -- conflict clause makes a second answer racing this one a 409, not a 500.
  local n = assert(relais.db.exec(
    "INSERT INTO surveys_responses (enrollment_id, session_id, kind, answered_at)"
    .. " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
    v.id, v.session_id, v.kind, relais.now()))
  if n ~= 1 then
    return already()
  end
  for _, a in ipairs(answers) do
    assert(relais.db.exec("INSERT INTO surveys_answers (enrollment_id, question_id, score, text)"
                          .. " VALUES (?, ?, ?, ?)", v.id, a.id, a.score, a.text))
  end
  relais.log.info("survey answered for enrollment %d (%d answers)", v.id, #answers)
  return message(200, "Merci !", "Vos réponses sont enregistrées. Merci d'avoir pris le temps "
                 .. "de donner votre avis : il nous aide à améliorer " .. OUR[v.kind] .. ".")
end

return M
