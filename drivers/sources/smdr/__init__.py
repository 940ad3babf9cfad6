"""The `smdr` source: the call records other PBXes print (Avaya IP Office, Mitel, NEC,
Panasonic, Samsung, 3CX, or a `custom` layout described in the YAML), read over a
serial port, a TCP dial-out or a listening socket.

The flow, one module each: `line` (the transport, however it is wired) → `framing`
(bytes to raw records) → `ingest` (records to call records; every bad line counted,
logged and kept) with one parser per family from `families` (the table by `format:`
name; `parsing` holds what they share, `clock` the PBX's wall clock) → `source`
(`SmdrSource`, the `drivers.base.Source`). `passthrough`, `passthrough_serve`,
`outlet` and `reopening` copy every raw byte on to the dealership's own call
accounting; `config` holds the options, `doctor` and `replay` the technician's tools.
"""
