-- The web console (issue 6): plain HTML, CSS and JavaScript modules in
-- static/, served at /console. It is one more client of the HTTP API: every
-- piece of data it shows comes from /api/v1/… with the user's own token, so
-- it has no route of its own beyond the files and the "/" redirect.

-- No inline script or style anywhere in static/: the policy can stay strict.
local csp = table.concat({
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
}, "; ")

relais.static("/console", "static", {headers = {
  ["Content-Security-Policy"] = csp,
  ["Referrer-Policy"] = "no-referrer",
  ["X-Frame-Options"] = "DENY",
}})

-- "/" is free in the core: send a visitor to the console.
relais.route("GET", "/", function()
  return {status = 302, headers = {Location = "/console"}, body = "Voir /console\n"}
end)

-- Who a token is, so that the console shows a trainer only what their role
-- allows (the API enforces it anyway): {role, staff_id, staff_name}.
relais.route("GET", "/api/v1/me", function(req)
  local me = {role = req.role, staff_id = relais.json.null, staff_name = relais.json.null}
  if req.staff_id then
    me.staff_id = req.staff_id
    local rows = relais.db.query("SELECT name FROM relais_v1_staff WHERE id = ?", req.staff_id)
    if rows and rows[1] then me.staff_name = rows[1].name end
  end
  return {json = me, headers = {["Cache-Control"] = "no-store"}}
end, {"admin", "coordinator", "trainer"})
