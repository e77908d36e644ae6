-- A signed-in shopper's saved cart keeps the pointer to it (cart:user:<id>) alive as long as itself: refreshed after
-- the cart's own script (a separate call: the pointer and the cart live in different hash slots on a Redis Cluster),
-- if the pointer still names this cart.
-- KEYS: the pointer. ARGV: the cart's token, the ttl.
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return 0
