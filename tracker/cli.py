"""The `tracker` command line. Bad input: one line on stderr and exit 2, never a traceback."""

from __future__ import annotations

import argparse
import json
import socket
import sqlite3
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from eventsourcing.persistence import PersistenceError

from domain.account import LANGUAGES
from domain.errors import DomainError
from projections.database import (
    ConfigurationError,
    check_database,
    describe,
    is_postgres,
    postgres_params,
)
from tracker.application import SYSTEM, Tracker
from tracker.bootstrap import build_application, check_encryption
from tracker.settings import Settings, load_settings

if TYPE_CHECKING:
    from projections.readmodels import ReadModels


class UsageError(Exception):
    """Bad input on the command line: printed as one line, exit 2."""


class Parser(argparse.ArgumentParser):
    """argparse, whose refusals are one line on stderr (no usage block) and exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def port_number(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a port is a number, not {text[:20]!r}") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"a port is from 1 to 65535, not {port}")
    return port


@contextmanager
def progress(what: str, total: int | None) -> Iterator[Callable[[int], None]]:
    """A progress bar on standard error while the block runs (events done, events per second,
    time left), on a terminal only: piped, redirected or under tests nothing is written and the
    output stays what it was. Yields `done(n)`: n events are done so far."""
    if not sys.stderr.isatty():
        yield lambda done: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        TextColumn,
        TimeRemainingColumn,
    )
    from rich.text import Text

    class Rate(ProgressColumn):
        def render(self, task: Any) -> Text:
            speed = task.speed or (task.completed / task.elapsed if task.finished and
                                   task.elapsed else None)  # (at the end: the average)
            return Text(f"{speed:,.0f} events/s" if speed else "- events/s")

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), Rate(),
                  TextColumn("left"), TimeRemainingColumn(),
                  console=Console(stderr=True)) as bar:
        task = bar.add_task(what, total=total or None)
        yield lambda done: bar.update(task, completed=done)
        bar.update(task, total=bar.tasks[0].completed)  # done: the bar full
        bar.stop_task(task)


@contextmanager
def progress_polled(what: str, total: int | None, poll: Callable[[], int]) -> Iterator[None]:
    """`progress` for work that cannot report itself: `poll()` (how many events are done, read
    from the database by another connection) is asked a few times a second."""
    import threading

    if not sys.stderr.isatty():
        yield
        return
    finished = threading.Event()
    with progress(what, total) as done:
        def watch() -> None:
            while not finished.wait(0.25):
                with suppress(Exception):  # (a busy moment of the database: the next poll)
                    done(poll())

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        try:
            yield
        finally:
            finished.set()
            watcher.join()
            with suppress(Exception):
                done(poll())


def log_head(app: Tracker) -> int:
    return app.recorder.max_notification_id() or 0


def _with_app(settings: Settings, work: Callable[[Tracker], int]) -> int:
    check_database(settings.database_url)  # unreachable, missing: one line, within seconds
    app = build_application(settings)
    try:
        check_encryption(settings, app)  # a key that does not open the database: one line
        return work(app)
    finally:
        app.close()


def listening_socket(host: str, port: int) -> socket.socket:
    """The server's socket, bound before anything starts: a port in use or a host that is not
    this machine's is then one line (exit 2), not a traceback from inside the server."""
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        # (IPPROTO_TCP named: asyncio sets TCP_NODELAY only on sockets that say so; without it
        # every answer written in two parts waited 40 ms for the client's delayed ACK)
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as error:
        raise UsageError(f"cannot listen on {host}:{port}: {error.strerror or error}") from None
    return sock


def worker_count(text: str) -> int:
    try:
        count = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a number of workers is a whole number, not "
                                         f"{text[:20]!r}") from None
    if count < 1:
        raise argparse.ArgumentTypeError(f"a number of workers is at least 1, not {count}")
    return count


def server_config(app: Any, host: str, port: int, trusted_proxies: str = "") -> Any:
    """uvicorn's settings for `tracker serve` (also those of the command bench's floor server,
    bench/command.py, so both are served alike): httptools and uvloop (uvicorn[standard]) when
    installed ("auto")."""
    import uvicorn

    trusted = trusted_proxies.strip()
    return uvicorn.Config(app, host=host, port=port, proxy_headers=bool(trusted),
                          forwarded_allow_ips=trusted or None, log_level="info",
                          loop="auto", http="auto")


