-- wrk script: POST a JSON body. The body comes from the file named by the
-- environment variable WRK_BODY_FILE (default: a small chat request).
local path = os.getenv("WRK_BODY_FILE")
local body = '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hello!"}]}'
if path and path ~= "" then
  local f = assert(io.open(path, "rb"))
  body = f:read("*a")
  f:close()
end
wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = "application/json"
