"""Every real NHAIS fixture parses, and each transaction type reads back the right fields."""

from __future__ import annotations

import datetime as dt

import pytest
from support import BAD_CONTROL_FIXTURES, fixture_names, read_fixture

from registrations.gplinks import ABSENT, Address, CodecError, Interchange, parse_interchange, to_json
from registrations.gplinks.envelope import LONDON

ALL = fixture_names()
GOOD = [name for name in ALL if name not in BAD_CONTROL_FIXTURES]

pytestmark = pytest.mark.external


def parse(name: str) -> Interchange:
    return parse_interchange(read_fixture(name))


def only_tx(name: str):
    ic = parse(name)
    assert len(ic.messages) == 1 and len(ic.messages[0].transactions) == 1
    return ic.messages[0].transactions[0]


def test_all_25_fixtures_are_present():
    assert len(ALL) == 25


@pytest.mark.parametrize("name", GOOD)
def test_fixture_parses_cleanly_in_strict_mode(name, no_safety_net):
    ic = parse_interchange(read_fixture(name), strict=True)
    assert ic.warnings == []
    # A RECEP interchange carries its acknowledgement and no registration messages; every other fixture the reverse.
    is_recep = name.startswith("recep/")
    assert (ic.recep is not None, bool(ic.messages)) == (is_recep, not is_recep)


@pytest.mark.parametrize("name", sorted(BAD_CONTROL_FIXTURES))
def test_wrong_control_fixture_parses_leniently_with_warnings(name, no_safety_net):
    ic = parse(name)
    assert ic.warnings
    assert all(w.startswith("segment ") for w in ic.warnings)


@pytest.mark.parametrize("name", sorted(BAD_CONTROL_FIXTURES))
def test_wrong_control_fixture_is_refused_in_strict_mode(name):
    with pytest.raises(CodecError, match=r"^segment \d+: UN[TZ]"):
        parse_interchange(read_fixture(name), strict=True)


def test_control_problems_are_reported_precisely():
    ic = parse("ha-to-gp/close_quarter_notification/close-quarter-notification-other-transactions.edifact.dat")
    assert ic.warnings == [
        "segment 26: UNT declares 23 segment(s), message has 16",
        "segment 26: UNT reference 00000001 does not match UNH 00000007",
        "segment 27: UNZ reference 00000002 does not match UNB 00000003",
    ]


@pytest.mark.parametrize("name", ALL)
def test_every_fixture_serialises_to_json(name, no_safety_net):
    assert to_json(parse(name))["sender"]


def test_unb_time_is_uk_local_with_20yy_year():
    ic = parse("gp-to-ha/acceptance/type1-birth-all.edifact.dat")
    assert ic.prepared_at == dt.datetime(2020, 6, 10, 14, 38, tzinfo=LONDON)
    assert ic.prepared_at.utcoffset() == dt.timedelta(hours=1)  # BST in June
    assert (ic.sender, ic.recipient, ic.sis, ic.app_ref) == ("TES5", "XX11", 1, None)
    winter = parse("ha-to-gp/approval/app-j-with-nhs-number.edifact.dat")
    assert winter.prepared_at == dt.datetime(2092, 1, 25, 12, 35, tzinfo=LONDON)
    assert winter.prepared_at.utcoffset() == dt.timedelta(0)


def test_untrusted_message_time_does_not_replace_the_unb_time():
    ic = parse("ha-to-gp/multi/multi_transaction.1.dat")
    assert ic.prepared_at == dt.datetime(2020, 1, 25, 12, 35, tzinfo=LONDON)
    assert ic.messages[0].prepared_at == dt.datetime(2020, 1, 25, 13, 35, tzinfo=LONDON)


# --- G1 acceptance -------------------------------------------------------------------------


