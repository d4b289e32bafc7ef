"""Property tests: parse(build(x)) == x for every type, and hostile bytes never crash the codec."""

from __future__ import annotations

import contextlib
import datetime as dt
import json

import corpus
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from registrations.gplinks import (
    ABSENT,
    Address,
    CodecError,
    Interchange,
    Transaction,
    build_interchange,
    build_recep,
    errors,
    from_json,
    group_messages,
    parse_interchange,
    to_json,
    validate_transaction,
)
from registrations.gplinks.envelope import LONDON

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Appendix K, including the four characters that must be escaped on the wire.
APPENDIX_K = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,-()/=!\"%&*;<>'+:?"
SEPARATORS = "'+:?"


@contextlib.contextmanager
def bugs_surface():
    """Within this block an unforeseen exception escapes as itself, not as a CodecError."""
    saved = errors.SAFETY_NET
    errors.SAFETY_NET = False
    try:
        yield
    finally:
        errors.SAFETY_NET = saved


# `%` alone is the erase marker and `?` alone in a house name is the no-house placeholder, so
# neither can be sent as data; everything else in Appendix K can.
text = st.text(APPENDIX_K, min_size=1, max_size=30).filter(lambda s: s not in ("%", "?"))
escapy = st.text(SEPARATORS + "AB %", min_size=1, max_size=12).filter(lambda s: s not in ("%", "?"))
words = st.one_of(text, escapy)
dates = st.dates(dt.date(1900, 1, 1), dt.date(2099, 12, 31))
gp_codes = st.from_regex(r"[0-9]{7},[A-Z0-9]{1,8}", fullmatch=True)
ciphers = st.from_regex(r"[A-Z]{2,3}", fullmatch=True)
tns = st.integers(1, 99_999_999)
ric = st.from_regex(r"[A-Z0-9]{1,3}", fullmatch=True)


@st.composite
def nhs_numbers(draw) -> str:
    digits = draw(st.lists(st.integers(0, 9), min_size=9, max_size=9))
    check = 11 - sum(d * w for d, w in zip(digits, range(10, 1, -1), strict=True)) % 11
    check = 0 if check == 11 else check
    if check == 10:
        digits[8] = (digits[8] + 1) % 10
        return draw(nhs_numbers()) if digits == [0] * 9 else _with_check(digits)
    return "".join(map(str, digits)) + str(check)


def _with_check(digits: list[int]) -> str:
    check = 11 - sum(d * w for d, w in zip(digits, range(10, 1, -1), strict=True)) % 11
    check = 0 if check == 11 else check
    if check == 10:
        digits = [*digits[:8], (digits[8] + 1) % 10]
        return _with_check(digits)
    return "".join(map(str, digits)) + str(check)


def optional(strategy):
    return st.one_of(st.just(ABSENT), strategy)


def maybe_erased(strategy):
    return st.one_of(st.just(ABSENT), st.none(), strategy)


@st.composite
def addresses(draw, *, erasable: bool = False, street: bool = True) -> Address:
    part = st.one_of(st.just(""), words, *([st.none()] if erasable else []))
    house, road = draw(part), draw(part)
    if street and not house and not road:
        road = draw(words)
    return Address(
        house=house,
        road=road,
        locality=draw(part),
        post_town=draw(words),
        county=draw(part),
        postcode=draw(st.one_of(st.just(""), words, *([st.none()] if erasable else []))),
    )


@st.composite
def forename_lists(draw, *, amendment: bool = False) -> list[str]:
    parts = draw(st.lists(st.one_of(words, st.just("")) if amendment else words, min_size=1, max_size=3))
    while parts and parts[-1] == "":
        parts.pop()
    return parts or [draw(words)]


