-- Dates as Pix Orga writes them: "DD/MM/YYYY HH:mm" in Europe/Paris time,
-- or "YYYY-MM-DD" (UTC) for the sending date of older profile-collection
-- exports. Paris time is converted with the EU rule (summer time from the
-- last Sunday of March to the last Sunday of October, 01:00 UTC), which
-- has held since 1996, so the result does not depend on the server's zone.
local M = {}

-- Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant).
local function days(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = (y >= 0 and y or y - 399) // 400
  local yoe = y - era * 400
  local mp = (m + 9) % 12
  local doy = (153 * mp + 2) // 5 + d - 1
  local doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
  return era * 146097 + doe - 719468
end

local function last_sunday(y, m)
  local last = days(y, m, 31)
  local wday = (last + 4) % 7         -- 0 = Sunday (1970-01-01 was a Thursday)
  return last - wday
end

local DIM = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}

local function valid(y, m, d)
  if m < 1 or m > 12 or d < 1 or y < 2000 or y > 2200 then return false end
  local leap = (y % 4 == 0 and y % 100 ~= 0) or y % 400 == 0
  return d <= (m == 2 and leap and 29 or DIM[m])
end

-- Summer time of year Y as Unix seconds [from, to), computed once per
-- year: an import converts one date per line (years are 2000..2200).
local summer_from, summer_to = {}, {}

local function summer_of(y)
  local from = summer_from[y]
  if not from then
    from = last_sunday(y, 3) * 86400 + 3600
    summer_from[y], summer_to[y] = from, last_sunday(y, 10) * 86400 + 3600
  end
  return from, summer_to[y]
end

local byte, find = string.byte, string.find

-- YYYYMMDD → days since 1970 of a valid date, false for an invalid one:
-- an import reads one date a line, from few days. At most 4096 are kept
-- (then it starts afresh).
local known = 0
local day_number = setmetatable({}, {__index = function(t, k)
  local y, m, d = k // 10000, k // 100 % 100, k % 100
  local v = valid(y, m, d) and days(y, m, d)
  if known == 4096 then
    for key in pairs(t) do t[key] = nil end
    known = 0
  end
  rawset(t, k, v)
  known = known + 1
  return v
end})

-- "DD/MM/YYYY HH:mm" (Paris) → Unix seconds, or nil. Digits are read
-- from the bytes once the shape is checked: no captures to allocate.
function M.paris(s)
  if not find(s, "^%d%d/%d%d/%d%d%d%d %d%d:%d%d$") then return nil end
  local d1, d2, _, m1, m2, _, y1, y2, y3, y4, _, h1, h2, _, n1, n2 = byte(s, 1, 16)
  local d, m = (d1 - 48) * 10 + d2 - 48, (m1 - 48) * 10 + m2 - 48
  local y = (y1 - 48) * 1000 + (y2 - 48) * 100 + (y3 - 48) * 10 + y4 - 48
  local hh, mm = (h1 - 48) * 10 + h2 - 48, (n1 - 48) * 10 + n2 - 48
  if hh > 23 or mm > 59 then return nil end
  local day = day_number[y * 10000 + m * 100 + d]
  if not day then return nil end
  local wall = day * 86400 + hh * 3600 + mm * 60
  local from, to = summer_of(y)
  local summer = wall - 7200
  if summer >= from and summer < to then return summer end
  return wall - 3600
end

-- "YYYY-MM-DD" (UTC) → Unix seconds at midnight, or nil.
function M.day(s)
  local y, m, d = s:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)$")
  if not y then return nil end
  y, m, d = tonumber(y), tonumber(m), tonumber(d)
  if not valid(y, m, d) then return nil end
  return days(y, m, d) * 86400
end

return M
