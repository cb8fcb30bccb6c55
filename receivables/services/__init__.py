"""Use cases: each takes primitives and a unit of work, owns its transaction, and is what the pages and
the command line call."""