STARTUP_FAILURE = 3  # a worker's exit status when its app did not start


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from projections.binding import Binder

    Binder.from_text(settings.ensure_binding_keys())  # a malformed key list: one line, exit 2
    _with_app(settings, lambda app: 0)  # reachable, and opened by the encryption key
    sock = listening_socket(args.host, args.port)
    if args.workers == 1:
        started = serve_on(sock, args, settings)
    else:
        started = supervise(args.workers, lambda ready: 0 if serve_on(sock, args, settings, ready)
                            else STARTUP_FAILURE)
    if not started:  # the app did not start (its own log said why)
        raise UsageError("the server did not start; see the lines above")
    return 0


def serve_on(sock: socket.socket, args: argparse.Namespace, settings: Settings,
             ready: Callable[[], None] = lambda: None) -> bool:
    """One uvicorn server on the bound socket, until SIGTERM or Ctrl-C; whether it started.
    `ready()` is called once it serves. httptools and uvloop (uvicorn[standard]) are used when
    installed ("auto")."""
    import uvicorn

    from web.app import create_app

    app = create_app(settings)

    class Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if self.started:
                ready()

        def handle_exit(self, sig: int, frame: Any) -> None:
            app.state.stopping.set()  # answers from now on close their connection (web.security)
            super().handle_exit(sig, frame)

    server = Server(server_config(app, args.host, args.port, settings.trusted_proxies))
    server.run(sockets=[sock])
    return server.started


def supervise(count: int, work: Callable[[Callable[[], None]], int],
              restart_after: float = 10.0) -> bool:
    """Run `work(ready)` in `count` forked processes (the workers, sharing the socket the parent
    bound: the kernel hands each connection to one of them) until SIGTERM or Ctrl-C, which every
    worker then gets and ends on gracefully (uvicorn finishes the requests under way). They start
    one after the other, each once the one before calls `ready()` (or ends): starting at once,
    they raced on the event store's idempotent DDL, which PostgreSQL then refuses ("tuple
    concurrently updated"). A worker that dies after `restart_after` seconds of service is
    replaced; one that fails at start stops the others (the same failure would repeat). False:
    the workers did not start."""
    import os
    import signal
    import time

    children: dict[int, float] = {}  # pid -> when it started
    stopping = False

    def start_worker() -> None:
        reader, writer = os.pipe()
        pid = os.fork()
        if pid == 0:  # the worker: its own signal handling (uvicorn's), its own exit
            os.close(reader)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.default_int_handler)

            def ready() -> None:
                os.write(writer, b"!")
                os.close(writer)

            code = STARTUP_FAILURE
            try:
                code = work(ready)
            except Exception as error:  # one line, as the parent's own errors
                print(f"tracker: error in worker {os.getpid()}: {one_line(error, None)}",
                      file=sys.stderr, flush=True)
            finally:
                os._exit(code)
        os.close(writer)
        children[pid] = time.monotonic()
        with suppress(OSError):  # (interrupted: the stop signal)
            os.read(reader, 1)  # "!" once it serves; nothing (end of file) if it ended first
        os.close(reader)

    def stop(sig: int, frame: Any) -> None:
        nonlocal stopping
        stopping = True
        for pid in list(children):
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    failed = False
    try:
        for _ in range(count):
            if not stopping:
                start_worker()
        print(f"tracker: {count} workers serving (pids {', '.join(map(str, children))})",
              file=sys.stderr, flush=True)
        while children:
            pid, status = os.wait()
            since = children.pop(pid, None)
            if since is None or stopping:
                continue
            code = os.waitstatus_to_exitcode(status)
            if code == STARTUP_FAILURE or time.monotonic() - since < restart_after:
                print(f"tracker: worker {pid} ended at start (status {code}); stopping the others",
                      file=sys.stderr, flush=True)
                failed = True
                stop(signal.SIGTERM, None)
            else:
                print(f"tracker: worker {pid} ended (status {code}); starting another",
                      file=sys.stderr, flush=True)
                start_worker()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return not failed


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from tracker.demo import DEMO_PASSWORD, demo_accounts, load_demo, store_is_empty

    def work(app: Tracker) -> int:
        if args.if_empty and not store_is_empty(app):
            print("demo: the store is not empty, demo data not loaded")
            return 0
        with progress_polled("demo", None, lambda: log_head(app)):
            added = load_demo(app)
        print(f"demo: {added} dialogues added" if added else "demo: already loaded, nothing added")
        print(f"demo accounts, all with the password {DEMO_PASSWORD!r}:")
        for name, role, acts_for in demo_accounts():
            print(f"  {name:32} {role:8} {acts_for}")
        return 0

    return _with_app(settings, work)


