"""Routes: which destinations a message goes to.

A tenant's :class:`RouteTable` is an ordered list of :class:`RouteRule` s and a default.
Each rule's match fields are AND-ed, and a field left unset matches anything, so a rule
with no match fields matches every message. Rules are tried in order: a matching rule
adds its destinations, and when its ``stop`` is true (the default) evaluation ends there,
so the first matching stop rule wins; a rule with ``stop = false`` lets evaluation go on
and the destinations of every matching rule accumulate. The table's ``default`` is used
only when no rule matched. Destination names come back de-duplicated, in the order they
were first named.

:class:`Router` is the compiled form of a table: regexes are compiled once, and
:meth:`Router.resolve` runs on the ingest path for every message, so it does no work for
fields a rule leaves unset and builds no list when the first matching rule stops.

Regexes are Python :mod:`re` patterns, searched (not anchored: write ``^...$`` to match a
whole sender). Python's engine backtracks and has no time limit, so a pattern is at most
:data:`MAX_PATTERN_CHARS` characters and is matched only against the first
:data:`MAX_MATCH_CHARS` characters of the content (:data:`MAX_SENDER_CHARS` of the
sender). That bounds the cost of ordinary patterns; it cannot make a pathological one
(nested quantifiers such as ``(a+)+$``) cheap, which is acceptable because routes are the
operator's configuration, not input from senders.

Validation raises :class:`~engine.errors.ConfigError` whose ``key`` is the bad field's path
relative to the Struct being built (``sender_regex``, ``rules[2].name``). When msgspec
decodes a table, it wraps that error in a ``ValidationError`` whose path says where the
Struct sits (``$.routes.rules[2]``) and whose ``__cause__`` is the ConfigError, so the two
join into the full key.
"""

from __future__ import annotations

import re
from collections.abc import Collection

import msgspec

from ..errors import ConfigError
from ..model import Message

__all__ = [
    "MAX_MATCH_CHARS",
    "MAX_PATTERN_CHARS",
    "MAX_SENDER_CHARS",
    "RouteRule",
    "RouteTable",
    "Router",
    "check_route_destinations",
]

MAX_PATTERN_CHARS = 512
"""The longest regex (or keyword) a rule may hold."""
MAX_MATCH_CHARS = 4096
"""Content is matched on its first this many characters (a 10-part SMS is about 1,530)."""
MAX_SENDER_CHARS = 256
"""Senders are matched on their first this many characters (they are 11 to 16 in practice)."""

# A receiving number is E.164 (what the pipeline stores) or a short code. The length
# limit on short codes rejects national numbers ("07700900001"), which would never match.
_RECEIVING_NUMBER = re.compile(r"\+[1-9][0-9]{1,14}|[0-9]{3,8}")


