"""Which numbers are never texted, by what the number is. Pure: no I/O.

phonenumbers tells from the numbering plan what kind of line a valid number is
(`agent.numbers.number_kind`). A text to a landline is lost (or read out by a robot
voice), a toll-free or premium number is a business or a pumping trap, a pager or a
personal-number service forwards somewhere we cannot see. So:

    kind                    texted?   skip reason
    mobile                  yes
    fixed_line_or_mobile    yes       (NANP: the plan cannot tell, the carrier will)
    fixed_line              no        skip:landline
    toll_free               no        skip:toll_free
    premium_rate            no        skip:premium_rate
    shared_cost             no        skip:shared_cost
    personal_number         no        skip:personal_number
    pager                   no        skip:pager
    uan                     no        skip:uan            (company "universal access")
    voicemail               no        skip:voicemail_access
    voip                    per site  skip:voip           unless its country is in
                                                          sms.voip_texted_countries
    unknown                 no        skip:unknown_number_type

A landline that phonenumbers cannot tell (all of NANP) is found by the carrier: the
provider's word becomes the number's `sms_incapable` fact (agent/model.NumberFact).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

TEXTED_KINDS = frozenset({"mobile", "fixed_line_or_mobile"})

NEVER_TEXTED: Mapping[str, str] = {
    "fixed_line": "landline",
    "toll_free": "toll_free",
    "premium_rate": "premium_rate",
    "shared_cost": "shared_cost",
    "personal_number": "personal_number",
    "pager": "pager",
    "uan": "uan",
    "voicemail": "voicemail_access",
    "voip": "voip",
}


def kind_problem(kind: str, region: str | None, voip_texted: Collection[str]) -> str:
    """The skip reason for a number of this kind in this region, "" when it is texted."""
    if kind in TEXTED_KINDS:
        return ""
    if kind == "voip" and region is not None and region in voip_texted:
        return ""
    return NEVER_TEXTED.get(kind, "unknown_number_type")
