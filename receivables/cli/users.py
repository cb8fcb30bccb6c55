"""`users add | reset-password | set-role | list`: the user file, with each change in the audit log."""

from __future__ import annotations

import sys

from db.uow import UnitOfWork
from receivables.cli.printers import print_users
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
    a.add_argument("--password-stdin", action="store_true", help=chosen)
    a.set_defaults(handler=add)
    r = us.add_parser("reset-password")
    r.add_argument("name")
    r.add_argument("--password-stdin", action="store_true", help=chosen)
    r.set_defaults(handler=reset_password)
    s = us.add_parser("set-role")
    s.add_argument("name")
    s.add_argument("--role", choices=users.ROLES, required=True)
    s.set_defaults(handler=set_role)
    us.add_parser("list").set_defaults(handler=list_users)


def _chosen_password(args) -> str | None:
    return sys.stdin.readline().rstrip("\r\n") if args.password_stdin else None


def add(engine, args) -> int:
    chosen = _chosen_password(args)
    with UnitOfWork(engine) as uow:
        pw = users.add_user(uow, args.name, args.role, actor=ACTOR, name=args.full_name, email=args.email,
                            password=chosen)
    print(f"user {args.name} ({args.role}) added" + ("" if chosen else f"; password: {pw}"))
    return 0


def reset_password(engine, args) -> int:
    chosen = _chosen_password(args)
    with UnitOfWork(engine) as uow:
        pw = users.reset_password(uow, args.name, actor=ACTOR, password=chosen)
    print(f"password of {args.name} set" if chosen else f"new password for {args.name}: {pw}")
    return 0


def set_role(engine, args) -> int:
    with UnitOfWork(engine) as uow:
        users.set_role(uow, args.name, args.role, actor=ACTOR)
    print(f"{args.name} is now {args.role}")
    return 0


def list_users(engine, args) -> int:
    print_users(users.list_users())
    return 0