def read_password(args: argparse.Namespace) -> str:
    if not args.password_stdin:
        raise UsageError("give the password on standard input with --password-stdin")
    return sys.stdin.readline().rstrip("\r\n")


def cmd_user_add(args: argparse.Namespace, settings: Settings) -> int:
    password = read_password(args)
    if args.role == "member" and not (args.dialogue and args.party):
        raise UsageError("a member needs --dialogue SLUG and --party PARTY")
    if args.role != "member" and (args.dialogue or args.party):
        raise UsageError("only a member belongs to a dialogue; drop --dialogue/--party")

    def work(app: Tracker) -> int:
        try:
            account = app.account_by_name(args.name)
        except DomainError:
            account = None
        if account is None:  # everything asked, in one transaction: all of it, or nothing
            app.add_account(SYSTEM, name=args.name, role=args.role, password=password,
                            email=args.email, language=args.language,
                            memberships=[(args.dialogue, args.party)] if args.dialogue else ())
        elif account.role != args.role or not args.dialogue or args.email or args.language:
            raise UsageError(f"an account called {args.name!r} exists")
        else:
            app.grant_membership(SYSTEM, args.name, slug=args.dialogue, party=args.party)
        print(f"account {args.name}: {args.role}"
              + (f" in {args.dialogue} for {args.party}" if args.dialogue else ""))
        return 0

    return _with_app(settings, work)


def cmd_user_list(args: argparse.Namespace, settings: Settings) -> int:
    def work(app: Tracker, models: ReadModels) -> int:
        models.catch_up(["directory"])
        accounts = models.accounts()
        print(f"{'account':<28} {'role':<8} {'state':<11} {'2FA':<3} {'last sign-in':<16} "
              f"{'tokens':>6}  memberships")
        for a in accounts:
            signed_in = a["last_signed_in"].strftime("%Y-%m-%d %H:%M") if a["last_signed_in"] \
                else "never"
            memberships = ", ".join(f"{m['slug']}: {m['party']}" for m in a["memberships"])
            print(f"{a['name']:<28} {a['role']:<8} "
                  f"{'active' if a['active'] else 'deactivated':<11} "
                  f"{'on' if a['second_factor'] else '-':<3} {signed_in:<16} "
                  f"{a['active_tokens']:>6}  {memberships}")
        print(f"{len(accounts)} accounts", file=sys.stderr)
        return 0

    return _with_read_models(settings, work)


def cmd_user_deactivate(args: argparse.Namespace, settings: Settings) -> int:
    def work(app: Tracker) -> int:
        app.deactivate_account(SYSTEM, args.name, reason=args.reason)
        print(f"account {args.name}: deactivated; its sessions have ended and its tokens stop "
              "working")
        return 0

    return _with_app(settings, work)


def cmd_user_reactivate(args: argparse.Namespace, settings: Settings) -> int:
    def work(app: Tracker) -> int:
        app.reactivate_account(SYSTEM, args.name)
        print(f"account {args.name}: active again (it signs in anew)")
        return 0

    return _with_app(settings, work)


def cmd_user_password(args: argparse.Namespace, settings: Settings) -> int:
    password = read_password(args)

    def work(app: Tracker) -> int:
        result = app.reset_password(SYSTEM, args.name, password=password,
                                    revoke_tokens=args.revoke_tokens)
        print(f"account {args.name}: password set; its sessions have ended"
              + (f"; {result.extra['revoked']} tokens revoked" if args.revoke_tokens else ""))
        return 0

    return _with_app(settings, work)


def cmd_token_revoke(args: argparse.Namespace, settings: Settings) -> int:
    def work(app: Tracker) -> int:
        result = app.revoke_tokens(SYSTEM, args.name, token=None if args.all else args.token)
        print(f"account {args.name}: {result.extra['revoked']} token(s) revoked")
        return 0

    return _with_app(settings, work)


