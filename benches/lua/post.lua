-- A fixed POST: wrk ... -s post.lua URL -- <content-type> <body> [<authorization>]
-- The request is built once (no request() or response() hooks), so wrk stays cheap.
function init(args)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = args[1]
  wrk.body = args[2]
  if args[3] then
    wrk.headers["Authorization"] = args[3]
  end
end
