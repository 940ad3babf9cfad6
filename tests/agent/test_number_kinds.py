"""Which numbers are never texted: the kind of line the numbering plan says a number
is, on real numbers of Canada, the US, France, the UK and Belgium."""

from __future__ import annotations

import pytest

from agent.config.settings import Settings
from agent.decide.policy import Facts, decide, schedule_for
from agent.decide.textable import NEVER_TEXTED, kind_problem
from agent.model import Decision, decision_label
from agent.numbers import is_mobile_capable, normalize, number_kind, region_of
from tests.agent.conftest import TZ, SettingsFactory, call, local

EVERYWHERE = ["CA", "US", "FR", "GB", "BE"]

KINDS = [
    # (number as the PBX would show it, its country, kind, decision); a Montreal site
    ("514 555 0123", "CA", "fixed_line_or_mobile", "notify"),  # Montreal: NANP cannot tell
    ("+1 604 555 0123", "CA", "fixed_line_or_mobile", "notify"),
    ("+1 212 555 0123", "US", "fixed_line_or_mobile", "notify"),  # New York
    ("1-800-555-0199", "US", "toll_free", "skip:toll_free"),
    ("+1 888 555 0123", "US", "toll_free", "skip:toll_free"),
    ("+1 900 555 0123", "US", "premium_rate", "skip:premium_rate"),
    ("+1 500 555 0123", "US", "personal_number", "skip:personal_number"),
    ("+1 600 555 0123", "CA", "voip", "skip:voip"),  # Canada's non-geographic 600
    ("+33 6 12 34 56 78", "FR", "mobile", "notify"),
    ("+33 7 81 23 45 67", "FR", "mobile", "notify"),
    ("+33 1 42 34 56 78", "FR", "fixed_line", "skip:landline"),  # Paris
    ("+33 800 12 34 56", "FR", "toll_free", "skip:toll_free"),  # numéro vert
    ("+33 899 12 34 56", "FR", "premium_rate", "skip:premium_rate"),
    ("+33 810 12 34 56", "FR", "shared_cost", "skip:shared_cost"),
    ("+33 9 51 23 45 67", "FR", "voip", "skip:voip"),  # a "box" number
    ("+44 7400 123456", "GB", "mobile", "notify"),
    ("+44 20 7946 0000", "GB", "fixed_line", "skip:landline"),  # London
    ("+44 800 123 4567", "GB", "toll_free", "skip:toll_free"),
    ("+44 906 123 4567", "GB", "premium_rate", "skip:premium_rate"),
    ("+44 70 1234 5678", "GB", "personal_number", "skip:personal_number"),
    ("+44 7640 123456", "GB", "pager", "skip:pager"),
    ("+44 300 123 4567", "GB", "uan", "skip:uan"),
    ("+44 56 1234 5678", "GB", "voip", "skip:voip"),
    ("+32 470 12 34 56", "BE", "mobile", "notify"),
    ("+32 2 555 12 12", "BE", "fixed_line", "skip:landline"),  # Brussels
    ("+32 800 12345", "BE", "toll_free", "skip:toll_free"),
    ("+32 901 23 45 6", "BE", "premium_rate", "skip:premium_rate"),
    ("+32 78 79 12 34", "BE", "shared_cost", "skip:shared_cost"),
]


@pytest.mark.parametrize(("raw", "country", "kind", "label"), KINDS)
def test_number_kinds_decide_who_is_texted(
    make_settings: SettingsFactory, raw: str, country: str, kind: str, label: str
) -> None:
    """Mobile and NANP numbers are texted; landlines, toll-free, premium, shared-cost,
    personal, pager, UAN and (by default) VoIP numbers are skipped, each with its
    own reason, whatever countries are allowed."""
    settings = make_settings(sms={"allowed_countries": EVERYWHERE})
    e164, problem = normalize(raw, "CA")
    assert e164 is not None, problem
    assert region_of(e164) == country
    assert number_kind(e164) == kind
    assert decision_label(_decide(settings, raw)) == label


def _decide(settings: Settings, raw: str) -> Decision:
    e164, problem = normalize(raw, settings.site.country)
    facts = Facts(e164, problem, region_of(e164) if e164 else None)
    record = call("2026-11-23 11:58", caller=raw)
    now = local("2026-11-23 12:00")
    schedule = schedule_for("service", settings, now.astimezone(TZ), set())
    return decide(record, facts, schedule, settings, now)


@pytest.mark.parametrize(
    ("countries", "raw", "label"),
    [
        ([], "+44 56 1234 5678", "skip:voip"),
        (["GB"], "+44 56 1234 5678", "notify"),
        (["FR"], "+44 56 1234 5678", "skip:voip"),  # only the countries listed
        (["CA"], "+1 600 555 0123", "notify"),
    ],
)
def test_voip_is_texted_where_the_site_says_so(
    make_settings: SettingsFactory, countries: list[str], raw: str, label: str
) -> None:
    """`sms.voip_texted_countries` lets a site text the VoIP numbers of chosen countries."""
    settings = make_settings(
        sms={"allowed_countries": EVERYWHERE, "voip_texted_countries": countries},
    )
    assert decision_label(_decide(settings, raw)) == label


def test_country_rule_comes_before_the_kind(settings: Settings) -> None:
    """A French landline at a site that texts only CA and US is refused for its
    country: the first rule that applies names the reason."""
    assert decision_label(_decide(settings, "+33 1 42 34 56 78")) == "skip:country_not_allowed"


@pytest.mark.parametrize(
    ("kind", "region", "problem"),
    [
        ("mobile", "FR", ""),
        ("fixed_line_or_mobile", "CA", ""),
        ("fixed_line", "FR", "landline"),
        ("voicemail", "GB", "voicemail_access"),
        ("voip", None, "voip"),
        ("unknown", "CA", "unknown_number_type"),
        ("something_new", "CA", "unknown_number_type"),
    ],
)
def test_kind_table(kind: str, region: str | None, problem: str) -> None:
    """Every kind phonenumbers may answer has a verdict; an unknown one is not texted."""
    assert kind_problem(kind, region, ["GB"] if kind != "voip" else []) == problem


def test_every_refused_kind_has_a_distinct_reason() -> None:
    """Two kinds never share a reason: the reports tell them apart."""
    assert len(set(NEVER_TEXTED.values())) == len(NEVER_TEXTED)


def test_is_mobile_capable_tells_only_fixed_lines() -> None:
    """NANP numbers stay mobile-capable; a French landline is not."""
    assert is_mobile_capable("+15145550123")
    assert is_mobile_capable("+33612345678")
    assert not is_mobile_capable("+33142345678")
