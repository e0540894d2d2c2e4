-- Pass numbers. A number is an opaque string (what is printed under the
-- barcode); a book's passes are usually consecutive, so a book may be
-- registered by its first pass and their count: the trailing digits of the
-- first number are counted up, keeping their width (zero padding) and
-- whatever comes before them ("AB-0099", 3 → "AB-0099", "AB-0100",
-- "AB-0101"). Numbers of any length work: the digits are counted as text.
local M = {}

M.MAX_COUNT = 1000       -- passes in one book
M.MAX_LENGTH = 64        -- bytes of a pass or book number

-- The digit string S plus one, as text of the same width; nil when it
-- would need one more digit ("999").
local function increment(s)
  local digits = {string.byte(s, 1, -1)}
  local i = #digits
  while i >= 1 do
    if digits[i] < 57 then   -- below '9'
      digits[i] = digits[i] + 1
      return string.char(table.unpack(digits))
    end
    digits[i] = 48           -- '0', carry on
    i = i - 1
  end
  return nil
end

-- The COUNT numbers from FIRST: a list, or nil and why (in the API's
-- words, for a 422).
function M.expand(first, count)
  local prefix, digits = first:match("^(.-)(%d+)$")
  if not digits then return nil, "must end with digits, to be counted up" end
  if math.type(count) ~= "integer" or count < 1 or count > M.MAX_COUNT then
    return nil, "count must be an integer between 1 and " .. M.MAX_COUNT
  end
  local out = {first}
  for i = 2, count do
    digits = increment(digits)
    if not digits then
      return nil, string.format("counting %d passes from %s needs more digits than it has",
                                count, first)
    end
    out[i] = prefix .. digits
  end
  return out
end

return M
