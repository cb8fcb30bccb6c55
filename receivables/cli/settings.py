"""`settings show | set | reset-tracks`: the reminder engine's settings (tracks, the rules that choose a track,
payment details, costs, interest rates, the engine's limits), as the Settings page's Reminders tab edits them,
through the same checks and with each change in the audit log."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from db.uow import UnitOfWork
from receivables.services import reminder_settings

ACTOR = "cli"


def register(sub) -> None:
    s = sub.add_parser("settings", help="the reminder engine's settings")
    ss = s.add_subparsers(dest="settings_command", required=True)
    show = ss.add_parser("show", help="print a setting as JSON (what is stored, or the shipped default)")
    show.add_argument("key", choices=reminder_settings.KEYS)
    show.set_defaults(handler=show_setting)
    put = ss.add_parser("set", help="check and store a setting from a JSON file (- for standard input); rules may "
                                    'give their conditions as "conditions": [{"signal", "op", "value"}]')
    put.add_argument("key", choices=reminder_settings.KEYS)
    put.add_argument("file")
    put.set_defaults(handler=set_setting)
    reset = ss.add_parser("reset-tracks", help="back to the shipped tracks and rules")
    reset.set_defaults(handler=reset_tracks)


def show_setting(engine, args) -> int:
    with UnitOfWork(engine) as uow:
        value = reminder_settings.stored_form(uow.session, args.key)
    print(json.dumps(value, indent=2, ensure_ascii=False, default=str))
    return 0


def set_setting(engine, args) -> int:
    text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text(encoding="utf-8")
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        print(f"error: {args.file} is not JSON: {exc}", file=sys.stderr)
        return 2
    with UnitOfWork(engine, immediate=True) as uow:
        reminder_settings.save_setting(uow, args.key, value, actor=ACTOR)
    print(f"saved {args.key}")
    return 0


def reset_tracks(engine, args) -> int:
    with UnitOfWork(engine, immediate=True) as uow:
        reminder_settings.reset_tracks(uow, actor=ACTOR)
    print("the shipped tracks and rules are back")
    return 0
