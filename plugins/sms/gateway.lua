-- What the Twilio and Brevo senders share: turning a gateway's answer into a
-- channel result, and keeping personal data out of the reasons we record.

local M = {}

local MAX_REASON = 200

-- A gateway's message may quote the recipient ("The 'To' number +336… is
-- not a valid phone number"): the number and any long run of digits (another
-- way of writing it) are masked, and the text is cut, since the reason is
-- stored, listed by the API and logged.
function M.scrub(s, to)
  if type(s) ~= "string" then
    return ""
  end
  if type(to) == "string" and to ~= "" then
    local plain = to:gsub("^%+", "")
    s = s:gsub(to:gsub("%p", "%%%0"), "[number]")
    s = s:gsub(plain:gsub("%p", "%%%0"), "[number]")
  end
  s = s:gsub("%+?%d[%d .%-]*%d", function(run)
    local digits = run:gsub("%D", "")
    if #digits >= 6 then
      return "[number]"
    end
    return run
  end)
  s = s:gsub("[%c]", " ")
  if #s > MAX_REASON then
    -- Cut on a character boundary so the stored reason stays valid UTF-8.
    local cut = MAX_REASON
    while cut > 0 and (s:byte(cut + 1) or 0) >= 0x80 and (s:byte(cut + 1) or 0) < 0xC0 do
      cut = cut - 1
    end
    s = s:sub(1, cut) .. "..."
  end
  return s
end

-- The result for a request that got no HTTP answer (refused, reset, DNS,
-- time-out): always worth another try, with the same idempotency key.
function M.no_answer(name, err, timed_out)
  if timed_out then
    return {status = "retry", error = name .. ": time-out"}
  end
  return {status = "retry", error = name .. ": " .. M.scrub(tostring(err or "network error"))}
end

-- The JSON object of an answer body, or nil.
function M.json(body)
  if type(body) ~= "string" or body == "" then
    return nil
  end
  local v = relais.json.decode(body)
  if type(v) ~= "table" then
    return nil
  end
  return v
end

-- An id as text: gateways answer strings ("SM…") or integers (Brevo's
-- messageId), which JSON may hand over as floats.
function M.id_text(v)
  if type(v) == "string" and v ~= "" and #v <= 128 and not v:match("[%c%s]") then
    return v
  end
  if math.type(v) == "integer" and v >= 0 then
    return tostring(v)
  end
  if math.type(v) == "float" and v >= 0 and v == math.floor(v) and v < 2^63 then
    return string.format("%.0f", v)
  end
  return nil
end

return M
