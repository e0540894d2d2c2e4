-- An RFC 5322 / MIME message, written by hand because the server hands
-- relais.smtp.send the finished text: CRLF lines, quoted-printable bodies,
-- base64 attachments, RFC 2047 encoded words for non-ASCII headers.

local M = {}

local CRLF = "\r\n"

local function ascii(s)
  return not s:find("[\128-\255]")
end

-- Quoted-printable (RFC 2045 §6.7) of one line without its end: "=" and
-- bytes outside printable ASCII become =XX, a space or tab that ends the
-- line too, and soft breaks keep every output line within 76 characters.
-- "=" always encoded is also what keeps our "=_" boundaries out of bodies.
local function qp_line(line)
  local lines, cur, len = {}, {}, 0
  local n = #line
  for i = 1, n do
    local b = line:byte(i)
    local tok
    if (b >= 33 and b <= 126 and b ~= 61) or ((b == 32 or b == 9) and i < n) then
      tok = string.char(b)
    else
      tok = string.format("=%02X", b)
    end
    if len + #tok > 75 then
      lines[#lines + 1] = table.concat(cur) .. "="
      cur, len = {}, 0
    end
    cur[#cur + 1] = tok
    len = len + #tok
  end
  lines[#lines + 1] = table.concat(cur)
  return table.concat(lines, CRLF)
end

function M.quoted_printable(text)
  local out = {}
  for line in (text:gsub("\r\n", "\n") .. "\n"):gmatch("([^\n]*)\n") do
    out[#out + 1] = qp_line(line)
  end
  return table.concat(out, CRLF)
end

-- Base64 in lines of 76 characters.
function M.base64(data)
  local s = relais.crypto.base64(data)
  local out = {}
  for i = 1, #s, 76 do
    out[#out + 1] = s:sub(i, i + 75)
  end
  return table.concat(out, CRLF)
end

-- S cut into pieces of at most MAX bytes, never inside a UTF-8 character.
local function utf8_pieces(s, max)
  local pieces, cur = {}, ""
  if not utf8.len(s) then
    for i = 1, #s, max do
      pieces[#pieces + 1] = s:sub(i, i + max - 1)
    end
    return pieces
  end
  for _, cp in utf8.codes(s) do
    local c = utf8.char(cp)
    if #cur + #c > max then
      pieces[#pieces + 1] = cur
      cur = ""
    end
    cur = cur .. c
  end
  if cur ~= "" then
    pieces[#pieces + 1] = cur
  end
  return pieces
end

-- An unstructured header value (Subject): kept as it is when short plain
-- ASCII, else RFC 2047 "B" encoded words of at most 64 characters, one per
-- folded line, so that no line passes 76 characters.
function M.header_text(s)
  s = s:gsub("[%c]+", " ")
  if ascii(s) and #s <= 66 then
    return s
  end
  local words = {}
  for _, piece in ipairs(utf8_pieces(s, 39)) do
    words[#words + 1] = "=?UTF-8?B?" .. relais.crypto.base64(piece) .. "?="
  end
  return table.concat(words, CRLF .. " ")
end

-- A display name: an atom phrase as it is, a quoted string when it holds
-- specials, encoded words when it is not ASCII.
function M.phrase(name)
  name = name:gsub("[%c]+", " ")
  if not ascii(name) then
    return M.header_text(name)
  end
  if name:match("^[%w!#$%%&'*+/=?^_`{|}~%- ]+$") then
    return name
  end
  return '"' .. name:gsub('[\\"]', "\\%0") .. '"'
end

local DAYS = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"}
local MONTHS = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
                "Nov", "Dec"}

-- RFC 5322 date of Unix time T, in UTC (no locale involved).
function M.date(t)
  local d = os.date("!*t", t)
  return string.format("%s, %02d %s %04d %02d:%02d:%02d +0000", DAYS[d.wday], d.day,
                       MONTHS[d.month], d.year, d.hour, d.min, d.sec)
end

-- The host of a URL ("https://relais.example.org:8443/x" → "relais.example.org").
function M.url_host(url)
  local authority = url:match("^%a[%w+.%-]*://([^/?#]*)") or ""
  authority = authority:gsub("^.*@", "")
  local host = authority:match("^(%[[^%]]*%])") or authority:gsub(":%d*$", "")
  host = host:lower()
  if host == "" or host:match("[^%w%.%-%[%]:]") then
    return "relais.invalid"
  end
  return host
end

local function boundary(tag)
  return "=_relais_" .. tag .. "_" .. relais.crypto.hex(relais.crypto.random(8))
end

-- One MIME part: HEADERS (list of "Name: value") and an already encoded BODY.
local function part(out, headers, body)
  for _, h in ipairs(headers) do
    out[#out + 1] = h
  end
  out[#out + 1] = ""
  out[#out + 1] = body
end

-- The calendar's transfer encoding: 7bit when it is plain ASCII with short
-- lines (iCalendar folds at 75 octets), else base64.
local function calendar_body(ics)
  ics = ics:gsub("\r?\n", CRLF):gsub(CRLF .. "$", "")
  local long = false
  for line in (ics .. CRLF):gmatch("(.-)\r\n") do
    if #line > 900 then
      long = true
    end
  end
  if ascii(ics) and not long then
    return "7bit", ics
  end
  return "base64", M.base64(ics)
end

-- The whole message. M = {date, from, to, subject, message_id, text, html,
-- ics (optional), ics_method}. Returns the RFC 5322 text with CRLF lines.
function M.build(m)
  local out = {
    "Date: " .. M.date(m.date),
    "From: " .. m.from,
    "To: " .. m.to,
    "Subject: " .. M.header_text(m.subject),
    "Message-ID: " .. m.message_id,
    "MIME-Version: 1.0",
    "Auto-Submitted: auto-generated",
    "Content-Language: fr",
  }
  local alt = boundary("alt")
  local mixed = m.ics and boundary("mix")
  if mixed then
    out[#out + 1] = 'Content-Type: multipart/mixed; boundary="' .. mixed .. '"'
    out[#out + 1] = ""
    out[#out + 1] = "--" .. mixed
  end
  out[#out + 1] = 'Content-Type: multipart/alternative; boundary="' .. alt .. '"'
  out[#out + 1] = ""
  out[#out + 1] = "--" .. alt
  part(out, {"Content-Type: text/plain; charset=UTF-8",
             "Content-Transfer-Encoding: quoted-printable"}, M.quoted_printable(m.text))
  out[#out + 1] = "--" .. alt
  part(out, {"Content-Type: text/html; charset=UTF-8",
             "Content-Transfer-Encoding: quoted-printable"}, M.quoted_printable(m.html))
  if m.ics then
    local cte, body = calendar_body(m.ics)
    out[#out + 1] = "--" .. alt
    part(out, {"Content-Type: text/calendar; method=" .. m.ics_method .. "; charset=UTF-8",
               "Content-Transfer-Encoding: " .. cte}, body)
  end
  out[#out + 1] = "--" .. alt .. "--"
  if mixed then
    out[#out + 1] = "--" .. mixed
    part(out, {'Content-Type: application/ics; name="invite.ics"',
               'Content-Disposition: attachment; filename="invite.ics"',
               "Content-Transfer-Encoding: base64"}, M.base64(m.ics))
    out[#out + 1] = "--" .. mixed .. "--"
  end
  return table.concat(out, CRLF) .. CRLF
end

return M