def cmd_token_create(args: argparse.Namespace, settings: Settings) -> int:
    def work(app: Tracker) -> int:
        print(app.create_token(SYSTEM, args.name, label=args.label))
        return 0

    return _with_app(settings, work)


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    from tracker.transfer import export_log

    def work(app: Tracker, models: ReadModels) -> int:
        checkpoints = models.ledger.checkpoints()
        with progress("export", log_head(app)) as done:
            count = export_log(app, args.file, checkpoints, progress=done)
        print(f"exported {count} events and {len(checkpoints)} checkpoints to {args.file}",
              file=sys.stderr)
        return 0

    return _with_read_models(settings, work)


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    from tracker.transfer import import_log

    def work(app: Tracker, models: ReadModels) -> int:
        with progress("import", event_lines(args.file)) as done:
            count = import_log(app, args.file, models.ledger, progress=done)
        print(f"imported {count} events from {args.file}", file=sys.stderr)
        return 0

    return _with_read_models(settings, work)


def event_lines(path: str) -> int | None:
    """About how many events an exported file holds (its lines), for the progress bar only;
    None on a terminal-less run or when it cannot be read (the import then says why)."""
    if not sys.stderr.isatty():
        return None
    try:
        with open(path, "rb") as handle:
            return sum(1 for _ in handle)
    except OSError:
        return None


def _with_read_models(settings: Settings, work: Callable[[Tracker, ReadModels], int]) -> int:
    from tracker.bootstrap import build_read_models

    def with_app(app: Tracker) -> int:
        models = build_read_models(settings, app)
        try:
            return work(app, models)
        finally:
            models.close()

    return _with_app(settings, with_app)


def cmd_projections_status(args: argparse.Namespace, settings: Settings) -> int:
    def work(app: Tracker, models: ReadModels) -> int:
        rows = models.status()
        print(f"{'read model':<14} {'version':>7} {'position':>10} {'lag':>8}")
        for row in rows:
            print(f"{row['name']:<14} {row['version']:>7} {row['position']:>10} {row['lag']:>8}")
        print(f"event log head: {rows[0]['head'] if rows else 0}")
        return 0

    return _with_read_models(settings, work)


def cmd_projections_rebuild(args: argparse.Namespace, settings: Settings) -> int:
    def work(app: Tracker, models: ReadModels) -> int:
        if args.name and args.name not in models.views:
            raise UsageError(f"no read model is called {args.name!r}; there are: "
                             f"{', '.join(models.views)}")
        names = [args.name] if args.name else [n for n in models.views if n not in models.kept]
        with progress_polled("rebuild", log_head(app),
                             lambda: min(models.positions(names).values())):
            count = models.rebuild(args.name)
        print(f"rebuilt {args.name or 'every read model but the ledger and the tree'}: "
              f"replayed {count} events")
        return 0

    return _with_read_models(settings, work)


def follow(models: ReadModels, *, pause: float, until_idle: float | None,
           log: Callable[[str], None]) -> int:
    """Keep every read model at the end of the log: catch up, sleep `pause`, again. With
    `until_idle`, stop once nothing new has arrived for that many seconds; returns the number of
    events applied. A database that goes away for a moment is waited for, not fatal."""
    import time

    from eventsourcing.persistence import InterfaceError, OperationalError

    applied = 0
    idle_since = time.monotonic()
    while True:
        try:
            count = models.catch_up()
        except (OperationalError, InterfaceError) as error:
            log(f"projections: the database did not answer ({str(error).splitlines()[0]}); "
                "trying again")
            count = 0
        if count:
            applied += count
            idle_since = time.monotonic()
        elif until_idle is not None and time.monotonic() - idle_since >= until_idle:
            return applied
        time.sleep(pause)


def cmd_projections_follow(args: argparse.Namespace, settings: Settings) -> int:
    if args.pause <= 0 or (args.until_idle is not None and args.until_idle < 0):
        raise UsageError("--pause must be above 0 and --until-idle at least 0 seconds")

    import signal

    # A process manager stops a worker with SIGTERM: end like Ctrl-C, between two transactions or
    # inside one (which then rolls back; the next catch-up applies it again).
    signal.signal(signal.SIGTERM, signal.default_int_handler)

    def work(app: Tracker, models: ReadModels) -> int:
        def log(line: str) -> None:
            print(line, file=sys.stderr, flush=True)

        log(f"projections: following the event log (every {args.pause:g} s)")
        try:
            applied = follow(models, pause=args.pause, until_idle=args.until_idle, log=log)
        except KeyboardInterrupt:
            return 0
        log(f"projections: idle for {args.until_idle:g} s after applying {applied} events; stopping")
        return 0

    return _with_read_models(settings, work)


