-- Dates of the pass circuit. Stored dates are local dates "YYYY-MM-DD"
-- (the configured time zone), which sort as they read and compare as
-- strings. The import reads what the APTIC platform writes and what Excel
-- makes of it once a coordinator has re-saved the file: "JJ/MM/AAAA", with
-- or without a time, day and month with or without their zero, "-" or "."
-- between them; ISO 8601 with or without a time and an offset; and an
-- Excel serial day number (a date cell saved as a number).
local M = {}

local DIM = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}

-- Years outside these are a typing mistake, not a pass of the scheme.
M.MIN_YEAR, M.MAX_YEAR = 2000, 2099

local function leap(y)
  return (y % 4 == 0 and y % 100 ~= 0) or y % 400 == 0
end

-- Whether Y-M-D is a day of the calendar.
function M.exists(y, m, d)
  if m < 1 or m > 12 or d < 1 then return false end
  return d <= (m == 2 and leap(y) and 29 or DIM[m])
end

-- Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant).
function M.days(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = (y >= 0 and y or y - 399) // 400
  local yoe = y - era * 400
  local mp = (m + 9) % 12
  local doy = (153 * mp + 2) // 5 + d - 1
  local doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
  return era * 146097 + doe - 719468
end

-- The civil date of a day number (the inverse of M.days).
function M.civil(z)
  z = z + 719468
  local era = (z >= 0 and z or z - 146096) // 146097
  local doe = z - era * 146097
  local yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
  local y = yoe + era * 400
  local doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
  local mp = (5 * doy + 2) // 153
  local d = doy - (153 * mp + 2) // 5 + 1
  local m = mp < 10 and mp + 3 or mp - 9
  if m <= 2 then y = y + 1 end
  return y, m, d
end

local format = string.format

function M.iso(y, m, d)
  return format("%04d-%02d-%02d", y, m, d)
end

-- "YYYY-MM-DD" → y, m, d of a day that exists, or nil.
function M.split(s)
  if type(s) ~= "string" or #s ~= 10 then return nil end
  local y, m, d = s:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)$")
  if not y then return nil end
  y, m, d = tonumber(y), tonumber(m), tonumber(d)
  if not M.exists(y, m, d) then return nil end
  return y, m, d
end

function M.valid(s)
  return M.split(s) ~= nil
end

-- The local date N days after the local date S.
function M.add_days(s, n)
  local y, m, d = M.split(s)
  return M.iso(M.civil(M.days(y, m, d) + n))
end

-- Today, in the configured time zone.
function M.today()
  return os.date("%Y-%m-%d", relais.now())
end

-- The local date of the Unix time T.
function M.local_date(t)
  return os.date("%Y-%m-%d", t)
end

-- "05/03/2023" → "05/03/2023" as the French read it, for messages.
function M.fr(s)
  local y, m, d = M.split(s)
  if not y then return s end
  return format("%02d/%02d/%04d", d, m, y)
end

-- --- the import --------------------------------------------------------------

local byte, find, match, sub, tonumber = string.byte, string.find, string.match, string.sub,
                                          tonumber

