-- Read a cart and refresh its expiry, in one round trip.
-- KEYS: the cart. ARGV: guest ttl, owned ttl, the caller's user id ('' for a guest).
-- Returns {0} for a missing cart or another shopper's, else {1, owner, lines} (lines: {sku, 'quantity:price', ...}).
local owner, lines = parse(redis.call('HGETALL', KEYS[1]), false)
if not usable(owner, ARGV[3]) then return {0} end
redis.call('EXPIRE', KEYS[1], owner ~= '' and ARGV[2] or ARGV[1])
return {1, owner, lines}
