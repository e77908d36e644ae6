-- Fold one cart into another, then delete it.
-- KEYS: the target cart, the source cart, the target's saved-cart pointer. ARGV: the target's ttl, max lines, the
-- target's token, then (sku, cap, price) triples.
-- Adds every source line to the target, each capped at its cap; returns the quantities added, in order.
local _, lines = parse(redis.call('HGETALL', KEYS[1]), false)
local count, max_lines, added = #lines / 2, tonumber(ARGV[2]), {}
for i = 4, #ARGV, 3 do
  local field, cap, price = 'l:' .. ARGV[i], tonumber(ARGV[i + 1]), ARGV[i + 2]
  local want = quantity(redis.call('HGET', KEYS[2], field))
  local have = quantity(redis.call('HGET', KEYS[1], field))
  local new = math.min(have + want, cap)
  if new > have and (have > 0 or count < max_lines) then
    if have == 0 then count = count + 1 end
    redis.call('HSET', KEYS[1], field, string.format('%d:%s', new, price))
    table.insert(added, new - have)
  else
    table.insert(added, 0)
  end
end
redis.call('DEL', KEYS[2])
redis.call('EXPIRE', KEYS[1], ARGV[1])
keep_pointer(KEYS[3], ARGV[3], ARGV[1])
return added
