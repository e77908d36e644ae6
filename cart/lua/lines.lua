-- Shared by the cart's scripts (cart/redis_store.py puts this file before each of them).
-- A cart is a hash: 'owner' (a user id, or empty for a guest), 'created', and a field 'l:<sku>' per line holding
-- '<quantity>:<the price the shopper saw>'.

-- The hash read whole (HGETALL's flat list): its owner (nil for no cart), its lines as a flat
-- {sku, 'quantity:price', ...} list leaving out the line of ``sku``, and that line's value (nil if it has none).
local function parse(all, sku)
  local owner, lines, mine = nil, {}, nil
  for i = 1, #all, 2 do
    local field = all[i]
    if field == 'owner' then
      owner = all[i + 1]
    elseif string.sub(field, 1, 2) == 'l:' then
      local s = string.sub(field, 3)
      if s == sku then mine = all[i + 1] else lines[#lines + 1] = s; lines[#lines + 1] = all[i + 1] end
    end
  end
  return owner, lines, mine
end

-- The quantity of a line's value (0 for none).
local function quantity(value) return value and tonumber(string.match(value, '^%d+')) or 0 end

-- Whether a shopper may use a cart with this owner: a guest's cart (owner '') is anyone's who holds its token;
-- a signed-in shopper's cart is theirs alone (any other caller sees no cart).
local function usable(owner, user_id) return owner and (owner == '' or owner == user_id) end