def test_g1_type1_birth_with_every_optional_segment():
    tx = only_tx("gp-to-ha/acceptance/type1-birth-all.edifact.dat")
    assert tx.type == "G1" and tx.tn == 1
    assert tx.gp_code == "4826940,281"
    assert tx.residential_institute == "RT"
    assert (tx.acceptance_code, tx.acceptance_type) == ("A", "1")
    assert tx.drugs_dispensed == "Y"
    assert tx.acceptance_date == dt.date(1992, 1, 13)
    assert tx.place_of_birth == "BURY"
    assert tx.free_text == "GP NOTES GO HERE"
    assert tx.nhs_number == "N/10/10" and tx.nhs_number_legacy is True
    assert (tx.surname, tx.title) == ("STEVENS", "MR")
    assert tx.forenames == ["CHARLES", "ANTHONY", "JOHN"]
    assert tx.birth_date == dt.date(1991, 11, 6)
    assert tx.sex == "1"
    assert tx.address == Address("MOORSIDE FARM", "OLD LANE", "ST PAULS CRAY", "ORPINGTON", "KENT", "BR6  7EW")
    assert tx.previous_surname == "PREVIOUS"
    assert tx.previous_gp is ABSENT and tx.previous_address is ABSENT
    assert tx.errors == [] and tx.warnings == []


def test_g1_type2_without_nhs_number_and_with_house_placeholder():
    tx = only_tx("gp-to-ha/acceptance/type2-first-app-j.edifact.dat")
    assert tx.acceptance_type == "2"
    assert tx.nhs_number is ABSENT and tx.nhs_number_legacy is False
    assert tx.forenames == ["SARAH", "ANGELA"]
    assert tx.title == "MISS"
    assert tx.address.house == ""  # `??` on the wire
    assert tx.address.road == "26 FARMSIDE CLOSE"
    assert tx.place_of_birth == "GLASGOW"
    assert tx.errors == []


def test_g1_type3_transfer_in_with_previous_gp_ha_and_address():
    tx = only_tx("gp-to-ha/acceptance/type3-transferin-all.edifact.dat")
    assert tx.acceptance_type == "3"
    assert tx.previous_gp == "DR BLACK"
    assert tx.previous_ha == "LNS"
    assert tx.previous_address == ["THE HAUNTED HOUSE", "12 SHADOWY LANE", "HAUNTED GLADE", "HORSFORTH", "LEEDS"]
    assert tx.errors == []


def test_g1_type3_compacted_previous_address_and_empty_road():
    tx = only_tx("gp-to-ha/acceptance/type3-transferin-app-j.edifact.dat")
    assert tx.previous_address == ["HORSFORTH", "LEEDS"]
    assert tx.address.road == "" and tx.address.house == "THE MANSION HOUSE"
    assert tx.forenames == ["ROGER"]
    assert tx.errors == []


def test_g1_type4_immigrant_entry_and_exit_dates():
    tx = only_tx("gp-to-ha/acceptance/type4-immigrant-all.edifact.dat")
    assert tx.acceptance_type == "4"
    assert tx.entry_date == dt.date(1991, 8, 6)
    assert tx.exit_date == dt.date(1968, 3, 5)
    assert tx.forenames == ["ALISON", "J", "L"]
    assert tx.errors == []


def test_g1_obsolete_segments_are_ignored():
    tx = only_tx("gp-to-ha/legacy/interchange.dat")
    assert tx.tn == 18 and tx.residential_institute == "RT" and tx.acceptance_type == "2"
    assert tx.warnings == [] and tx.errors == []


# --- G2 amendment --------------------------------------------------------------------------


def test_g2_amends_every_item():
    tx = only_tx("gp-to-ha/amendment/amend-all.edifact.dat")
    assert tx.nhs_number == "9999999999" and tx.nhs_number_legacy is False
    assert tx.surname == "ROBINSON-PATTERSON"
    assert tx.forenames == ["SALLY", "JANE", "MARY KIMBERLY"]
    assert tx.sex == "0"
    assert tx.residential_institute == "AA"
    assert tx.previous_surname == "PATTERSON"
    assert tx.address.postcode == "BR5  4ER"
    assert tx.errors == []


def test_g2_erasures_are_none_and_unsent_items_absent():
    tx = only_tx("gp-to-ha/amendment/erase-all-1.edifact.dat")
    assert tx.residential_institute is None and tx.drugs_dispensed is None
    assert tx.forenames is None and tx.title is None
    assert tx.surname is ABSENT and tx.birth_date is ABSENT and tx.sex is ABSENT
    assert tx.address == Address("HOUSE NAME", None, None, "RUGELEY", None, None)
    assert tx.previous_surname is None
    assert tx.errors == []


