"""`python -m receivables …`: the same services the pages call, for cron jobs and scripts. One module per
command group; `commands` registers them all and runs the one asked for; `printers` prints the results."""

from receivables.cli.commands import build_parser, main

__all__ = ["build_parser", "main"]
