"""PHP's `http_build_query`, byte for byte, for the `superlogica` delivery format
(webhooks/superlogica.py).

`php_build_query` rules (PHP 8, ext/standard/http.c):

- Pairs are joined with `&`, in the mapping's own order.
- Keys and string values are encoded like PHP's `urlencode`: ASCII letters, digits and `-_.`
  stay, a space becomes `+`, every other UTF-8 byte becomes `%XX` (upper case), `~` included.
- A nested mapping or list under key `k` writes its entries as `k%5Bsub%5D=...` (the brackets
  are written already percent-encoded, as PHP does); lists use their indexes 0, 1, ...
- An empty mapping or list writes nothing, and `None` is skipped (PHP skips null).
- `True` is written `1`, `False` `0`, ints in decimal. Floats and other types raise
  `TypeError`: money must go through `money()` first, never through a float.
- `numeric_prefix` is put before top-level integer keys only, as PHP's second argument.
"""

from __future__ import annotations

from collections.abc import Mapping

# Bytes PHP's urlencode leaves alone; note that `~` is not among them (rawurlencode keeps it).
_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")
_OPEN, _CLOSE = "%5B", "%5D"


def php_urlencode(text: str) -> str:
    """PHP's `urlencode` (RFC 1738 flavour) over the UTF-8 bytes of `text`."""
    out: list[str] = []
    for byte in text.encode("utf-8"):
        if byte in _UNRESERVED:
            out.append(chr(byte))
        elif byte == 0x20:
            out.append("+")
        else:
            out.append(f"%{byte:02X}")
    return "".join(out)


def php_build_query(params: Mapping[str, object], numeric_prefix: str = "") -> str:
    """PHP's `http_build_query($params, $numeric_prefix)` with PHP_QUERY_RFC1738."""
    pairs: list[str] = []
    for key, value in _entries(params):
        # PHP puts the numeric prefix raw (not encoded) before top-level integer keys only.
        name = numeric_prefix + str(key) if isinstance(key, int) else php_urlencode(key)
        _append(pairs, name, value)
    return "&".join(pairs)


def _entries(container: object) -> list[tuple[str | int, object]]:
    if isinstance(container, Mapping):
        return [(_key(k), v) for k, v in container.items()]
    if isinstance(container, list | tuple):
        return list(enumerate(container))
    raise TypeError(f"not a mapping or list: {type(container).__name__}")


def _key(key: object) -> str | int:
    # PHP array keys are strings or integers; a bool key would become 0/1 in PHP, which is
    # surely a caller's mistake here, so it is refused along with every other type.
    if isinstance(key, bool) or not isinstance(key, str | int):
        raise TypeError(f"form keys must be str or int, not {type(key).__name__}")
    return key


def _append(pairs: list[str], name: str, value: object) -> None:
    """Append `name=value`, or the entries of a container under `name[...]`."""
    if value is None:
        return
    if isinstance(value, Mapping | list | tuple):
        for key, item in _entries(value):
            sub = str(key) if isinstance(key, int) else php_urlencode(key)
            _append(pairs, f"{name}{_OPEN}{sub}{_CLOSE}", item)
        return
    pairs.append(f"{name}={_scalar(value)}")


def _scalar(value: object) -> str:
    if isinstance(value, bool):  # before int: bool is an int subclass
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return php_urlencode(value)
    raise TypeError(f"cannot form-encode a {type(value).__name__}; convert it to str first")
