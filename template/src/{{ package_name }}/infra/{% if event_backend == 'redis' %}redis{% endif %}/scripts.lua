-- The Lua scripts of the Redis event store: every state change is one atomic script.
-- Each block starts with `-- name: <NAME>`; the lines after it up to the next block are one
-- script. The block named `prelude` holds the helpers the scripts share: the loader
-- (`scripts.py`, next to this file) puts it before every other block, so each script runs
-- as the prelude followed by its own block, comments included.
--
-- Keys (P is the store's prefix, a hash tag such as `{myapp}` so that one store's keys share
-- a cluster slot):
--
--     P:e:<id>      hash, one per live event: t type, p payload, k conversation key, a attempts,
--                   b attempts before the latest revival from the dead letters, st state,
--                   sid stream entry id, o lease owner, x lease expiry (ms),
--                   av available at (ms), e last error
--     P:s:<type>    stream per event type; entries carry only the event id (`id` field)
--     P:types       set of event types with a stream (and a consumer group)
--     P:delayed     sorted set: event id -> due time (ms); retries and delayed publishes
--     P:c:<key>     list per conversation: its unfinished events in order; only the head runs
--     P:dead        sorted set: dead-lettered event id -> time of death (ms)
--     P:wake        pub/sub channel: "there is work"
--     P:cancel      pub/sub channel: the id of each leased event cancelled
--
-- States (`st`): q in the stream, p leased (processing), d delayed, j delayed and joining its
-- conversation when due, w waiting behind an earlier event of its conversation, x dead,
-- c completed and n cancelled (tombstones that expire).
--
-- The fencing token is the attempt number `a`: a claim increments it, and ack, nack, release
-- and heartbeat only act when the caller's attempt is the current one and the event is leased.
-- A revival keeps `a` and sets `b`, from which the retry budget counts.
-- Every script gets ARGV[1] = prefix and ARGV[2] = consumer group; the times come from the
-- Redis server's clock (TIME), so every process agrees on them.

-- name: prelude
local P = ARGV[1]
local GROUP = ARGV[2]

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function ev(id) return P .. ':e:' .. id end
local function stream(t) return P .. ':s:' .. t end

-- Make an event claimable: XADD it to its type's stream when it is due, otherwise park it
-- in the delayed set (whoever claims moves it to the stream when its time comes).
local function schedule(id, now)
  local h = ev(id)
  local v = redis.call('HMGET', h, 't', 'av')
  local due = tonumber(v[2]) or 0
  if due > now then
    redis.call('ZADD', P .. ':delayed', due, id)
    redis.call('HSET', h, 'st', 'd')
    return
  end
  local s = stream(v[1])
  local sid = redis.call('XADD', s, '*', 'id', id)
  if redis.call('SADD', P .. ':types', v[1]) == 1 then
    -- The type's first event: create its group at 0, so that this entry is delivered too.
    redis.pcall('XGROUP', 'CREATE', s, GROUP, '0')
  end
  redis.call('HSET', h, 'st', 'q', 'sid', sid)
end

-- Queue an event in its conversation: only the conversation's head is scheduled, the
-- others wait ('w') until every earlier event of the conversation is finished. An event
-- published for later (never attempted) does not hold its conversation up meanwhile: it
-- waits in the delayed set ('j') and joins the conversation's queue when due. (A retry
-- keeps its place at the head instead.)
local function enqueue(id, now)
  local v = redis.call('HMGET', ev(id), 'k', 'av', 'a')
  local k = v[1]
  if k and (tonumber(v[2]) or 0) > now and v[3] == '0' then
    redis.call('ZADD', P .. ':delayed', v[2], id)
    redis.call('HSET', ev(id), 'st', 'j')
  elseif k and redis.call('RPUSH', P .. ':c:' .. k, id) > 1 then
    redis.call('HSET', ev(id), 'st', 'w')
  else
    schedule(id, now)
  end
end