@st.composite
def acceptances(draw) -> Transaction:
    kind = draw(st.sampled_from("1234"))
    birth = draw(dates)
    tx = Transaction(
        tn=draw(tns),
        type="G1",
        gp_code=draw(gp_codes),
        acceptance_code=draw(st.sampled_from("ADRIS")),
        acceptance_type=kind,
        acceptance_date=draw(dates),
        surname=draw(words),
        sex=draw(st.sampled_from("0129")),
        address=draw(addresses()),
        forenames=draw(optional(forename_lists())),
        title=draw(optional(words)),
        birth_date=birth if kind == "1" else draw(optional(st.just(birth))),
        nhs_number=draw(nhs_numbers()) if kind == "1" else draw(optional(nhs_numbers())),
        place_of_birth=draw(optional(words)),
        drugs_dispensed=draw(optional(st.just("Y"))),
        residential_institute=draw(optional(ric)),
        free_text=draw(optional(words)),
        previous_surname=draw(optional(words)),
    )
    if tx.nhs_number is ABSENT and tx.place_of_birth is ABSENT:
        tx.place_of_birth = draw(words)
    if kind == "3":
        tx.previous_gp = draw(words)
        tx.previous_address = draw(st.lists(words, min_size=1, max_size=5))
        tx.previous_ha = draw(optional(ciphers))
    elif kind == "4":
        tx.entry_date = draw(st.dates(birth, dt.date(2099, 12, 31)))
        tx.exit_date = draw(optional(dates))
        tx.previous_gp = draw(optional(words))
        tx.previous_address = draw(optional(st.lists(words, min_size=1, max_size=5)))
        tx.previous_ha = draw(optional(ciphers))
    return tx


@st.composite
def amendments(draw, kind: str) -> Transaction:
    tx = Transaction(
        tn=draw(tns),
        type=kind,
        gp_code=draw(gp_codes),
        nhs_number=draw(nhs_numbers()),
        surname=draw(optional(words)),
        forenames=draw(maybe_erased(forename_lists(amendment=True))),
        title=draw(maybe_erased(words)),
        sex=draw(optional(st.sampled_from("0129"))),
        birth_date=draw(optional(dates)),
        address=draw(optional(addresses(erasable=True))),
        drugs_dispensed=draw(maybe_erased(st.just("Y"))),
        residential_institute=draw(maybe_erased(ric)),
        previous_surname=draw(maybe_erased(words)),
    )
    if kind == "G2":
        tx.free_text = draw(maybe_erased(words))
    else:
        tx.amended_nhs_number = draw(optional(nhs_numbers()))
    return tx


@st.composite
def simple(draw, kind: str) -> Transaction:
    tx = Transaction(tn=draw(tns), type=kind, gp_code=draw(gp_codes))
    if kind in ("G3", "G5", "F2", "F9", "F10", "F11"):
        tx.nhs_number = draw(nhs_numbers())
    if kind in ("G3", "F3", "F11"):
        tx.free_text = draw(words)
    if kind == "G5":
        tx.deduction_reason = draw(st.sampled_from(["1", "5", "13"]))
        tx.deduction_date = draw(dates)
        tx.free_text = draw(optional(words))
    if kind == "F2":
        tx.deduction_reason = draw(st.sampled_from([str(n) for n in range(1, 23)]))
        tx.deduction_date = draw(dates)
        tx.new_ha = draw(ciphers) if tx.deduction_reason == "2" else draw(optional(ciphers))
    if kind == "F4":
        tx.nhs_number = draw(optional(nhs_numbers()))
    if kind == "F9":
        tx.fp69_reason = draw(st.from_regex(r"[0-9]{1,2}", fullmatch=True))
        tx.fp69_expiry = draw(dates)
        tx.free_text = draw(optional(words))
        tx.surname = draw(words)
        tx.forenames = draw(forename_lists())
        tx.title = draw(optional(words))
        tx.birth_date = draw(dates)
        tx.address = draw(optional(addresses(street=False)))
    return tx


@st.composite
def close_quarters(draw) -> Transaction:
    return Transaction(tn=draw(tns), type="F8", quarter_end=draw(dates))


TYPES = {
    "G1": acceptances(),
    "G2": amendments("G2"),
    "G3": simple("G3"),
    "G5": simple("G5"),
    "F1": amendments("F1"),
    "F2": simple("F2"),
    "F3": simple("F3"),
    "F4": simple("F4"),
    "F8": close_quarters(),
    "F9": simple("F9"),
    "F10": simple("F10"),
    "F11": simple("F11"),
}
transactions = st.one_of(*TYPES.values())
# Wall times inside the spring-forward gap never happen, and are read back as the instant they
# stand for; leave them out so equality is exact.
times = st.datetimes(
    dt.datetime(2000, 1, 1), dt.datetime(2099, 12, 31), timezones=st.just(LONDON), allow_imaginary=False
).map(lambda d: d.replace(second=0, microsecond=0))
link_codes = st.from_regex(r"[A-Z0-9]{4}", fullmatch=True)


