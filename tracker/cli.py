"""The `tracker` command line. Bad input: one line on stderr and exit 2, never a traceback."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from domain.errors import DomainError
from tracker.application import SYSTEM, Tracker
from tracker.bootstrap import build_application
from tracker.persistence import ConfigurationError
from tracker.settings import Settings, load_settings


class UsageError(Exception):
    """Bad input on the command line: printed as one line, exit 2."""


def _with_app(settings: Settings, work: Callable[[Tracker], int]) -> int:
    app = build_application(settings)
    try:
        return work(app)
    finally:
        app.close()


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from web.app import create_app

    uvicorn.run(create_app(settings), host=args.host, port=args.port, proxy_headers=False,
                log_level="info")
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from tracker.demo import DEMO_PASSWORD, demo_accounts, load_demo, store_is_empty

    def work(app: Tracker) -> int:
        if args.if_empty and not store_is_empty(app):
            print("demo: the store is not empty, demo data not loaded")
            return 0
        added = load_demo(app)
        print(f"demo: {added} dialogues added" if added else "demo: already loaded, nothing added")
        print(f"demo accounts, all with the password {DEMO_PASSWORD!r}:")
        for name, role, acts_for in demo_accounts():
            print(f"  {name:32} {role:8} {acts_for}")
        return 0

    return _with_app(settings, work)


def cmd_user_add(args: argparse.Namespace, settings: Settings) -> int:
    if not args.password_stdin:
        raise UsageError("give the password on standard input with --password-stdin")
    password = sys.stdin.readline().rstrip("\r\n")
    if args.role == "member" and not (args.dialogue and args.party):
        raise UsageError("a member needs --dialogue SLUG and --party PARTY")
    if args.role != "member" and (args.dialogue or args.party):
        raise UsageError("only a member belongs to a dialogue; drop --dialogue/--party")

    def work(app: Tracker) -> int:
        try:
            account = app.account_by_name(args.name)
        except DomainError:
            account = None
        if account is None:
            app.add_account(SYSTEM, name=args.name, role=args.role, password=password)
        elif account.role != args.role or not args.dialogue:
            raise UsageError(f"an account called {args.name!r} exists")
        if args.dialogue:
            app.grant_membership(SYSTEM, args.name, slug=args.dialogue, party=args.party)
        print(f"account {args.name}: {args.role}"
              + (f" in {args.dialogue} for {args.party}" if args.dialogue else ""))
        return 0

    return _with_app(settings, work)


def cmd_token_create(args: argparse.Namespace, settings: Settings) -> int:
    def work(app: Tracker) -> int:
        print(app.create_token(SYSTEM, args.name, label=args.label))
        return 0

    return _with_app(settings, work)


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    from tracker.transfer import export_log

    def work(app: Tracker) -> int:
        count = export_log(app, args.file)
        print(f"exported {count} events to {args.file}", file=sys.stderr)
        return 0

    return _with_app(settings, work)


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    from tracker.transfer import import_log

    def work(app: Tracker) -> int:
        count = import_log(app, args.file)
        print(f"imported {count} events from {args.file}", file=sys.stderr)
        return 0

    return _with_app(settings, work)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tracker", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="serve the web app")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=None)
    serve.set_defaults(func=cmd_serve)

    demo = sub.add_parser("demo", help="load the demo dialogues (idempotent)")
    demo.add_argument("--if-empty", action="store_true",
                      help="load only into an empty store (what `make run` does)")
    demo.set_defaults(func=cmd_demo)

    user = sub.add_parser("user", help="manage accounts").add_subparsers(dest="user_command",
                                                                         required=True)
    add = user.add_parser("add", help="create an account, or add a membership to one")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=["member", "auditor", "admin"])
    add.add_argument("--dialogue")
    add.add_argument("--party")
    add.add_argument("--password-stdin", action="store_true")
    add.set_defaults(func=cmd_user_add)

    token = sub.add_parser("token", help="API tokens").add_subparsers(dest="token_command",
                                                                     required=True)
    create = token.add_parser("create", help="print a new API token for an account")
    create.add_argument("name")
    create.add_argument("--label", default="")
    create.set_defaults(func=cmd_token_create)

    export = sub.add_parser("export", help="write the whole event log as JSON Lines")
    export.add_argument("file")
    export.set_defaults(func=cmd_export)
    imp = sub.add_parser("import", help="load a JSON Lines event log into an empty store")
    imp.add_argument("file")
    imp.set_defaults(func=cmd_import)
    return parser




def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)  # argparse itself prints usage and exits 2 on bad syntax
    try:
        settings = load_settings()
        if getattr(args, "port", "absent") is None:
            import os

            args.port = int(os.environ.get("PORT", "8000"))
        return args.func(args, settings)
    except (UsageError, DomainError, ConfigurationError, ValueError, OSError) as error:
        message = getattr(error, "message", None) or str(error).splitlines()[0]
        print(f"tracker: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
