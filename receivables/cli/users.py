"""`users add | reset-password | set-role | disable | enable | remove | set-email | change-password |
set-language | list`: the users in the database, each change in the audit log; what Settings → Users and
My account do on the page."""

from __future__ import annotations

import sys

from db.uow import UnitOfWork
from receivables.cli.printers import print_users
from receivables.domain.translation import LANGUAGES
from receivables.services import users

ACTOR = "cli"


def register(sub) -> None:
    u = sub.add_parser("users", help="manage users")
    us = u.add_subparsers(dest="users_command", required=True)
    chosen = ("read the password from the first line of standard input instead of generating one (at least "
              f"{users.MIN_PASSWORD} characters, not the user name, not a common password)")
    a = us.add_parser("add")
    a.add_argument("name")
    a.add_argument("--role", choices=users.ROLES, required=True)
    a.add_argument("--full-name")
    a.add_argument("--email")
    a.add_argument("--language", choices=list(LANGUAGES))
    a.add_argument("--password-stdin", action="store_true", help=chosen)
    a.set_defaults(handler=add)
    r = us.add_parser("reset-password", help="a new password; ends the user's logins")
    r.add_argument("name")
    r.add_argument("--password-stdin", action="store_true", help=chosen)
    r.set_defaults(handler=reset_password)
    s = us.add_parser("set-role", help="change the role; ends the user's logins")
    s.add_argument("name")
    s.add_argument("--role", choices=users.ROLES, required=True)
    s.set_defaults(handler=set_role)
    for command, handler, text in (("disable", disable, "the user cannot log in; their logins end"),
                                   ("enable", enable, "the user can log in again"),
                                   ("remove", remove, "remove the user; their logins end")):
        p = us.add_parser(command, help=text)
        p.add_argument("name")
        p.set_defaults(handler=handler)
    e = us.add_parser("set-email", help="the user's e-mail address")
    e.add_argument("name")
    e.add_argument("email")
    e.set_defaults(handler=set_email)
    c = us.add_parser("change-password", help="change your own password: reads the current password and then "
                                              "the new one, each on a line of standard input")
    c.add_argument("name")
    c.set_defaults(handler=change_password)
    la = us.add_parser("set-language", help="the language of the user's screens (none: the browser's)")
    la.add_argument("name")
    la.add_argument("language", choices=[*LANGUAGES, "none"])
    la.set_defaults(handler=set_language)
    us.add_parser("list").set_defaults(handler=list_users)


def _chosen_password(args) -> str | None:
    return sys.stdin.readline().rstrip("\r\n") if args.password_stdin else None


def _writing(engine) -> UnitOfWork:
    """A unit of work for a change, after the start-up's own (the users file of earlier versions imported,
    or a first admin made, when the database has no users yet)."""
    with UnitOfWork(engine, immediate=True) as uow:
        password = users.ensure_users(uow)
    if password:
        print(f"first start: user admin created with password {password}")
    return UnitOfWork(engine, immediate=True)


def add(engine, args) -> int:
    chosen = _chosen_password(args)
    with _writing(engine) as uow:
        pw = users.add_user(uow, args.name, args.role, actor=ACTOR, name=args.full_name, email=args.email,
                            password=chosen, language=args.language)
    print(f"user {args.name} ({args.role}) added" + ("" if chosen else f"; password: {pw}"))
    return 0


def reset_password(engine, args) -> int:
    chosen = _chosen_password(args)
    with _writing(engine) as uow:
        pw = users.reset_password(uow, args.name, actor=ACTOR, password=chosen)
    print(f"password of {args.name} set" if chosen else f"new password for {args.name}: {pw}")
    return 0


def set_role(engine, args) -> int:
    with _writing(engine) as uow:
        users.set_role(uow, args.name, args.role, actor=ACTOR)
    print(f"{args.name} is now {args.role}")
    return 0


def disable(engine, args) -> int:
    with _writing(engine) as uow:
        users.set_disabled(uow, args.name, True, actor=ACTOR)
    print(f"{args.name} is disabled; their logins have ended")
    return 0


def enable(engine, args) -> int:
    with _writing(engine) as uow:
        users.set_disabled(uow, args.name, False, actor=ACTOR)
    print(f"{args.name} can log in again")
    return 0


def remove(engine, args) -> int:
    with _writing(engine) as uow:
        users.remove_user(uow, args.name, actor=ACTOR)
    print(f"{args.name} is removed")
    return 0


def set_email(engine, args) -> int:
    with _writing(engine) as uow:
        email = users.set_email(uow, args.name, args.email, actor=ACTOR)
    print(f"the e-mail address of {args.name} is {email}")
    return 0


def change_password(engine, args) -> int:
    current = sys.stdin.readline().rstrip("\r\n")
    new = sys.stdin.readline().rstrip("\r\n")
    with _writing(engine) as uow:
        users.change_password(uow, args.name, current, new)
    print(f"password of {args.name} changed; their other logins have ended")
    return 0


def set_language(engine, args) -> int:
    language = None if args.language == "none" else args.language
    with _writing(engine) as uow:
        users.set_language(uow, args.name, language, actor=ACTOR)
    print(f"{args.name} reads the screens in {language or 'the browser’s language'}")
    return 0


def list_users(engine, args) -> int:
    with UnitOfWork(engine) as uow:
        print_users(users.list_users(uow))
    return 0
