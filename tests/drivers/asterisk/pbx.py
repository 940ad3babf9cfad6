"""A scripted PBX for scenarios the recordings lack: it writes AMI events with the
grammar of the recorded Asterisk 22 streams (same fields, same order of events)."""

from __future__ import annotations

from dataclasses import dataclass

from drivers.sources.asterisk.fake_server import encode_frame
from drivers.sources.asterisk.frames import Frame

STATES = {"Down": "0", "Ring": "4", "Ringing": "5", "Up": "6", "Busy": "7"}


@dataclass
class Chan:
    name: str
    uid: str
    linkedid: str
    num: str
    cid_name: str
    context: str
    exten: str
    state: str = "Down"


class Pbx:
    def __init__(self, start: float = 1_795_700_000.0) -> None:
        self.t = start
        self.seq = 0
        self.frames: list[Frame] = []

    def tick(self, seconds: float) -> None:
        self.t += seconds

    def _fields(self, chan: Chan) -> Frame:
        return {
            "Channel": chan.name,
            "ChannelState": STATES[chan.state],
            "ChannelStateDesc": chan.state,
            "CallerIDNum": chan.num,
            "CallerIDName": chan.cid_name,
            "Context": chan.context,
            "Exten": chan.exten,
            "Priority": "1",
            "Uniqueid": chan.uid,
            "Linkedid": chan.linkedid,
        }

    def emit(self, event: str, chan: Chan | None = None, **more: str) -> Frame:
        frame: Frame = {"Event": event, "Privilege": "call,all", "Timestamp": f"{self.t:.6f}"}
        if chan is not None:
            frame.update(self._fields(chan))
        frame.update(more)
        self.frames.append(frame)
        return frame

    def channel(
        self,
        tech_resource: str,
        *,
        linked: Chan | None = None,
        num: str = "",
        name: str = "",
        context: str = "from-internal",
        exten: str = "s",
        state: str = "Down",
    ) -> Chan:
        uid = f"{int(self.t)}.{self.seq}"
        self.seq += 1
        chan = Chan(
            f"{tech_resource}-{self.seq:08x}",
            uid,
            linked.linkedid if linked else uid,
            num,
            name,
            context,
            exten,
            state,
        )
        self.emit("Newchannel", chan)
        return chan

    def inbound(self, caller: str, did: str, name: str = "CUSTOMER") -> Chan:
        return self.channel(
            "PJSIP/pstn", num=caller, name=name, context="from-pstn", exten=did, state="Ring"
        )

    def exten(self, chan: Chan, context: str, exten: str, app: str, data: str = "") -> None:
        chan.context, chan.exten = context, exten
        self.emit("Newexten", chan, Extension=exten, Application=app, AppData=data)

    def state(self, chan: Chan, state: str) -> None:
        chan.state = state
        self.emit("Newstate", chan)

    def _dest(self, dest: Chan) -> Frame:
        return {f"Dest{k}": v for k, v in self._fields(dest).items()}

    def dial(self, src: Chan, dest: Chan, dialstring: str) -> None:
        self.emit("DialBegin", src, DialString=dialstring, **self._dest(dest))
        self.state(dest, "Ringing")

    def dial_end(self, src: Chan, dest: Chan, status: str) -> None:
        self.emit("DialEnd", src, DialStatus=status, **self._dest(dest))

    def phone_leg(self, caller: Chan, ext: str) -> Chan:
        leg = self.channel(f"PJSIP/{ext}", linked=caller, num=ext, name=f"Ext {ext}")
        self.dial(caller, leg, ext)
        return leg

    def bridge(self, bridge_id: str, *chans: Chan) -> None:
        for chan in chans:
            chan.state = "Up"
            self.emit("BridgeEnter", chan, BridgeUniqueid=bridge_id, BridgeType="basic")

    def unbridge(self, bridge_id: str, *chans: Chan) -> None:
        for chan in chans:
            self.emit("BridgeLeave", chan, BridgeUniqueid=bridge_id)

    def hangup(self, chan: Chan, cause: str = "16", request: bool = False) -> None:
        if request:
            self.emit("HangupRequest", chan)
        self.emit("Hangup", chan, Cause=cause)

    def dtmf(self, chan: Chan, digit: str) -> None:
        self.emit("DTMFEnd", chan, Digit=digit, DurationMs="120", Direction="Received")

    def to_bytes(self, frames: list[Frame] | None = None) -> bytes:
        return b"".join(encode_frame(f) for f in (frames or self.frames))