-- A cell is read as a day, then maybe a time of day: "05/03/2023 14:05".
-- An export has one line per scan, the same few hundred days and the same
-- 1,440 minutes over and over: M.reader() keeps what each day text and
-- each time text mean (at most MEMO_MAX of each, then it starts afresh),
-- so that most lines cost two table lookups, and the local time of a day
-- and hour is asked of the C library once (os.time, which knows the
-- zone's summer time).
local MEMO_MAX = 4096

local function memo(f)
  local n = 0
  return setmetatable({}, {__index = function(t, k)
    local v = f(k)
    if n == MEMO_MAX then
      for key in pairs(t) do t[key] = nil end
      n = 0
    end
    rawset(t, k, v)
    n = n + 1
    return v
  end})
end

-- A day text → {y, m, d, iso} of a day that exists, or {false, why}:
-- "impossible", "year", "unreadable". The ISO form keeps what follows the
-- day as the time text (its offset included).
local function day_of(s)
  local d, m, y = match(s, "^(%d%d?)[/.%-](%d%d?)[/.%-](%d%d%d%d)$")
  if not d then
    y, m, d = match(s, "^(%d%d%d%d)%-(%d%d)%-(%d%d)$")
  end
  if not d then
    -- An Excel serial day (1 = 1900-01-01 with Excel's phantom 29/02/1900;
    -- day 25569 is 1970-01-01).
    local whole = match(s, "^(%d%d%d%d%d)$")
    if not whole then return {false, "unreadable"} end
    y, m, d = M.civil(tonumber(whole) - 25569)
  end
  y, m, d = tonumber(y), tonumber(m), tonumber(d)
  if y < M.MIN_YEAR or y > M.MAX_YEAR then return {false, "year"} end
  if not M.exists(y, m, d) then return {false, "impossible"} end
  return {y, m, d, M.iso(y, m, d)}
end

-- A time text (what follows the day) → {seconds into the day, offset in
-- minutes or false}, or {false}: " 14:05", " 14:05:33", "T14:05:00Z",
-- " 9h05", "T14:05:00.250+01:00", ",5" (an Excel serial's fraction).
local function time_of(s)
  local frac = match(s, "^[.,](%d+)$")
  if frac then
    return {math.floor(tonumber("0." .. frac) * 86400 + 0.5), false}
  end
  local h, mi, rest = match(s, "^[ T]+(%d%d?)[:hH](%d%d)(.*)$")
  if not h then return {false} end
  h, mi = tonumber(h), tonumber(mi)
  local sec, after = match(rest, "^:(%d%d)(.*)$")
  if sec then rest = after end
  local fr = match(rest, "^[.,]%d+(.*)$")   -- fractions of a second: dropped
  if fr then rest = fr end
  sec = tonumber(sec) or 0
  if h > 23 or mi > 59 or sec > 59 then return {false, "impossible"} end
  local offset = false
  if rest == "Z" or rest == "z" then
    offset = 0
  elseif rest ~= "" then
    local sign, oh, om = match(rest, "^([+-])(%d%d):?(%d%d)$")
    if not sign then return {false} end
    offset = (tonumber(oh) * 60 + tonumber(om)) * (sign == "-" and -1 or 1)
  end
  return {h * 3600 + mi * 60 + sec, offset}
end

-- A reader: a function of a date cell → the local date "YYYY-MM-DD" and
-- the Unix time (nil without a time), or nil and why: "unreadable",
-- "impossible" (a day or time the calendar does not have), "year" (out of
-- 2000–2099). A two-digit year is unreadable: "12/03/20" is as likely a
-- line cut short as 2020. An offset moves the local day.
function M.reader()
  local days, times = memo(day_of), memo(time_of)
  -- day → {[hour] = its local Unix time}, asked of os.time once each.
  local hours = memo(function(day)
    return setmetatable({}, {__index = function(t, h)
      local v = os.time{year = day[1], month = day[2], day = day[3], hour = h, min = 0,
                        sec = 0}
      rawset(t, h, v)
      return v
    end})
  end)
  return function(s)
    -- The day ends at the first space or T after its digits; an Excel
    -- serial's fraction at its separator.
    local cut = find(s, "[ T]", 6) or (find(s, "^%d%d%d%d%d[.,]") and 6)
    local day = days[cut and sub(s, 1, cut - 1) or s]
    if not day[1] then return nil, day[2] end
    if not cut then return day[4], nil end
    local t = times[sub(s, cut)]
    if not t[1] then return nil, t[2] or "unreadable" end
    local secs, offset = t[1], t[2]
    if offset then
      local at = M.days(day[1], day[2], day[3]) * 86400 + secs - offset * 60
      return M.local_date(at), at
    end
    local h = secs // 3600
    return day[4], hours[day][h] + secs - h * 3600
  end
end

-- One cell, without memos kept (tests, and a manual value).
function M.parse(s)
  return M.reader()(s)
end

return M