def test_g2_live_address_change_with_ods_like_gp_code():
    tx = only_tx("gp-to-ha/amendment/live-1.edifact.dat")
    assert tx.gp_code == "8880232,G82697"
    assert tx.address == Address("", "19 ZZZZZZZZ HOUSE", "ZZZZZ DRIVE", "ZZZZZZZZZZ", "KENT", "ZZ7 1ZZ")
    assert tx.surname is ABSENT and tx.forenames is ABSENT


def test_g2_batch_of_two_in_one_message_with_obsolete_erasures():
    ic = parse("gp-to-ha/legacy/interchange_app-j_002/input.dat")
    first, second = ic.messages[0].transactions
    assert (first.tn, second.tn) == (22, 23)
    assert first.surname == "PATTERSON" and first.title == "MRS" and first.forenames is ABSENT
    assert first.previous_surname == "SMYTHE"
    assert second.gp_code == "4826940,281" and second.nhs_number == "123/23/123"
    assert second.address.postcode == ""
    assert first.errors == [] and second.errors == []


def test_live_gp_interchange_with_fhsreg_application_reference():
    ic = parse("gp-to-ha/legacy/amendment04.dat")
    assert (ic.sender, ic.recipient, ic.sis, ic.app_ref) == ("CHC5", "KC01", 104262, "FHSREG")
    assert ic.messages[0].sms == 4349 and ic.messages[0].ha_cipher == "KC"
    assert ic.messages[0].transactions[0].tn == 204086


# --- G3, G5 --------------------------------------------------------------------------------


def test_g3_removal_reason_in_free_text():
    tx = only_tx("gp-to-ha/removal/app-j-1.edifact.dat")
    assert tx.type == "G3"
    assert tx.free_text == "PATIENT NOW LIVES 24 MILES FROM PRACTICE"
    assert tx.nhs_number == "T247" and tx.nhs_number_legacy
    assert tx.errors == []


def test_g5_deduction_request():
    tx = only_tx("gp-to-ha/deduction-request/app-j-1.edifact.dat")
    assert (tx.type, tx.deduction_reason, tx.deduction_date) == ("G5", "1", dt.date(1991, 12, 25))
    assert tx.free_text == "DIED ON HOLIDAY IN MAJORCA"
    assert tx.errors == []


# --- F types -------------------------------------------------------------------------------


def test_f1_amendment_with_amended_nhs_number():
    tx = only_tx("ha-to-gp/amendment/amend-all.edifact.dat")
    assert tx.type == "F1"
    assert tx.amended_nhs_number == "9999999999"
    assert tx.previous_surname == "PATTERSON"
    # The fixture's current number, 1234567890, fails the check digit: reported, not raised.
    assert tx.errors == ["nhs_number: 1234567890 fails the NHS number check digit"]


def test_f4_approval_quotes_gp_tn_with_and_without_nhs_number():
    tx = only_tx("ha-to-gp/approval/app-j-with-nhs-number.edifact.dat")
    assert (tx.type, tx.tn, tx.nhs_number, tx.gp_code) == ("F4", 13, "RAT56", "2750922,295")
    ic = parse("ha-to-gp/multi/multi_transaction.1.dat")
    f4 = ic.messages[3]
    assert [t.tn for t in f4.transactions] == [13, 14]
    assert f4.transactions[1].nhs_number is ABSENT
    assert f4.transactions[1].errors == []


def test_f3_rejection_decodes_the_full_character_set():
    tx = only_tx("ha-to-gp/rejection/full-character-set.edifact.dat")
    assert tx.type == "F3" and tx.tn == 12
    assert tx.free_text == "ABCDEFGHIJKLMNOPQRSTUVWXYZ1234567890 .,-()/=!\"%&*;<>'+:?"
    assert tx.errors == []


