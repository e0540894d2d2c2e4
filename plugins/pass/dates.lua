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

local byte, find, match, tonumber = string.byte, string.find, string.match, tonumber

-- Checks a date and a time of day read from a cell; returns the local date,
-- the Unix time (the wall time read in the configured zone, or UTC shifted
-- by OFFSET minutes when one was given; nil without a time), or nil, why
-- ("impossible" for a day the calendar does not have, "year" for a year
-- out of range).
local function finish(y, mo, d, h, mi, s, offset)
  if y < M.MIN_YEAR or y > M.MAX_YEAR then return nil, "year" end
  if not M.exists(y, mo, d) then return nil, "impossible" end
  if not h then return M.iso(y, mo, d), nil end
  if h > 23 or mi > 59 or (s or 0) > 59 then return nil, "impossible" end
  if offset then
    local t = M.days(y, mo, d) * 86400 + h * 3600 + mi * 60 + (s or 0) - offset * 60
    return M.local_date(t), t
  end
  local t = os.time{year = y, month = mo, day = d, hour = h, min = mi, sec = s or 0}
  return M.iso(y, mo, d), t
end

-- The time part after a date: "", " 14:05", " 14:05:33", "T14:05", " 14h05".
-- Returns h, mi, s (nil when there is no time), the rest, or false when
-- it is not a time.
local function time_of(rest)
  if rest == "" then return nil, nil, nil, "" end
  local h, mi, tail = match(rest, "^[ T]+(%d%d?)[:hH](%d%d)(.*)$")
  if not h then return false end
  local s, after = match(tail, "^:(%d%d)(.*)$")
  if s then tail = after end
  local frac = match(tail, "^[.,]%d+(.*)$")   -- fractions of a second: dropped
  if frac then tail = frac end
  return tonumber(h), tonumber(mi), s and tonumber(s), tail
end

-- An Excel serial day (1 = 1900-01-01, with Excel's phantom 29/02/1900;
-- day 25569 is 1970-01-01), maybe with a fraction of a day: 44990.5.
local function excel(s)
  local whole, frac = match(s, "^(%d%d%d%d%d)([.,]?%d*)$")
  if not whole then return nil end
  local n = tonumber(whole)
  local y, m, d = M.civil(n - 25569)
  if frac ~= "" and frac ~= "." and frac ~= "," then
    local secs = math.floor(tonumber("0." .. frac:sub(2)) * 86400 + 0.5)
    return finish(y, m, d, secs // 3600, secs % 3600 // 60, secs % 60)
  end
  return finish(y, m, d)
end

-- A cell of the date column → local date "YYYY-MM-DD", Unix time or nil;
-- or nil, why: "unreadable", "impossible", "year".
function M.parse(s)
  -- JJ/MM/AAAA (or JJ-MM-AAAA, JJ.MM.AAAA; J/M/AAAA). A year of two
  -- digits is refused: "12/03/20" is as likely a line cut short as 2020.
  local d, mo, y, rest = match(s, "^(%d%d?)[/.%-](%d%d?)[/.%-](%d+)(.*)$")
  if d and #y == 4 then
    local h, mi, sec, tail = time_of(rest)
    if h == false or tail ~= "" then return nil, "unreadable" end
    return finish(tonumber(y), tonumber(mo), tonumber(d), h, mi, sec)
  end
  -- ISO 8601: AAAA-MM-JJ[THH:MM[:SS[.f]]][Z|±HH:MM|±HHMM]
  local Y, M2, D, irest = match(s, "^(%d%d%d%d)%-(%d%d)%-(%d%d)(.*)$")
  if Y then
    local h, mi, sec, tail = time_of(irest)
    if h == false then return nil, "unreadable" end
    local offset
    if h and tail ~= "" then
      if tail == "Z" or tail == "z" then
        offset = 0
      else
        local sign, oh, om = match(tail, "^([+-])(%d%d):?(%d%d)$")
        if not sign then return nil, "unreadable" end
        offset = (tonumber(oh) * 60 + tonumber(om)) * (sign == "-" and -1 or 1)
      end
    elseif tail ~= "" then
      return nil, "unreadable"
    end
    return finish(tonumber(Y), tonumber(M2), tonumber(D), h, mi, sec, offset)
  end
  local date, t = excel(s)
  if date then return date, t end
  if t then return nil, t end
  return nil, "unreadable"
end

return M
