-- Add to a line or set its quantity (0 removes it), checked against the limits in the same atomic step, so
-- concurrent clicks never lose an update nor pass a limit together.
-- KEYS: the cart. ARGV: sku, quantity, mode ('add' | 'set'), max per line, max lines, guest ttl, owned ttl, the
-- caller's user id ('' for a guest), the units available, the price the shopper sees.
-- Returns {new quantity, previous quantity, owner, lines}, or a refusal {code, previous quantity[, available]}:
-- -1 no such cart (or another shopper's), -2 over the per-line maximum, -3 over what is available, -4 too many lines.
local owner, lines, mine = parse(redis.call('HGETALL', KEYS[1]), ARGV[1])
if not usable(owner, ARGV[8]) then return {-1, 0} end
local current, new, available = quantity(mine), tonumber(ARGV[2]), tonumber(ARGV[9])
if ARGV[3] == 'add' then new = current + new end
if new > tonumber(ARGV[4]) then return {-2, current} end
if new > current and new > available then return {-3, current, available} end
if current == 0 and new > 0 and #lines / 2 >= tonumber(ARGV[5]) then return {-4, current} end
if new <= 0 then
  redis.call('HDEL', KEYS[1], 'l:' .. ARGV[1])
else
  local line = string.format('%d:%s', new, ARGV[10])
  redis.call('HSET', KEYS[1], 'l:' .. ARGV[1], line)
  lines[#lines + 1] = ARGV[1]
  lines[#lines + 1] = line
end
redis.call('EXPIRE', KEYS[1], owner ~= '' and ARGV[7] or ARGV[6])
return {new, current, owner, lines}