-- The event left the queue for good (completed or dead): its conversation's next event goes.
local function advance(id, now)
  local k = redis.call('HGET', ev(id), 'k')
  if not k then return end
  local c = P .. ':c:' .. k
  redis.call('LREM', c, 1, id)
  local nxt = redis.call('LINDEX', c, 0)
  if nxt and redis.call('HGET', ev(nxt), 'st') == 'w' then schedule(nxt, now) end
end

-- Dead-letter an event (its stream entry is already acknowledged).
local function bury(id, now)
  redis.call('HSET', ev(id), 'st', 'x')
  redis.call('ZADD', P .. ':dead', now, id)
  advance(id, now)
end

-- The lease check: the event's fields when `attempt` is the current attempt of a leased
-- event, nil when the caller's lease is stale (expired and reclaimed, released, or gone).
local function leased(id, attempt)
  local v = redis.call('HMGET', ev(id), 'st', 'a', 'sid', 't', 'b')
  if v[1] == 'p' and v[2] == attempt then return v end
  return nil
end

-- name: ENQUEUE
-- Store and queue new events; used by publish and by reconcile. ARGV[3] is a JSON array
-- with one array of 9 strings per event: id, type, payload, conversation key ('' none),
-- available at (ms, '0' now), attempts, dead at (ms, '0' when not dead), last error (''
-- none), attempt base. (One argument for the whole batch: the client encodes each argument
-- in Python, so nine per event would cost it more than the script does.)
-- An event whose hash exists is left alone, which makes this idempotent: reconcile and a
-- repeated publish never queue an event twice. Returns the ids that were added.
local now = now_ms()
local added = {}
for _, e in ipairs(cjson.decode(ARGV[3])) do
  local id = e[1]
  local h = ev(id)
  if redis.call('EXISTS', h) == 0 then
    redis.call('HSET', h, 't', e[2], 'p', e[3], 'av', e[5], 'a', e[6], 'b', e[9])
    if e[4] ~= '' then redis.call('HSET', h, 'k', e[4]) end
    if e[8] ~= '' then redis.call('HSET', h, 'e', e[8]) end
    if e[7] ~= '0' then
      redis.call('HSET', h, 'st', 'x')
      redis.call('ZADD', P .. ':dead', e[7], id)
    else
      enqueue(id, now)
    end
    added[#added + 1] = id
  end
end
-- One wake-up per call, however many events it queued.
if #added > 0 then redis.call('PUBLISH', P .. ':wake', '') end
return added

-- name: CLAIM
-- Lease up to ARGV[4] events for consumer ARGV[3] for ARGV[5] ms. ARGV[6] caps how many due
-- delayed events are moved to their streams first; ARGV[7] is where to start in the list
-- of types ARGV[8..] (all known types when none are given): the start rotates between
-- calls so that no type starves another. Returns id, attempt, attempt base, payload for
-- each lease.
local now = now_ms()
local consumer, limit, lease = ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])

-- Retries and delayed events that are due go to the back of their streams.
local due = redis.call('ZRANGEBYSCORE', P .. ':delayed', '-inf', now, 'LIMIT', 0, ARGV[6])
for _, id in ipairs(due) do
  redis.call('ZREM', P .. ':delayed', id)
  local st = redis.call('HGET', ev(id), 'st')
  if st == 'd' then schedule(id, now) elseif st == 'j' then enqueue(id, now) end
end

local types = {}
for i = 8, #ARGV do types[#types + 1] = ARGV[i] end
if #types == 0 then
  types = redis.call('SMEMBERS', P .. ':types')
  table.sort(types)
end

