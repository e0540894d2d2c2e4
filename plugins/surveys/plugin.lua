-- Satisfaction surveys (plugins/API.md; contract: "Surveys").
--
-- The invitation is the core's: after a session ends (config survey.after)
-- the outbox sends a `survey` notification to everyone marked attended,
-- with the link public_url/s/TOKEN (a token for this purpose only). This
-- plugin serves that link (form.lua) and the results (results.lua). The
-- questionnaire is the contract's default, or per session kind the list of
-- the config's surveys = {…} table (questions.lua).

local questions = require "questions"
local form = require "form"
local results = require "results"

local by_kind = questions.load(relais.config)

relais.route("GET", "/s/{token}", function(req)
  return form.show(req, by_kind)
end)

relais.route("POST", "/s/{token}", function(req)
  return form.answer(req, by_kind)
end)

local READERS = {"admin", "coordinator", "trainer"}

relais.route("GET", "/api/v1/sessions/{id}/survey", function(req)
  return results.session(req, by_kind)
end, READERS)

relais.route("GET", "/api/v1/staff/{id}/survey", function(req)
  return results.trainer(req, by_kind)
end, READERS)

local custom = {}
for _, k in ipairs(questions.KINDS) do
  if by_kind[k] ~= questions.DEFAULT then
    custom[#custom + 1] = k
  end
end
relais.log.info("questionnaires: %s", #custom > 0 and "own for " .. table.concat(custom, ", ")
                                      or "the default for every kind")

-- Right to erasure: free-text answers may name the person or others, so
-- they go; the scores stay, as the anonymous counts of the core do.
relais.on("beneficiary.erased", function(ev)
  relais.db.exec("DELETE FROM surveys_answers WHERE text IS NOT NULL AND enrollment_id IN"
                 .. " (SELECT id FROM relais_v1_enrollments WHERE beneficiary_id = ?)", ev.id)
end)
