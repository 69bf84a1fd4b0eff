import { createHash } from 'node:crypto';
import type { RedisClientLike } from './options.js';

// Every script reads the time with redis.call('TIME'): one clock (the Redis primary's) for every
// replica, so skewed replica clocks cannot move a shared deadline. Only durations leave a script.
// `redis.replicate_commands()` lets a script write after TIME on Redis 3.2-4 (effects replication is
// the only mode from Redis 5 on, where the call is a harmless no-op).

export interface Script {
  readonly source: string;
  readonly sha: string;
}

function script(source: string): Script {
  return Object.freeze({ source, sha: createHash('sha1').update(source).digest('hex') });
}

const NOW_MS = `
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
`;

/**
 * GCRA for one key. KEYS[1]: the key (holds the theoretical arrival time, ms on the Redis clock, with
 * a TTL until it no longer matters). ARGV[1]: interval between permits T, ms; ARGV[2]: tolerance
 * tau = (burst - 1) T, ms. Returns { 1, 0, remaining } or { 0, wait in microseconds, 0 }.
 */
export const GCRA = script(`${NOW_MS}
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local wait = tat - tolerance - now
if wait > interval * 1e-9 then
  return { 0, math.ceil(wait * 1000), 0 }
end
local nextTat = tat + interval
redis.call('SET', KEYS[1], string.format('%.3f', nextTat), 'PX', math.max(1, math.ceil(nextTat - now)))
local slack = now + tolerance - nextTat
local remaining = 0
if slack >= -interval * 1e-9 then remaining = math.floor(slack / interval + 1e-9) + 1 end
return { 1, 0, remaining }
`);

/**
 * Replica presence. KEYS[1]: sorted set of replica ids scored by their last heartbeat (Redis ms).
 * ARGV[1]: this replica's id; ARGV[2]: how long an entry counts, ms; ARGV[3]: '1' to leave. Returns
 * the number of live replicas.
 */
export const PRESENCE = script(`${NOW_MS}
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
if ARGV[3] == '1' then
  redis.call('ZREM', KEYS[1], ARGV[1])
else
  redis.call('ZADD', KEYS[1], now, ARGV[1])
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - ttl)
redis.call('PEXPIRE', KEYS[1], ttl)
return redis.call('ZCARD', KEYS[1])
`);

/**
 * Adds two deltas to the current bucket of a window hash and returns the window's sums. Fields are
 * 'a<bucket>' and 'b<bucket>', bucket = floor(Redis ms / bucketMs). Expects \`now\`, \`bucketMs\`,
 * \`buckets\`, \`da\`, \`db\` and \`win\` (the hash key) to be defined.
 */
const WINDOW = `
local bucket = math.floor(now / bucketMs)
if da > 0 then redis.call('HINCRBY', win, 'a' .. bucket, da) end
if db > 0 then redis.call('HINCRBY', win, 'b' .. bucket, db) end
local fields = {}
for i = bucket - buckets + 1, bucket do
  fields[#fields + 1] = 'a' .. i
  fields[#fields + 1] = 'b' .. i
end
local values = redis.call('HMGET', win, unpack(fields))
local sa, sb = 0, 0
for i = 1, #values, 2 do
  sa = sa + (tonumber(values[i]) or 0)
  sb = sb + (tonumber(values[i + 1]) or 0)
end
-- Old buckets are dropped once they outnumber live ones, so the hash stays bounded.
if redis.call('HLEN', win) > 4 * buckets then
  for _, f in ipairs(redis.call('HKEYS', win)) do
    if tonumber(string.sub(f, 2)) <= bucket - buckets then redis.call('HDEL', win, f) end
  end
end
if sa + sb > 0 then redis.call('PEXPIRE', win, math.ceil(2 * bucketMs * buckets)) end
`;

/**
 * Fleet retry budget sync. KEYS[1]: window hash (a: requests, b: retries); KEYS[2]: presence set.
 * ARGV: bucketMs, buckets, requests delta, retries delta, replica id. Returns { requests, retries,
 * replicas } over the window.
 */
