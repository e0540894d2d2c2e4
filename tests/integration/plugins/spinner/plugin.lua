-- Test fixture: an SMS channel whose send never ends. Each attempt must be
-- stopped by the instruction budget and count as a retry.
relais.channel("sms", function(msg)
  while true do end
end)
