"""E-mail addresses compared as the shop compares them where an address grants something (guest orders joining an
account, an account found by its address)."""


def same_address(a: str, b: str) -> bool:
    """Whether two addresses are the same mailbox for the shop: ASCII letters in any case, anything else exactly.
    A database's case-insensitive match (UPPER() under the server's locale) or Unicode case folding takes look-alikes
    for one address: 'gmaıl.com' (a dotless ı) and 'gmail.com', 'ſite.com' and 'site.com' are other domains a
    stranger can own. So a query may find candidates with ``email__iexact``; this decides."""
    a, b = a.strip(), b.strip()
    if a.isascii() and b.isascii():
        return a.lower() == b.lower()
    return a == b