class RouteRule(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One rule: the messages it matches and the destinations they go to.

    Every match field left at its default matches anything; the fields set must all match.
    """

    name: str
    """Names the rule in logs and errors; unique within its table."""
    numbers: tuple[str, ...] = ()
    """Receiving numbers (E.164, or a short code), any of which matches exactly."""
    sender: str | None = None
    """The sender exactly as stored: E.164 for numbers, the text as sent for names."""
    sender_regex: str | None = None
    """A regex searched in the sender (``^Google$`` for a whole sender, ``(?i)`` to
    ignore case)."""
    keyword: str | None = None
    """Words that must appear in the content as a whole word or phrase, ignoring case:
    both sides are case-folded, and the match must not be preceded or followed by a
    letter, digit or underscore (``code`` matches "Your CODE: 1234", not "barcode")."""
    content_regex: str | None = None
    """A regex searched in the content (``(?i)`` to ignore case)."""
    has_code: bool | None = None
    """True: only messages with a one-time code; False: only messages without one."""
    carriers: tuple[str, ...] = ()
    """Carrier instance names, any of which matches."""
    routing_tag: str | None = None
    """The message's routing tag, exactly."""
    destinations: tuple[str, ...]
    """Destination instance names the matched message goes to (at least one)."""
    stop: bool = True
    """Whether a match ends evaluation (first match wins); false lets later rules add
    their destinations too."""

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise ConfigError("a rule needs a name", key="name")
        for index, number in enumerate(self.numbers):
            if _RECEIVING_NUMBER.fullmatch(number) is None:
                message = f"{number!r} is not an E.164 number (+ and digits) or a short code"
                raise ConfigError(message, key=f"numbers[{index}]")
        if self.sender is not None and not self.sender:
            raise ConfigError("must not be empty (leave it out to match any sender)", key="sender")
        if self.keyword is not None:
            _check_pattern_length(self.keyword, "keyword")
            if not self.keyword.strip():
                raise ConfigError("must not be blank", key="keyword")
        for key, pattern in (
            ("sender_regex", self.sender_regex),
            ("content_regex", self.content_regex),
        ):
            if pattern is not None:
                _compile(pattern, key)
        for index, carrier in enumerate(self.carriers):
            if not carrier:
                raise ConfigError("must not be empty", key=f"carriers[{index}]")
        if not self.destinations:
            raise ConfigError("a rule needs at least one destination", key="destinations")
        for index, destination in enumerate(self.destinations):
            if not destination:
                raise ConfigError("must not be empty", key=f"destinations[{index}]")


class RouteTable(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A tenant's routes: rules tried in order, and where messages go when none matched."""

    rules: tuple[RouteRule, ...] = ()
    default: tuple[str, ...] = ()
    """Destination names for a message no rule matched; empty keeps it in the inbox only."""

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for index, rule in enumerate(self.rules):
            if rule.name in seen:
                raise ConfigError(
                    f"another rule is named {rule.name!r}", key=f"rules[{index}].name"
                )
            seen.add(rule.name)
        for index, destination in enumerate(self.default):
            if not destination:
                raise ConfigError("must not be empty", key=f"default[{index}]")


def check_route_destinations(
    table: RouteTable, known: Collection[str], *, key: str = "routes"
) -> None:
    """Raise :class:`ConfigError` if ``table`` names a destination not in ``known``.

    ``key`` is where the table sits in the configuration; the error's key extends it
    (``routes.rules[2].destinations[0]``, ``routes.default[1]``).
    """
    for rule_index, rule in enumerate(table.rules):
        for index, destination in enumerate(rule.destinations):
            if destination not in known:
                where = f"{key}.rules[{rule_index}].destinations[{index}]"
                raise ConfigError(_unknown_destination(destination, known), key=where)
    for index, destination in enumerate(table.default):
        if destination not in known:
            raise ConfigError(
                _unknown_destination(destination, known), key=f"{key}.default[{index}]"
            )


class _CompiledRule:
    """A rule ready to match: sets for membership, compiled patterns, None for "any"."""

    __slots__ = (
        "carriers",
        "content_pattern",
        "destinations",
        "has_code",
        "keyword_pattern",
        "numbers",
        "routing_tag",
        "sender",
        "sender_pattern",
        "stop",
    )

    def __init__(self, rule: RouteRule) -> None:
        self.numbers = frozenset(rule.numbers) if rule.numbers else None
        self.carriers = frozenset(rule.carriers) if rule.carriers else None
        self.sender = rule.sender
        self.routing_tag = rule.routing_tag
        self.has_code = rule.has_code
        self.sender_pattern = _optional_pattern(rule.sender_regex, "sender_regex")
        self.content_pattern = _optional_pattern(rule.content_regex, "content_regex")
        self.keyword_pattern = (
            None if rule.keyword is None else re.compile(_keyword_regex(rule.keyword))
        )
        self.destinations = _unique(rule.destinations)
        self.stop = rule.stop


class Router:
    """A :class:`RouteTable` compiled for matching; cheap to call for every message."""

    __slots__ = ("_default", "_rules", "_table")

    def __init__(self, table: RouteTable) -> None:
        self._table = table
        self._rules = tuple(_CompiledRule(rule) for rule in table.rules)
        self._default = _unique(table.default)

    @property
    def table(self) -> RouteTable:
        """The table this router was compiled from."""
        return self._table

    def resolve(self, message: Message) -> tuple[str, ...]:
        """The destination names ``message`` goes to, each once, in first-named order.

        Never raises for a well-formed :class:`Message`; an empty tuple means the message
        stays in the inbox only.
        """
        collected: list[str] | None = None
        content: str | None = None  # the bounded content, read when a rule first needs it
        folded: str | None = None  # its case-folded form, for keywords
        for rule in self._rules:
            # Cheapest tests first: set lookups and equality, then regexes.
            if rule.numbers is not None and message.number_used not in rule.numbers:
                continue
            if rule.carriers is not None and message.carrier not in rule.carriers:
                continue
            if rule.sender is not None and message.sender_id != rule.sender:
                continue
            if rule.routing_tag is not None and message.routing_tag != rule.routing_tag:
                continue
            if rule.has_code is not None and (message.otp is not None) != rule.has_code:
                continue
            # Slicing a str no longer than the bound returns it unchanged, without a copy.
            if (
                rule.sender_pattern is not None
                and rule.sender_pattern.search(message.sender_id[:MAX_SENDER_CHARS]) is None
            ):
                continue
            if rule.keyword_pattern is not None:
                if folded is None:
                    if content is None:
                        content = message.content[:MAX_MATCH_CHARS]
                    folded = content.casefold()
                if rule.keyword_pattern.search(folded) is None:
                    continue
            if rule.content_pattern is not None:
                if content is None:
                    content = message.content[:MAX_MATCH_CHARS]
                if rule.content_pattern.search(content) is None:
                    continue
            if collected is None:
                if rule.stop:
                    return rule.destinations
                collected = list(rule.destinations)
            else:
                collected.extend(rule.destinations)
                if rule.stop:
                    break
        if collected is None:
            return self._default
        return _unique(collected)


def _check_pattern_length(pattern: str, key: str) -> None:
    if len(pattern) > MAX_PATTERN_CHARS:
        message = f"is {len(pattern)} characters long; the limit is {MAX_PATTERN_CHARS}"
        raise ConfigError(message, key=key)


def _compile(pattern: str, key: str) -> re.Pattern[str]:
    _check_pattern_length(pattern, key)
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ConfigError(f"{pattern!r} is not a valid regex: {exc}", key=key) from None


def _optional_pattern(pattern: str | None, key: str) -> re.Pattern[str] | None:
    return None if pattern is None else _compile(pattern, key)


def _keyword_regex(keyword: str) -> str:
    # Lookarounds rather than \b: \b needs a word character at the keyword's own edge, so
    # it would never match a keyword that starts or ends with punctuation ("#stop").
    return rf"(?<!\w){re.escape(keyword.strip().casefold())}(?!\w)"


def _unique(names: Collection[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(names))


def _unknown_destination(name: str, known: Collection[str]) -> str:
    listed = ", ".join(sorted(known)) or "none"
    return f"no destination is named {name!r} (configured: {listed})"