def cmd_notify(args: argparse.Namespace, settings: Settings) -> int:
    """Send the outbox's notices, the reminders and the public's mail; `--once`: what is due now,
    then stop. Without TRACKER_SMTP_URL there is no mail: say so and stop."""
    if args.pause <= 0:
        raise UsageError("--pause must be above 0 seconds")
    if not settings.smtp_url:
        print("notify: TRACKER_SMTP_URL is not set; no mail is sent", file=sys.stderr)
        return 0
    import signal
    import time

    from tracker.bootstrap import build_mailer
    from web.mail import Composer  # (the entry point may start the web floor's parts)

    signal.signal(signal.SIGTERM, signal.default_int_handler)

    def work(app: Tracker, models: ReadModels) -> int:
        def log(line: str) -> None:
            print(line, file=sys.stderr, flush=True)

        mailer = build_mailer(settings, app, models, Composer(), log=log)
        try:
            while True:
                report = mailer.run_once()
                if report.messages or report.retried or report.failed:
                    log(f"notify: {report.messages} messages sent ({report.sent} notices), "
                        f"{report.retried} to try again, {report.failed} given up, "
                        f"{report.skipped} without an address or turned off")
                if args.once:
                    return 0
                time.sleep(args.pause)
        except KeyboardInterrupt:
            return 0

    return _with_read_models(settings, work)


def _write_json(document: dict[str, Any], out: str | None, what: str) -> None:
    text = json.dumps(document, indent=2) + "\n"
    if out:
        Path(out).write_text(text)
        print(f"{what} written to {out}", file=sys.stderr)
    else:
        sys.stdout.write(text)


def cmd_checkpoint(args: argparse.Namespace, settings: Settings) -> int:
    from projections.ledger import load_signing_key, sign_checkpoint
    from tracker.bootstrap import build_proofs

    def work(app: Tracker, models: ReadModels) -> int:
        models.catch_up(["ledger", "tree"])
        checkpoint = sign_checkpoint(load_signing_key(settings.signing_key_file),
                                     models.ledger_head())
        checkpoint["tree_head"] = build_proofs(settings, models).sign()
        text = json.dumps(checkpoint, indent=2) + "\n"
        if args.out:  # written first: a file that cannot be written records no checkpoint
            Path(args.out).write_text(text)
        stored = {key: value for key, value in checkpoint.items() if key != "tree_head"}
        models.ledger.record_checkpoint(stored)
        if args.out:
            print(f"checkpoint at position {checkpoint['position']} (tree size "
                  f"{checkpoint['tree_head']['tree_size']}) written to {args.out}", file=sys.stderr)
        else:
            sys.stdout.write(text)
        return 0

    return _with_read_models(settings, work)


def cmd_prove(args: argparse.Namespace, settings: Settings) -> int:
    from tracker.bootstrap import build_proofs

    if bool(args.commitment_id) == bool(args.position):
        raise UsageError("give a COMMITMENT_ID, or --position P (any event, as an auditor)")

    def work(app: Tracker, models: ReadModels) -> int:
        models.catch_up()
        proofs = build_proofs(settings, models)
        if args.commitment_id:
            bundle = proofs.commitment_bundle(args.commitment_id, since=args.since)
        else:
            bundle = proofs.events_bundle(args.position, since=args.since)
        _write_json(bundle, args.out, f"proof of {len(bundle['entries'])} events in the tree head "
                                      f"of size {bundle['tree_head']['tree_size']}")
        return 0

    return _with_read_models(settings, work)


def cmd_verify_proof(args: argparse.Namespace, settings: Settings) -> int:
    from projections.proofs import check_document, head_in, read_json, read_public_key

    document = read_json(args.file, "proof")
    trusted = read_public_key(args.key) if args.key else None
    earlier = head_in(read_json(args.head, "earlier head")) if args.head else None
    report = check_document(document, trusted_key=trusted, earlier=earlier)
    print(f"{'valid' if report.ok else 'invalid'}: {report.reason}")
    for line in report.lines:
        print(f"  {line}")
    return 0 if report.ok else 1