export const BUDGET_SYNC = script(`${NOW_MS}
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local bucketMs = tonumber(ARGV[1])
local buckets = tonumber(ARGV[2])
local da = tonumber(ARGV[3])
local db = tonumber(ARGV[4])
local win = KEYS[1]
${WINDOW}
local windowMs = bucketMs * buckets
redis.call('ZADD', KEYS[2], now, ARGV[5])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - windowMs)
redis.call('PEXPIRE', KEYS[2], math.ceil(windowMs))
return { sa, sb, redis.call('ZCARD', KEYS[2]) }
`);

/**
 * Publishes a breaker transition. KEYS[1]: meta hash (epoch, ver, state, until, origin, reason);
 * KEYS[2]: the fleet's window hash, cleared by every transition (a new period starts from zero).
 * ARGV: channel, epoch candidate, state, ms, origin, reason, meta TTL ms. The epoch is set once per
 * meta's life: a Redis that lost its data starts a new epoch, so replicas know versions restarted.
 * Returns { epoch, ver }. Message: epoch|ver|state|ms|origin|reason.
 */
export const PUBLISH = script(`${NOW_MS}
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if not epoch then
  epoch = ARGV[2]
  redis.call('HSET', KEYS[1], 'epoch', epoch)
end
local ver = redis.call('HINCRBY', KEYS[1], 'ver', 1)
local ms = tonumber(ARGV[4])
redis.call('HSET', KEYS[1], 'state', ARGV[3], 'until', now + ms, 'origin', ARGV[5], 'reason', ARGV[6])
redis.call('PEXPIRE', KEYS[1], ARGV[7])
redis.call('DEL', KEYS[2])
redis.call('PUBLISH', ARGV[1], epoch .. '|' .. ver .. '|' .. ARGV[3] .. '|' .. ms .. '|' .. ARGV[5] .. '|' .. ARGV[6])
return { epoch, ver }
`);

/**
 * Reads the fleet state and, when aggregating, adds this replica's counts and reads the fleet's.
 * KEYS[1]: meta hash; KEYS[2]: window hash (a: calls, b: failures). ARGV: aggregate ('1'/'0'),
 * bucketMs, buckets, calls delta, failures delta, known epoch, known version. Deltas counted under an
 * older fleet state than the current one (a transition the caller had not heard of yet) are dropped.
 * Returns { epoch or '', ver, state, remaining ms, origin, reason, calls, failures }.
 */
export const BREAKER_SYNC = script(`${NOW_MS}
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local m = redis.call('HMGET', KEYS[1], 'epoch', 'ver', 'state', 'until', 'origin', 'reason')
local result = { '', 0, '', 0, '', '', 0, 0 }
if m[1] then
  local remaining = math.max(0, (tonumber(m[4]) or 0) - now)
  result = { m[1], tonumber(m[2]) or 0, m[3] or '', remaining, m[5] or '', m[6] or '', 0, 0 }
end
if ARGV[1] == '1' then
  local bucketMs = tonumber(ARGV[2])
  local buckets = tonumber(ARGV[3])
  local da = tonumber(ARGV[4])
  local db = tonumber(ARGV[5])
  if m[1] and (m[1] ~= ARGV[6] or (tonumber(m[2]) or 0) > tonumber(ARGV[7])) then
    da = 0
    db = 0
  end
  local win = KEYS[2]
  ${WINDOW}
  result[7] = sa
  result[8] = sb
end
return result
`);

function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT');
}

/**
 * EVALSHA, falling back to EVAL (which also caches the script) when the server does not know it: on
 * the first call, and after a restart or SCRIPT FLUSH.
 */
export function runScript(
  client: RedisClientLike,
  s: Script,
  keys: readonly string[],
  args: readonly (string | number)[],
): Promise<unknown> {
  return client.evalsha(s.sha, keys.length, ...keys, ...args).catch((error: unknown) => {
    if (isNoScript(error)) return client.eval(s.source, keys.length, ...keys, ...args);
    throw error;
  });
}
