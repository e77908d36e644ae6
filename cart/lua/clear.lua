-- Delete a cart's lines, keeping the cart (its owner and expiry). KEYS: the cart.
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  if string.sub(all[i], 1, 2) == 'l:' then redis.call('HDEL', KEYS[1], all[i]) end
end