def cmd_witness(args: argparse.Namespace, settings: Settings) -> int:
    from tracker.witness import Refused, Witness

    def log(line: str) -> None:
        print(line, file=sys.stderr)

    try:
        print(f"witness: {Witness(args.url, Path(args.state), Path(args.key), log=log).run()}")
    except Refused as refusal:
        print(f"refused: {refusal}")
        return 1
    return 0


def cmd_verify(args: argparse.Namespace, settings: Settings) -> int:
    from projections.ledger import load_signing_key, public_key_hex, read_checkpoint, verify

    checkpoint = read_checkpoint(Path(args.checkpoint)) if args.checkpoint else None
    trusted = (public_key_hex(load_signing_key(settings.signing_key_file))
               if settings.signing_key_file.exists() else None)

    from projections.binding import UnboundEvent

    def work(app: Tracker, models: ReadModels) -> int:
        # Appends events newer than the ledger, rewrites nothing; stops before a row the
        # tracker did not write, which verify then names.
        with suppress(UnboundEvent):
            models.catch_up(["ledger"])
        with progress("verify", log_head(app)) as done:
            result = verify(app, models.ledger, checkpoint, trusted_key=trusted, progress=done)
            done(result.checked)
        if result.ok:
            print(f"intact: {result.checked} events, head position {result.head['position']}, "
                  f"head hash {result.head['head_hash']}"
                  + (f"; extends the checkpoint at position {checkpoint['position']}"
                     if checkpoint else ""))
            return 0
        where = (f"first bad position {result.first_bad_position}: "
                 if result.first_bad_position is not None else "")
        print(f"tampered: {where}{result.reason}")
        return 1

    return _with_read_models(settings, work)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="tracker", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="serve the web app")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=port_number, default=None)
    serve.add_argument("--workers", type=worker_count, default=1, metavar="N",
                       help="worker processes sharing the port (default 1; on PostgreSQL, "
                            "about one per core)")
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
    add.add_argument("--email", help="the address that receives notifications")
    add.add_argument("--language", choices=list(LANGUAGES))
    add.set_defaults(func=cmd_user_add)
    user.add_parser("list", help="every account: role, memberships, state, last sign-in, tokens"
                    ).set_defaults(func=cmd_user_list)
    deactivate = user.add_parser("deactivate",
                                 help="end an account's sessions and stop it and its tokens")
    deactivate.add_argument("name")
    deactivate.add_argument("--reason", default="deactivated from the command line")
    deactivate.set_defaults(func=cmd_user_deactivate)
    reactivate = user.add_parser("reactivate", help="let a deactivated account sign in again")
    reactivate.add_argument("name")
    reactivate.set_defaults(func=cmd_user_reactivate)
    password = user.add_parser("password", help="set an account's password (its sessions end)")
    password.add_argument("name")
    password.add_argument("--password-stdin", action="store_true")
    password.add_argument("--revoke-tokens", action="store_true",
                          help="revoke every token of the account too")
    password.set_defaults(func=cmd_user_password)

    token = sub.add_parser("token", help="API tokens").add_subparsers(dest="token_command",
                                                                     required=True)
    create = token.add_parser("create", help="print a new API token for an account")
    create.add_argument("name")
    create.add_argument("--label", default="")
    create.set_defaults(func=cmd_token_create)
    revoke = token.add_parser("revoke", help="revoke one token of an account, or all of them")
    revoke.add_argument("name")
    which = revoke.add_mutually_exclusive_group(required=True)
    which.add_argument("token", nargs="?", metavar="TOKEN-ID",
                       help="the token's id (or its first 8 characters, as listed)")
    which.add_argument("--all", action="store_true")
    revoke.set_defaults(func=cmd_token_revoke)

    export = sub.add_parser("export", help="write the whole event log as JSON Lines")
    export.add_argument("file")
    export.set_defaults(func=cmd_export)
    imp = sub.add_parser("import", help="load a JSON Lines event log into an empty store")
    imp.add_argument("file")
    imp.set_defaults(func=cmd_import)

    projections = sub.add_parser("projections", help="the read models").add_subparsers(
        dest="projections_command", required=True)
    status = projections.add_parser("status", help="each read model's position and lag")
    status.set_defaults(func=cmd_projections_status)
    rebuild = projections.add_parser(
        "rebuild", help="empty a read model (default: all but the ledger and the tree) and "
                        "replay the log")
    rebuild.add_argument("name", nargs="?")
    rebuild.set_defaults(func=cmd_projections_rebuild)
    follow_cmd = projections.add_parser(
        "follow", help="keep the read models up to date in a process of their own (a worker)")
    follow_cmd.add_argument("--pause", type=float, default=0.2,
                            help="seconds between two catch-ups when the log is quiet (0.2)")
    follow_cmd.add_argument("--until-idle", type=float, default=None, metavar="SECONDS",
                            help="stop once no new event has arrived for SECONDS (default: never)")
    follow_cmd.set_defaults(func=cmd_projections_follow)

    checkpoint = sub.add_parser("checkpoint", help="write a signed checkpoint of the ledger")
    checkpoint.add_argument("--out", help="file to write (default: standard output)")
    checkpoint.set_defaults(func=cmd_checkpoint)
    verify = sub.add_parser("verify", help="recompute the ledger over every stored event")
    verify.add_argument("--checkpoint", help="a checkpoint file the log must extend")
    verify.set_defaults(func=cmd_verify)

    prove = sub.add_parser("prove", help="the inclusion proof of a public commitment's events")
    prove.add_argument("commitment_id", nargs="?", metavar="COMMITMENT_ID")
    prove.add_argument("--position", type=int, action="append", metavar="P",
                       help="instead: any event at this log position (repeat for more)")
    prove.add_argument("--since", type=int, metavar="SIZE",
                       help="also prove that the tree head extends the tree of this size")
    prove.add_argument("--out", help="file to write (default: standard output)")
    prove.set_defaults(func=cmd_prove)
    verify_proof = sub.add_parser("verify-proof", help="check a proof file, without the database")
    verify_proof.add_argument("file", help="a proof bundle or a consistency answer (JSON)")
    verify_proof.add_argument("--key", metavar="PEM", help="the tracker's public key you trust")
    verify_proof.add_argument("--head", metavar="FILE",
                              help="an earlier tree head you kept (or a proof or checkpoint "
                                   "holding one): the file's head must extend it")
    verify_proof.set_defaults(func=cmd_verify_proof)
    witness = sub.add_parser("witness", help="cosign the tracker's latest tree head if it "
                                             "extends the last one this witness cosigned")
    witness.add_argument("url", metavar="URL", help="the tracker's address, e.g. https://tracker.example")
    witness.add_argument("--state", required=True, metavar="DIR",
                         help="where this witness keeps the last head it cosigned")
    witness.add_argument("--key", required=True, metavar="PEM",
                         help="this witness's Ed25519 private key (created if missing)")
    witness.set_defaults(func=cmd_witness)

    notify = sub.add_parser("notify", help="send due notifications and reminders by mail")
    notify.add_argument("--once", action="store_true", help="send what is due now, then stop")
    notify.add_argument("--pause", type=float, default=30.0,
                        help="seconds between two rounds (default 30)")
    notify.set_defaults(func=cmd_notify)
    return parser




