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

local function valid(y, m, d)
  if m < 1 or m > 12 or d < 1 or y < 2000 or y > 2200 then return false end
  local dim = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}
  local leap = (y % 4 == 0 and y % 100 ~= 0) or y % 400 == 0
  return d <= (m == 2 and leap and 29 or dim[m])
end

-- "DD/MM/YYYY HH:mm" (Paris) → Unix seconds, or nil.
function M.paris(s)
  local d, m, y, hh, mm = s:match("^(%d%d)/(%d%d)/(%d%d%d%d) (%d%d):(%d%d)$")
  if not d then return nil end
  d, m, y, hh, mm = tonumber(d), tonumber(m), tonumber(y), tonumber(hh), tonumber(mm)
  if not valid(y, m, d) or hh > 23 or mm > 59 then return nil end
  local wall = days(y, m, d) * 86400 + hh * 3600 + mm * 60
  local from = last_sunday(y, 3) * 86400 + 3600
  local to = last_sunday(y, 10) * 86400 + 3600
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
