-- A GET with a bearer token: wrk ... -s bearer.lua URL -- <access token>
function init(args)
  wrk.headers["Authorization"] = "Bearer " .. args[1]
end
