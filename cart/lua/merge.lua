-- Fold lines read from another cart (the shopper's cart from before they signed in) into this one.
-- KEYS: the target cart (the only key: the other cart lives in another hash slot on a Redis Cluster, so
-- cart/redis_store.py deletes it after this script). ARGV: the target's ttl, max lines, then (sku, quantity, cap,
-- price) quadruples. Adds each quantity to the target's line, capped at its cap; returns the quantities added, in
-- order.
local _, lines = parse(redis.call('HGETALL', KEYS[1]), false)
local count, max_lines, added = #lines / 2, tonumber(ARGV[2]), {}
for i = 3, #ARGV, 4 do
  local field, want, cap, price = 'l:' .. ARGV[i], tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2]), ARGV[i + 3]
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
redis.call('EXPIRE', KEYS[1], ARGV[1])
return added
