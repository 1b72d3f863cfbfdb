-- wrk script for the portal benchmark (bench/portal_bench.py writes its arguments).
-- Arguments: METHOD BODIES_FILE|- [HEADER ...], a header being "Name: value".
-- BODIES_FILE holds one request body a line; requests cycle through them, so that an edit
-- or a password reset spreads over many SMTP users instead of queueing on one row lock.

local bodies = {}
local counter = 0
local next_thread_index = 0

function setup(thread)
  thread:set("thread_index", next_thread_index)
  next_thread_index = next_thread_index + 1
end

function init(args)
  wrk.method = args[1]
  for i = 3, #args do
    local name, value = args[i]:match("^([^:]+):%s*(.*)$")
    wrk.headers[name] = value
  end
  if args[2] ~= "-" then
    for line in io.lines(args[2]) do
      bodies[#bodies + 1] = line
    end
  end
  -- Threads start at different bodies so that they do not walk in step.
  counter = (thread_index or 0) * 37
end

function request()
  if #bodies == 0 then
    return wrk.format()
  end
  counter = counter + 1
  return wrk.format(nil, nil, nil, bodies[(counter % #bodies) + 1])
end
