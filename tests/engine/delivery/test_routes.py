"""Routes: which destinations a message goes to, and the checks on a route table."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.delivery._routes import (
    MAX_MATCH_CHARS,
    MAX_PATTERN_CHARS,
    Router,
    RouteRule,
    RouteTable,
    check_route_destinations,
)
from engine.errors import ConfigError
from engine.model import Message, Otp

NUMBERS = ("+447700900001", "+12025550123", "50131")
SENDERS = ("+447700900123", "Google", "AMAZON PAY", "")
CARRIERS = ("twilio", "smpp-eu", "modem")
TAGS = ("billing", "ops")
RULE_DESTINATIONS = ("hook", "slack", "mail")
DEFAULT_DESTINATIONS = ("archive", "fallback")
KEYWORDS = ("code", "your code", "#stop", "straße", "Ünïcode")
REGEXES = ("^Goo", "[0-9]{4,8}", "(?i)pay", "^$", "a|b", r"\bcode\b")


def message(**fields: Any) -> Message:
    values: dict[str, Any] = {
        "id": "m1",
        "tenant": "acme",
        "number_used": "+447700900001",
        "sender_id": "Google",
        "content": "G-123456 is your Google verification code.",
        "encoding": "gsm7",
        "parts": 1,
        "received_at": datetime(2024, 5, 1, 10, 0, tzinfo=UTC),
        "sent_at": None,
        "carrier": "twilio",
        "carrier_message_id": None,
        "otp": Otp(code="123456", confidence=0.9),
    }
    values.update(fields)
    return Message(**values)


def route(*rules: RouteRule, default: tuple[str, ...] = ()) -> Router:
    return Router(RouteTable(rules=rules, default=default))


def rule(name: str = "r", destinations: tuple[str, ...] = ("hook",), **match: Any) -> RouteRule:
    return RouteRule(name=name, destinations=destinations, **match)


# --- matching, field by field ----------------------------------------------------------


@pytest.mark.parametrize(
    ("match", "fields", "matches"),
    [
        ({"numbers": ("+447700900001", "+12025550123")}, {}, True),
        ({"numbers": ("+12025550123",)}, {}, False),
        ({"sender": "Google"}, {}, True),
        ({"sender": "google"}, {}, False),  # exact: case matters
        ({"sender_regex": "^Goo"}, {}, True),
        ({"sender_regex": "oog"}, {}, True),  # searched, not anchored
        ({"sender_regex": "^oog"}, {}, False),
        ({"content_regex": r"G-\d{6}"}, {}, True),
        ({"content_regex": "google"}, {}, False),
        ({"content_regex": "(?i)google"}, {}, True),
        ({"has_code": True}, {}, True),
        ({"has_code": False}, {}, False),
        ({"has_code": False}, {"otp": None}, True),
        ({"has_code": True}, {"otp": None}, False),
        ({"carriers": ("smpp-eu", "twilio")}, {}, True),
        ({"carriers": ("modem",)}, {}, False),
        ({"routing_tag": "billing"}, {"routing_tag": "billing"}, True),
        ({"routing_tag": "billing"}, {"routing_tag": None}, False),
        ({"routing_tag": "billing"}, {"routing_tag": "Billing"}, False),
        ({"numbers": ("+447700900001",), "sender": "Google", "has_code": True}, {}, True),
        ({"numbers": ("+447700900001",), "sender": "Amazon"}, {}, False),  # AND-ed
    ],
)
def test_each_match_field(match: dict[str, Any], fields: dict[str, Any], matches: bool) -> None:
    router = route(rule(**match), default=("fallback",))
    assert router.resolve(message(**fields)) == (("hook",) if matches else ("fallback",))


@pytest.mark.parametrize(
    ("keyword", "content", "matches"),
    [
        ("code", "Your CODE: 1234", True),
        ("code", "code", True),
        ("code", "1234 is your code.", True),
        ("code", "Scan the barcode", False),
        ("code", "codes 1234", False),
        ("code", "code_1234", False),  # the underscore is a word character
        ("your code", "This is YOUR  code", False),  # a phrase is matched as written
        ("your code", "this is your code: 1", True),
        ("#stop", "please #STOP now", True),
        ("#stop", "please #stopped", False),
        ("straße", "STRASSE 5", True),  # case folding, not just lower-casing
        ("Ünïcode", "ünïcode!", True),
        (" code ", "the code", True),  # surrounding blanks in the setting do not count
    ],
)
def test_keyword_is_a_whole_word_ignoring_case(keyword: str, content: str, matches: bool) -> None:
    router = route(rule(keyword=keyword))
    assert router.resolve(message(content=content)) == (("hook",) if matches else ())


def test_content_is_matched_on_its_first_characters_only() -> None:
    router = route(rule("kw", keyword="late"), rule("re", ("slack",), content_regex="late"))
    early = "x " * 10 + "late"
    late = "x" * MAX_MATCH_CHARS + " late"
    assert router.resolve(message(content=early)) == ("hook",)
    assert router.resolve(message(content=late)) == ()


# --- order, accumulation, default -------------------------------------------------------


def test_first_matching_stop_rule_wins() -> None:
    router = route(
        rule("otp-eu", ("hook",), numbers=("+12025550123",)),
        rule("google", ("slack",), sender="Google"),
        rule("codes", ("mail",), has_code=True),
        default=("fallback",),
    )
    assert router.resolve(message()) == ("slack",)


def test_rules_that_do_not_stop_accumulate_until_one_stops() -> None:
    router = route(
        rule("audit", ("archive",), stop=False),
        rule("google", ("slack", "archive"), sender="Google", stop=False),
        rule("codes", ("hook", "slack"), has_code=True),
        rule("never reached", ("mail",)),
        default=("fallback",),
    )
    assert router.resolve(message()) == ("archive", "slack", "hook")
    # Without a code the stop rule does not match, so evaluation runs to the end.
    assert router.resolve(message(otp=None)) == ("archive", "slack", "mail")


def test_matching_rules_that_do_not_stop_replace_the_default() -> None:
    router = route(rule("audit", ("archive",), stop=False), default=("fallback",))
    assert router.resolve(message()) == ("archive",)
    nothing = route(rule("audit", ("archive",), sender="nobody"), default=("fallback",))
    assert nothing.resolve(message()) == ("fallback",)


def test_destinations_are_de_duplicated_in_first_seen_order() -> None:
    router = route(
        rule("a", ("slack", "hook", "slack"), stop=False),
        rule("b", ("mail", "hook")),
        default=("fallback", "fallback"),
    )
    assert router.resolve(message()) == ("slack", "hook", "mail")
    assert route(default=("fallback", "archive", "fallback")).resolve(message()) == (
        "fallback",
        "archive",
    )


def test_an_empty_table_routes_nowhere() -> None:
    assert route().resolve(message()) == ()


def test_router_keeps_its_table() -> None:
    table = RouteTable(rules=(rule(),), default=("fallback",))
    assert Router(table).table is table


# --- properties ---------------------------------------------------------------------------


def _matches(rule: RouteRule, message: Message) -> bool:
    """An independent reading of the rule semantics, written for clarity, not speed."""
    content = message.content[:MAX_MATCH_CHARS]
    checks = [
        not rule.numbers or message.number_used in rule.numbers,
        rule.sender is None or message.sender_id == rule.sender,
        rule.sender_regex is None or re.search(rule.sender_regex, message.sender_id) is not None,
        rule.keyword is None or _has_word(content.casefold(), rule.keyword.strip().casefold()),
        rule.content_regex is None or re.search(rule.content_regex, content) is not None,
        rule.has_code is None or (message.otp is not None) == rule.has_code,
        not rule.carriers or message.carrier in rule.carriers,
        rule.routing_tag is None or message.routing_tag == rule.routing_tag,
    ]
    return all(checks)


def _has_word(text: str, word: str) -> bool:
    def is_word(char: str) -> bool:
        return char.isalnum() or char == "_"

    start = text.find(word)
    while start != -1:
        end = start + len(word)
        before_ok = start == 0 or not is_word(text[start - 1])
        after_ok = end == len(text) or not is_word(text[end])
        if before_ok and after_ok:
            return True
        start = text.find(word, start + 1)
    return False


def _resolve_slowly(table: RouteTable, message: Message) -> tuple[str, ...]:
    names: list[str] = []
    matched = False
    for candidate in table.rules:
        if _matches(candidate, message):
            matched = True
            names += candidate.destinations
            if candidate.stop:
                break
    if not matched:
        names = list(table.default)
    return tuple(dict.fromkeys(names))


def _text() -> st.SearchStrategy[str]:
    words = st.sampled_from(
        ["code", "CODE", "barcode", "your", "STRASSE", "#STOP", "ÜNÏCODE", "G-1234", " ", "_"]
    )
    return st.one_of(st.text(max_size=40), st.lists(words, max_size=8).map(" ".join))


messages = st.builds(
    message,
    number_used=st.one_of(st.sampled_from(NUMBERS), st.text(max_size=16)),
    sender_id=st.one_of(st.sampled_from(SENDERS), st.text(max_size=20)),
    content=st.one_of(_text(), st.text(min_size=MAX_MATCH_CHARS, max_size=MAX_MATCH_CHARS + 9)),
    carrier=st.one_of(st.sampled_from(CARRIERS), st.text(max_size=8)),
    routing_tag=st.one_of(st.none(), st.sampled_from(TAGS), st.text(max_size=8)),
    otp=st.one_of(st.none(), st.builds(Otp, code=st.just("1234"), confidence=st.just(0.9))),
)


@st.composite
def rules(draw: st.DrawFn, name: str) -> RouteRule:
    def maybe(strategy: st.SearchStrategy[Any]) -> Any:
        # Mostly unset, so that rules set few fields and match often enough to test order.
        return draw(strategy) if draw(st.integers(0, 3)) == 0 else None

    return RouteRule(
        name=name,
        numbers=maybe(st.lists(st.sampled_from(NUMBERS), min_size=1, max_size=2).map(tuple)) or (),
        sender=maybe(st.sampled_from(SENDERS[:-1])),
        sender_regex=maybe(st.sampled_from(REGEXES)),
        keyword=maybe(st.sampled_from(KEYWORDS)),
        content_regex=maybe(st.sampled_from(REGEXES)),
        has_code=maybe(st.booleans()),
        carriers=maybe(st.lists(st.sampled_from(CARRIERS), min_size=1, max_size=2).map(tuple))
        or (),
        routing_tag=maybe(st.sampled_from(TAGS)),
        destinations=draw(st.lists(st.sampled_from(RULE_DESTINATIONS), min_size=1).map(tuple)),
        stop=draw(st.booleans()),
    )


@st.composite
def tables(draw: st.DrawFn) -> RouteTable:
    count = draw(st.integers(0, 6))
    return RouteTable(
        rules=tuple(draw(rules(f"rule{index}")) for index in range(count)),
        default=draw(st.lists(st.sampled_from(DEFAULT_DESTINATIONS), max_size=3).map(tuple)),
    )


@given(tables(), messages)
def test_resolve_agrees_with_the_rule_semantics(table: RouteTable, message: Message) -> None:
    # Never raises, first stop rule wins, non-stop rules accumulate, default only on no match.
    assert Router(table).resolve(message) == _resolve_slowly(table, message)


@given(tables(), messages)
def test_default_is_used_exactly_when_no_rule_matched(table: RouteTable, message: Message) -> None:
    resolved = Router(table).resolve(message)
    if any(_matches(candidate, message) for candidate in table.rules):
        # Rule destinations and default destinations are drawn from disjoint names.
        assert resolved
        assert not set(resolved) & set(DEFAULT_DESTINATIONS)
    else:
        assert resolved == tuple(dict.fromkeys(table.default))


@given(tables(), messages)
def test_resolved_destinations_are_unique(table: RouteTable, message: Message) -> None:
    resolved = Router(table).resolve(message)
    assert len(set(resolved)) == len(resolved)


@given(tables(), messages, st.booleans())
def test_a_rule_without_match_fields_matches_everything(
    table: RouteTable, message: Message, stop: bool
) -> None:
    catch_all = RouteRule(name="catch-all", destinations=("catch",), stop=stop)
    extended = RouteTable(rules=(*table.rules, catch_all), default=table.default)
    resolved = Router(extended).resolve(message)
    stopped_earlier = any(
        candidate.stop and _matches(candidate, message) for candidate in table.rules
    )
    assert ("catch" in resolved) is not stopped_earlier
    assert Router(RouteTable(rules=(catch_all,))).resolve(message) == ("catch",)


# --- validation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "key"),
    [
        ({"name": " "}, "name"),
        ({"numbers": ("+447700900001", "07700 900001")}, "numbers[1]"),
        ({"numbers": ("07700900001",)}, "numbers[0]"),  # national, would never match
        ({"sender": ""}, "sender"),
        ({"sender_regex": "(unclosed"}, "sender_regex"),
        ({"content_regex": "*"}, "content_regex"),
        ({"content_regex": "a" * (MAX_PATTERN_CHARS + 1)}, "content_regex"),
        ({"keyword": "   "}, "keyword"),
        ({"keyword": "k" * (MAX_PATTERN_CHARS + 1)}, "keyword"),
        ({"carriers": ("twilio", "")}, "carriers[1]"),
        ({"destinations": ()}, "destinations"),
        ({"destinations": ("hook", "")}, "destinations[1]"),
    ],
)
def test_a_bad_rule_names_its_field(fields: dict[str, Any], key: str) -> None:
    values: dict[str, Any] = {"name": "r", "destinations": ("hook",), **fields}
    with pytest.raises(ConfigError) as caught:
        RouteRule(**values)
    assert caught.value.key == key


def test_patterns_at_the_length_limit_are_accepted() -> None:
    rule(content_regex="a" * MAX_PATTERN_CHARS, keyword="k" * MAX_PATTERN_CHARS)


def test_short_codes_and_e164_numbers_are_accepted() -> None:
    rule(numbers=("+447700900001", "50131", "+12"))


def test_a_bad_table_names_its_field() -> None:
    with pytest.raises(ConfigError) as caught:
        RouteTable(rules=(rule("a"), rule("b"), rule("a")))
    assert caught.value.key == "rules[2].name"
    with pytest.raises(ConfigError) as caught:
        RouteTable(default=("fallback", ""))
    assert caught.value.key == "default[1]"


def test_decoding_a_table_keeps_the_path_and_the_field() -> None:
    document = {
        "rules": [
            {"name": "a", "destinations": ["hook"]},
            {"name": "b", "sender_regex": "[", "destinations": ["hook"]},
        ]
    }
    with pytest.raises(msgspec.ValidationError, match=r"at `\$\.rules\[1\]`") as caught:
        msgspec.convert(document, RouteTable)
    cause = caught.value.__cause__
    assert isinstance(cause, ConfigError)
    assert cause.key == "sender_regex"


def test_a_decoded_table_routes() -> None:
    document = {
        "rules": [{"name": "codes", "has_code": True, "destinations": ["hook"]}],
        "default": ["fallback"],
    }
    router = Router(msgspec.convert(document, RouteTable))
    assert router.resolve(message()) == ("hook",)
    assert router.resolve(message(otp=None)) == ("fallback",)


def test_unknown_rule_fields_are_refused() -> None:
    with pytest.raises(msgspec.ValidationError, match="unknown field `sendr`"):
        msgspec.convert({"name": "r", "sendr": "x", "destinations": ["hook"]}, RouteRule)


def test_every_named_destination_must_exist() -> None:
    table = RouteTable(
        rules=(rule("a", ("hook",)), rule("b", ("slack", "mail"))),
        default=("fallback", "archive"),
    )
    check_route_destinations(table, {"hook", "slack", "mail", "fallback", "archive"})
    with pytest.raises(ConfigError, match="'mail'") as caught:
        check_route_destinations(table, {"hook", "slack", "fallback"}, key="tenants.acme.routes")
    assert caught.value.key == "tenants.acme.routes.rules[1].destinations[1]"
    with pytest.raises(ConfigError) as caught:
        check_route_destinations(table, ["hook", "slack", "mail", "fallback"])
    assert caught.value.key == "routes.default[1]"
    assert "configured: fallback, hook, mail, slack" in str(caught.value)