def test_f2_deduction_to_new_ha():
    tx = only_tx("ha-to-gp/deduction/app-j-2.edifact.dat")
    assert (tx.type, tx.tn, tx.new_ha, tx.deduction_reason) == ("F2", 102, "COV", "2")
    assert tx.deduction_date == dt.date(1992, 1, 25)
    assert tx.nhs_number == "RE1/12/13"
    assert tx.errors == []


def test_f11_live_deduction_request_rejection():
    ic = parse("ha-to-gp/deduction_rejection/live-1.edifact.dat")
    assert (ic.sis, ic.app_ref, ic.messages[0].sms, ic.messages[0].ha_cipher) == (44068, "FHSREG", 67482, "SO")
    tx = ic.messages[0].transactions[0]
    assert (tx.type, tx.tn, tx.free_text) == ("F11", 209715, "PATIENT WILL BE REMOVED IN 30 DAYS")
    assert tx.nhs_number == "3333333333" and tx.errors == []


def test_f10_live_eight_digit_tn():
    tx = only_tx("ha-to-gp/fp69_flag_removal/live-1.edifact.dat")
    assert (tx.type, tx.tn, tx.nhs_number, tx.gp_code) == ("F10", 10817565, "4444444444", "9990335,PLP570")
    assert tx.errors == []


def test_f9_fp69_prior_notification():
    tx = only_tx("ha-to-gp/fp69_prior_notification/app-j-1.edifact.dat")
    assert (tx.fp69_reason, tx.fp69_expiry) == ("8", dt.date(1992, 7, 25))
    assert tx.free_text == "PATIENT THOUGHT TO BE IN SCOTLAND"
    assert tx.forenames == ["CHARLES", "ANTHONY", "RICHARD"]  # FO, then MI after an empty TI
    assert tx.title is ABSENT
    assert tx.birth_date == dt.date(1940, 5, 23)
    assert tx.errors == []


def test_f8_close_quarter_has_no_s01_and_a_message_level_quarter_end():
    ic = parse("ha-to-gp/close_quarter_notification/close-quarter-notification-other-transactions.edifact.dat")
    f8, f9 = ic.messages
    assert (f8.type, f8.sms, f8.quarter_end) == ("F8", 6, dt.date(1991, 12, 31))
    (cqn,) = f8.transactions
    assert (cqn.tn, cqn.quarter_end, cqn.deduction_reason, cqn.gp_code) == (99, dt.date(1991, 12, 31), ABSENT, ABSENT)
    assert cqn.errors == []
    assert f9.type == "F9" and f9.quarter_end is ABSENT and f9.transactions[0].tn == 100


def test_multi_interchange_batches_messages_and_transactions():
    ic = parse("ha-to-gp/multi/multi_transaction.1.dat")
    assert [(m.sms, m.type, len(m.transactions)) for m in ic.messages] == [
        (6, "F1", 1),
        (7, "F2", 2),
        (8, "F3", 1),
        (9, "F4", 2),
    ]
    f1 = ic.messages[0].transactions[0]
    assert f1.nhs_number == "AVERT1/1" and f1.surname == "MORRIS" and f1.previous_surname == "ANDREWS"
    assert f1.address == Address("", "136 HIGH STREET", "", "BROMLEY", "KENT", "BR11 5RE")


def test_obsolete_f5_f6_are_kept_raw_with_a_warning():
    ic = parse("ha-to-gp/legacy/interchange_app-j_001/input.dat")
    assert [m.type for m in ic.messages] == ["F1", "F2", "F3", "F4", "F5", "F6"]
    f5a, f5b = ic.messages[4].transactions
    assert f5a.raw_segments == ["S01+1", "RFF+TN:3", "NAD+GP+4826940,281:900", "S02+2", "PNA+PAT+JET46A46:OPI"]
    assert f5b.raw_segments[1] == "RFF+TN:5"
    assert f5a.gp_code == "4826940,281" and f5a.nhs_number == "JET46A46"
    assert "obsolete or unknown" in f5a.warnings[0]
    (f6,) = ic.messages[5].transactions
    assert f6.tn == 103 and f6.raw_segments[-1] == "PNA+PAT+POST458:OPI"