@st.composite
def interchanges(draw) -> Interchange:
    pairs = draw(st.lists(st.tuples(ciphers, transactions), min_size=1, max_size=6))
    return Interchange(
        sender=draw(link_codes),
        recipient=draw(link_codes),
        sis=draw(st.integers(1, 99_999_999)),
        prepared_at=draw(times),
        messages=group_messages(pairs, first_sms=draw(st.integers(1, 99_999_999))),
    )


def test_strategies_cover_every_live_type():
    assert set(TYPES) == {"G1", "G2", "G3", "G5", "F1", "F2", "F3", "F4", "F8", "F9", "F10", "F11"}


@SETTINGS
@given(tx=transactions)
def test_generated_transactions_are_valid(tx):
    assert validate_transaction(tx) == []


@SETTINGS
@given(ic=interchanges())
def test_parse_of_build_is_identity(ic):
    with bugs_surface():
        data = build_interchange(ic)
        assert parse_interchange(data, strict=True) == ic
        # And the bytes are stable: building what was parsed gives the same bytes back.
        assert build_interchange(parse_interchange(data)) == data


@SETTINGS
@given(ic=interchanges())
def test_json_round_trip(ic):
    with bugs_surface():
        assert from_json(json.loads(json.dumps(to_json(ic)))) == ic


@SETTINGS
@given(ic=interchanges(), sis=st.integers(1, 99_999_999), sms=st.integers(1, 99_999_999), now=times)
def test_recep_round_trip(ic, sis, sms, now):
    with bugs_surface():
        recep = parse_interchange(build_recep(ic, sis=sis, sms=sms, now=now), strict=True)
        assert (recep.sender, recep.recipient, recep.sis, recep.prepared_at) == (ic.recipient, ic.sender, sis, now)
        assert [m.sms for m in recep.recep.messages] == [m.sms for m in ic.messages]
        assert (recep.recep.interchange_sis, recep.recep.message_count) == (ic.sis, len(ic.messages))


NOISE = st.sampled_from([b"'", b"+", b":", b"?", b"??", b"%", b"\r\n", b"S01+1'", b"RFF+TN:1'", b"UNT+1+1'", b"\x80"])


@st.composite
def mutated_interchanges(draw) -> bytes:
    """Well-formed interchanges (generated, or our corpus with its wire variants), then damaged: the
    hostile input that is nearly right."""
    corpus_file = st.sampled_from(corpus.names()).map(corpus.read)
    data = bytearray(draw(st.one_of(corpus_file, interchanges().map(build_interchange))))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "truncate", "insert", "delete", "duplicate"]))
        pos = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[pos] = draw(st.integers(0, 255))
        elif op == "truncate":
            del data[pos:]
        elif op == "insert":
            data[pos:pos] = draw(NOISE)
        elif op == "delete":
            del data[pos : pos + draw(st.integers(1, 20))]
        elif op == "duplicate":
            end = min(len(data), pos + draw(st.integers(1, 60)))
            data[pos:pos] = data[pos:end]
    return bytes(data)


def exercise(data: bytes) -> None:
    """Everything the pipeline does with received bytes: nothing but CodecError may escape."""
    for strict in (False, True):
        try:
            ic = parse_interchange(data, strict=strict)
        except CodecError:
            continue
        assert from_json(json.loads(json.dumps(to_json(ic)))) == ic
        for tx in ic.transactions():
            assert validate_transaction(tx) == tx.errors
        with contextlib.suppress(CodecError):
            build_interchange(ic)
        with contextlib.suppress(CodecError):
            build_recep(ic, sis=1, sms=1, now=dt.datetime(2024, 1, 1, tzinfo=LONDON))


@SETTINGS
@given(data=mutated_interchanges())
def test_mutated_interchanges_give_an_interchange_or_a_codec_error(data):
    with bugs_surface():
        exercise(data)


@SETTINGS
@given(data=st.binary(max_size=400))
def test_random_bytes_give_an_interchange_or_a_codec_error(data):
    with bugs_surface():
        exercise(b"UNB+UNOA:2+A+B+200101:0000+1'" + data)
        exercise(data)


@SETTINGS
@given(text=st.text(max_size=200))
def test_random_text_gives_an_interchange_or_a_codec_error(text):
    with bugs_surface(), contextlib.suppress(CodecError):
        parse_interchange(text)
