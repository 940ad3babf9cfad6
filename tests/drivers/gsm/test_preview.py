"""`sms-preview` logic and the framing layer (pure)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from agent.cli.commands import format_preview
from drivers.senders.gsm.framing import Line, LineFramer, Prompt
from drivers.senders.gsm.preview import preview

VECTORS: list[dict[str, Any]] = json.loads(
    (Path(__file__).parents[2] / "fixtures" / "gsm" / "pdu-vectors.json").read_text("utf-8")
)["vectors"]


def test_preview_matches_default_vectors() -> None:
    """With --pdu, single-part default-setting vectors come out byte for byte."""
    for vector in VECTORS:
        if vector["segments"] == 1 and not vector["settings"]["status_report_request"]:
            data = preview(vector["text"], vector["number"], with_pdu=True)
            assert data["encoding"] == vector["encoding"]
            assert data["pdus"] == [
                {"tpdu_length": p["tpdu_length"], "hex": p["hex"]} for p in vector["pdus"]
            ]


def test_preview_json_and_text() -> None:
    """--json prints the documented object; the text form names encoding and AT+CMGS."""
    data = preview("Désolé’", None, with_pdu=True)
    parsed = json.loads(format_preview(data, as_json=True))
    assert parsed["encoding"] == "ucs2" and parsed["segments"] == 1
    assert set(parsed["pdus"][0]) == {"tpdu_length", "hex"}
    text = format_preview(data, as_json=False)
    assert "UCS-2" in text and "AT+CMGS=" in text
    assert preview("a" * 161, None, with_pdu=False) == {
        "encoding": "gsm7",
        "segments": 2,
        "characters": 161,
        "ucs2_characters": [],
        "pdus": [],
    }


def test_preview_names_the_character_forcing_ucs2() -> None:
    """The em dash that makes a French text UCS-2 is named with its place, and the
    characters are counted (é and à are GSM-7 and are not named)."""
    text = "Garage Laval — désolé, à plus tard"
    data = preview(text, None, with_pdu=False)
    assert data["ucs2_characters"] == [{"char": "—", "position": 14, "name": "EM DASH"}]
    shown = format_preview(data, as_json=False)
    assert "UCS-2 (Unicode) because of '—' (em dash, character 14)" in shown
    assert f"characters: {len(text)}" in shown


def test_framer_sorts_lines_and_prompts() -> None:
    """Echo with bare CR, CRLF lines, '> ' with and without space or line end, split
    reads, Ctrl-Z/ESC dropped, noise marked garbled, an endless line cut."""
    framer = LineFramer(max_line=100)
    assert framer.feed(b"AT+CMGS=20\r\r\n") == [Line("AT+CMGS=20")]
    assert framer.feed(b"> ") == [Prompt()]
    assert framer.feed(b"0011\x1a\r\n+CM") == [Line("0011")]
    assert framer.feed(b"GS: 5\r\n\r\nOK\r\n") == [Line("+CMGS: 5"), Line("OK")]
    assert framer.feed(b">\r\n") == [Prompt()]
    assert framer.feed(b"\xff\x02x\r\n") == [Line("\ufffd\x02x", garbled=True)]
    events = framer.feed(b"A" * 150)
    assert len(events) == 1 and isinstance(events[0], Line) and events[0].garbled