def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)  # bad syntax: one line (Parser.error), exit 2
    except SystemExit as stop:  # (--help: 0)
        return int(stop.code or 0)
    settings = None
    try:
        settings = load_settings()
        if getattr(args, "port", "absent") is None:
            import os

            args.port = int(os.environ.get("PORT", "8000"))
        return args.func(args, settings)
    except (UsageError, DomainError, ConfigurationError, ValueError, OSError,
            PersistenceError, sqlite3.Error) as error:
        print(f"tracker: error: {one_line(error, settings_url(settings))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("tracker: stopped", file=sys.stderr)
        return 2


def settings_url(settings: Settings | None) -> str | None:
    return settings.database_url if settings is not None else None


def one_line(error: BaseException, database_url: str | None) -> str:
    """What went wrong, in one line; a database error names the database (not its password)."""
    message = getattr(error, "message", None) or " ".join(str(error).split()) or \
        type(error).__name__
    if isinstance(error, OSError) and error.filename and error.strerror:
        message = f"{error.filename}: {error.strerror}"
    if isinstance(error, (PersistenceError, sqlite3.Error)) and database_url:
        message = f"the {describe(database_url)} failed: {message}"
        password = postgres_params(database_url)["password"] if is_postgres(database_url) else ""
        if password:
            message = message.replace(password, "***")
    return message[:500]


if __name__ == "__main__":
    sys.exit(main())
