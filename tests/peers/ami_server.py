"""The fake AMI server for tests: it lives in the package (the demo uses it too)."""

from drivers.sources.asterisk.fake_server import (
    FakeAmiServer,
    chunk,
    demo_streams,
    encode_frame,
    frame_fields,
    live_channels,
    split_frames,
)

__all__ = [
    "FakeAmiServer",
    "chunk",
    "demo_streams",
    "encode_frame",
    "frame_fields",
    "live_channels",
    "split_frames",
]