local out = {}
local remaining = limit
for i = 1, #types do
  if remaining <= 0 then break end
  local s = stream(types[((tonumber(ARGV[7]) + i - 1) % #types) + 1])
  -- COUNT is the room left, so the consumer never holds more than it asked for. A type
  -- that has no stream yet answers NOGROUP, which pcall turns into "nothing".
  local res = redis.pcall('XREADGROUP', 'GROUP', GROUP, consumer, 'COUNT', remaining,
                          'STREAMS', s, '>')
  if type(res) == 'table' and not res.err and res[1] then
    for _, entry in ipairs(res[1][2]) do
      local sid, id = entry[1], entry[2][2]
      local v = redis.call('HMGET', ev(id), 'st', 'sid')
      if v[1] == 'q' and v[2] == sid then
        local attempt = redis.call('HINCRBY', ev(id), 'a', 1)
        redis.call('HSET', ev(id), 'st', 'p', 'o', consumer, 'x', now + lease)
        out[#out + 1] = id
        out[#out + 1] = attempt
        local more = redis.call('HMGET', ev(id), 'b', 'p')
        out[#out + 1] = more[1] or '0'
        out[#out + 1] = more[2]
        remaining = remaining - 1
      else
        -- A stale entry: its event was requeued under a newer entry, or is gone.
        redis.call('XACK', s, GROUP, sid)
      end
    end
  end
end
return out

-- name: EXTEND
-- Heartbeat of consumer ARGV[3]: renew for ARGV[4] ms the leases given as (id, attempt)
-- pairs in ARGV[5..]; returns the ids still held. XCLAIM with min-idle 0 resets the stream
-- entry's idle time (JUSTID: without counting a delivery), so XAUTOCLAIM, which only takes
-- entries idle longer than a lease, never reclaims a live consumer's events. It also takes
-- an entry back from a reaper that claimed it just before the renewal.
local now = now_ms()
local kept = {}
for i = 5, #ARGV, 2 do
  local id = ARGV[i]
  local v = leased(id, ARGV[i + 1])
  if v then
    redis.call('HSET', ev(id), 'x', now + tonumber(ARGV[4]))
    redis.call('XCLAIM', stream(v[4]), GROUP, ARGV[3], 0, v[3], 'JUSTID')
    kept[#kept + 1] = id
  end
end
return kept

-- name: ACK
-- Complete the leases given as (id, attempt) pairs in ARGV[4..]; returns 1 or 0 (stale)
-- per pair. The hash becomes a small tombstone that expires after ARGV[3] seconds: while it
-- exists, reconcile() cannot queue the event again before PostgreSQL records its completion.
local now = now_ms()
local out = {}
for i = 4, #ARGV, 2 do
  local id = ARGV[i]
  local v = leased(id, ARGV[i + 1])
  if v then
    redis.call('XACK', stream(v[4]), GROUP, v[3])
    redis.call('HSET', ev(id), 'st', 'c')
    redis.call('HDEL', ev(id), 'p')
    advance(id, now)
    redis.call('EXPIRE', ev(id), ARGV[3])
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
end
return out

-- name: CANCEL
-- Cancel event ARGV[3] when it is queued, delayed, waiting or leased: it leaves the delayed
-- set and its conversation's queue (whose next event goes), and its stream entry is left
-- stale (a claim skips it) or, when leased, acknowledged. A lease on it is fenced off: the
-- state is no longer 'p'. The hash becomes a tombstone that expires after ARGV[4] seconds,
-- as an ack's does, and a leased event's id is published on P:cancel for the process that
-- runs it. When Redis lacks the event, a tombstone is left all the same: a publish on its
-- way to Redis, or a reconcile, cannot queue it once PostgreSQL recorded its cancellation.
-- Returns {state before ('' when Redis lacked the event), attempts}.
local now = now_ms()
local id = ARGV[3]
local h = ev(id)
local v = redis.call('HMGET', h, 'st', 'a', 'sid', 't')
local st = v[1]
if not st then
  redis.call('HSET', h, 'st', 'n')
  redis.call('EXPIRE', h, ARGV[4])
  return {'', 0}
end
if st == 'x' or st == 'c' or st == 'n' then return {st, v[2] or '0'} end
if st == 'p' then
  redis.call('XACK', stream(v[4]), GROUP, v[3])
  redis.call('PUBLISH', P .. ':cancel', id)
elseif st == 'd' or st == 'j' then
  redis.call('ZREM', P .. ':delayed', id)
end
advance(id, now)
redis.call('HSET', h, 'st', 'n')
redis.call('HDEL', h, 'p')
redis.call('EXPIRE', h, ARGV[4])
redis.call('PUBLISH', P .. ':wake', '')
return {st, v[2]}

-- name: NACK
-- Fail lease (ARGV[3] id, ARGV[4] attempt) with error ARGV[5]: retry after ARGV[6] ms, or
-- dead-letter it when it has had ARGV[7] attempts since its latest revival or ARGV[8] is
-- not '1'.
-- Returns {status, time (ms) of the retry or of the death}, or {} for a stale lease.
local now = now_ms()
local id = ARGV[3]
local v = leased(id, ARGV[4])
if not v then return {} end
redis.call('XACK', stream(v[4]), GROUP, v[3])
redis.call('HSET', ev(id), 'e', ARGV[5])
if ARGV[8] ~= '1' or tonumber(v[2]) - (tonumber(v[5]) or 0) >= tonumber(ARGV[7]) then
  bury(id, now)
  return {'dead', now}
end
-- Still its conversation's head: later events of the conversation wait for the retry.
local due = now + tonumber(ARGV[6])
redis.call('HSET', ev(id), 'st', 'd', 'av', due)
redis.call('ZADD', P .. ':delayed', due, id)
return {'pending', due}

-- name: RELEASE
-- Give back the leases given as (id, attempt) pairs in ARGV[3..] untouched (a consumer
-- shutting down): the attempt is refunded and the event is queued again at once.
local now = now_ms()
local n = 0
for i = 3, #ARGV, 2 do
  local id = ARGV[i]
  local v = leased(id, ARGV[i + 1])
  if v then
    redis.call('XACK', stream(v[4]), GROUP, v[3])
    redis.call('HINCRBY', ev(id), 'a', -1)
    redis.call('HSET', ev(id), 'av', now)
    schedule(id, now)
    n = n + 1
  end
end
if n > 0 then redis.call('PUBLISH', P .. ':wake', '') end
return n

-- name: REAP
-- Recover the events of dead consumers. XAUTOCLAIM hands consumer ARGV[3] up to ARGV[6]
-- entries per stream that nobody touched for ARGV[4] ms (a lease: heartbeats touch them);
-- for each, the lease in the hash is checked too. An expired lease counts as a failed
-- attempt: the event is queued again, or dead-lettered once it has had ARGV[5] attempts
-- since its latest revival.
-- ARGV[7..] are the types (all known types when none). Returns id, status, attempts,
-- error for each event recovered.
local now = now_ms()
local types = {}
for i = 7, #ARGV do types[#types + 1] = ARGV[i] end
if #types == 0 then types = redis.call('SMEMBERS', P .. ':types') end
local out = {}
local requeued = 0
for _, t in ipairs(types) do
  local s = stream(t)
  local res = redis.pcall('XAUTOCLAIM', s, GROUP, ARGV[3], ARGV[4], '0-0', 'COUNT', ARGV[6])
  if type(res) == 'table' and not res.err then
    for _, entry in ipairs(res[2]) do
      local sid, fields = entry[1], entry[2]
      local id = type(fields) == 'table' and fields[2] or ''
      local v = redis.call('HMGET', ev(id), 'st', 'sid', 'x', 'a', 'o', 'b')
      if v[1] == 'p' and v[2] == sid then
        if (tonumber(v[3]) or 0) <= now then
          redis.call('XACK', s, GROUP, sid)
          local err = 'lease expired (consumer ' .. (v[5] or '?') .. ' stopped)'
          redis.call('HSET', ev(id), 'e', err)
          local status = 'pending'
          if tonumber(v[4]) - (tonumber(v[6]) or 0) >= tonumber(ARGV[5]) then
            status = 'dead'
            bury(id, now)
          else
            redis.call('HSET', ev(id), 'av', now)
            schedule(id, now)
            requeued = requeued + 1
          end
          out[#out + 1] = id
          out[#out + 1] = status
          out[#out + 1] = v[4]
          out[#out + 1] = err
        end
        -- Otherwise a heartbeat renewed the lease meanwhile; its next beat takes it back.
      else
        redis.call('XACK', s, GROUP, sid)
      end
    end
  end
end
if requeued > 0 then redis.call('PUBLISH', P .. ':wake', '') end
return out

-- name: REVIVE
-- Send dead-lettered events back to the queue with a fresh attempt budget: the ids in
-- ARGV[4..], or when ARGV[3] is '*' the oldest ARGV[4] of them. The attempt count (the
-- fencing token) goes on; the budget counts from it. Returns id, attempts for each event
-- revived. A revived event of a conversation queues behind its conversation's unfinished
-- events.
local now = now_ms()
local ids = {}
if ARGV[3] == '*' then
  ids = redis.call('ZRANGE', P .. ':dead', 0, tonumber(ARGV[4]) - 1)
else
  for i = 4, #ARGV do ids[#ids + 1] = ARGV[i] end
end
local out = {}
for _, id in ipairs(ids) do
  if redis.call('ZREM', P .. ':dead', id) == 1 and redis.call('HGET', ev(id), 'st') == 'x' then
    local attempts = redis.call('HGET', ev(id), 'a') or '0'
    redis.call('HSET', ev(id), 'b', attempts, 'av', now)
    enqueue(id, now)
    out[#out + 1] = id
    out[#out + 1] = attempts
  end
end
if #out > 0 then redis.call('PUBLISH', P .. ':wake', '') end
return out

-- name: TRIM
-- Bound the streams without dropping unprocessed events: delete only entries below both
-- the oldest pending (delivered, unacknowledged) entry and the group's first undelivered
-- entry, i.e. entries that were delivered and acknowledged. ARGV[3..] are the types.
-- Returns how many entries were deleted.
local trimmed = 0
for i = 3, #ARGV do
  local s = stream(ARGV[i])
  local groups = redis.pcall('XINFO', 'GROUPS', s)
  local last = nil
  if type(groups) == 'table' and not groups.err then
    for _, g in ipairs(groups) do
      local name, delivered = nil, nil
      for j = 1, #g, 2 do
        if g[j] == 'name' then name = g[j + 1] end
        if g[j] == 'last-delivered-id' then delivered = g[j + 1] end
      end
      if name == GROUP then last = delivered end
    end
  end
  if last then
    local pending = redis.call('XPENDING', s, GROUP)
    local keep
    if tonumber(pending[1]) > 0 then
      keep = pending[2]
    else
      local ms, seq = string.match(last, '^(%d+)-(%d+)$')
      keep = ms .. '-' .. string.format('%d', tonumber(seq) + 1)
    end
    trimmed = trimmed + redis.call('XTRIM', s, 'MINID', keep)
  end
end
return trimmed

-- name: PRUNE
-- Forget consumers (stopped processes) that hold no entries and were idle for ARGV[3] ms.
-- The pending count is checked in the same script as the deletion, because deleting a
-- consumer also deletes its pending entries. ARGV[4..] are the types.
local pruned = 0
for i = 4, #ARGV do
  local s = stream(ARGV[i])
  local consumers = redis.pcall('XINFO', 'CONSUMERS', s, GROUP)
  if type(consumers) == 'table' and not consumers.err then
    for _, c in ipairs(consumers) do
      local name, pending, idle = nil, 0, 0
      for j = 1, #c, 2 do
        if c[j] == 'name' then name = c[j + 1] end
        if c[j] == 'pending' then pending = c[j + 1] end
        if c[j] == 'idle' then idle = c[j + 1] end
      end
      if name and pending == 0 and idle > tonumber(ARGV[3]) then
        redis.call('XGROUP', 'DELCONSUMER', s, GROUP, name)
        pruned = pruned + 1
      end
    end
  end
end
return pruned
