"""The `ringback` command: `parser` (argparse, `main`), `commands` (the small
subcommands), `demo`, `replay` and `report`. The top of the house: it may import
every other folder, and nothing imports it."""
