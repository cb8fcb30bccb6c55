"""Debtor Desk's core: importing, ageing, metrics, reminder tracks and the services the UI and CLI call."""
