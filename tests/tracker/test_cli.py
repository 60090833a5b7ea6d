"""The command line: the account commands, and every command's operational errors.

Each operational error (the database unreachable, missing or without its schema, a bad port, a
file that cannot be read or written, a number no store holds) is one line on stderr and exit 2,
within a few seconds, and changes nothing; exit 1 is only `verify`'s "tampered". The commands run
in this process (`tracker.cli.main`, as the console script calls it) on a real store.
"""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pytest

from tests.conftest import POSTGRES_URL
from tests.factories import PASSWORD, make_world
from tracker.application import SYSTEM, Tracker
from tracker.bootstrap import build_application
from tracker.cli import main
from tracker.settings import Settings


@pytest.fixture
def env(settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path):
    """The `tracker` environment of this test's store."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TRACKER_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("TRACKER_VAR_DIR", str(settings.var_dir))
    monkeypatch.setenv("TRACKER_SIGNING_KEY_FILE", str(settings.signing_key_file))
    monkeypatch.setenv("TRACKER_SECRET_KEY", settings.secret_key)
    return settings


def run(capsys, monkeypatch, *args: str, stdin: str = "") -> tuple[int, str, str]:
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def position(tracker: Tracker) -> int:
    return tracker.recorder.max_notification_id() or 0


def refused(capsys, monkeypatch, tracker: Tracker, *args: str, stdin: str = "",
            says: str = "") -> str:
    """Run a command that must fail: exit 2, one line on stderr, the log unchanged."""
    before = position(tracker)
    code, _, err = run(capsys, monkeypatch, *args, stdin=stdin)
    assert code == 2, (args, err)
    assert err.count("\n") == 1 and err.startswith("tracker"), (args, err)
    assert says in err, (args, err)
    assert position(tracker) == before, args
    return err


# --- the account commands --------------------------------------------------------------------------

def test_an_administrator_manages_accounts_from_the_command_line(env, tracker, capsys, monkeypatch):
    make_world(tracker, with_members=False)
    code, out, _ = run(capsys, monkeypatch, "user", "add", "aissata", "--role", "member",
                       "--dialogue", "saaba", "--party", "Police nationale", "--email",
                       "aissata@example.org", "--language", "ar", "--password-stdin",
                       stdin=PASSWORD + "\n")
    assert code == 0, out
    account = tracker.account_by_name("aissata")
    assert (account.email, account.language) == ("aissata@example.org", "ar")
    assert list(account.memberships) == [str(tracker.dialogue_by_slug("saaba").id)]
    token = tracker.create_token(SYSTEM, "aissata", label="phone")
    tracker.create_token(SYSTEM, "aissata", label="laptop")

    code, out, _ = run(capsys, monkeypatch, "user", "list")
    assert code == 0
    line = next(line for line in out.splitlines() if line.startswith("aissata"))
    assert "member" in line and "active" in line and "never" in line
    assert " 2  saaba: Police nationale" in line

    assert run(capsys, monkeypatch, "user", "deactivate", "aissata", "--reason", "left")[0] == 0
    assert tracker.principal_for_token(token) is None
    assert "deactivated" in run(capsys, monkeypatch, "user", "list")[1]
    assert run(capsys, monkeypatch, "user", "reactivate", "aissata")[0] == 0
    assert tracker.principal_for_token(token) is not None  # tokens come back, sessions do not

    epoch = tracker.account_by_name("aissata").session_epoch
    assert run(capsys, monkeypatch, "user", "password", "aissata", "--password-stdin",
               stdin="a brand new password\n")[0] == 0
    assert tracker.authenticate("aissata", "a brand new password") is not None
    assert tracker.authenticate("aissata", PASSWORD) is None
    assert tracker.account_by_name("aissata").session_epoch > epoch  # sessions ended

    token_id = tracker.account_by_name("aissata").tokens[0]
    code, out, _ = run(capsys, monkeypatch, "token", "revoke", "aissata", token_id[:8])
    assert code == 0 and "1 token(s) revoked" in out
    assert tracker.principal_for_token(token) is None
    code, out, _ = run(capsys, monkeypatch, "token", "revoke", "aissata", "--all")
    assert code == 0 and "1 token(s) revoked" in out
    assert tracker.account_by_name("aissata").active_tokens() == []
    # each change is an event on the account, in the system's name (the command line)
    kinds = [type(e).__name__ for e in tracker.aggregate_events(account.id)]
    assert kinds[-5:] == ["Deactivated", "Reactivated", "PasswordChanged", "TokenRevoked",
                          "TokenRevoked"]
    assert all(e.meta.actor is None for e in list(tracker.aggregate_events(account.id))[-5:])


def test_user_add_creates_nothing_unless_everything_it_was_asked_is_valid(env, tracker, capsys,
                                                                           monkeypatch):
    make_world(tracker, with_members=False)
    member = ("user", "add", "moussa", "--role", "member", "--password-stdin")
    for args, says in [
        ((*member, "--dialogue", "nowhere", "--party", "Police nationale"), "nowhere"),
        ((*member, "--dialogue", "saaba", "--party", "Gendarmerie"), "no such party"),
        ((*member, "--dialogue", "saaba", "--party", "Police nationale", "--email", "not-an-address"),
         "email address"),
        (("user", "add", "moussa", "--role", "admin", "--password-stdin", "--language", "de"),
         "invalid choice"),
    ]:
        refused(capsys, monkeypatch, tracker, *args, stdin=PASSWORD + "\n", says=says)
        with pytest.raises(Exception, match="no account"):
            tracker.account_by_name("moussa")
    refused(capsys, monkeypatch, tracker, "user", "add", "moussa", "--role", "admin",
            "--password-stdin", stdin="short\n", says="at least 8")
    refused(capsys, monkeypatch, tracker, "user", "add", "moussa", "--role", "admin",
            says="--password-stdin")


def test_each_account_command_refuses_bad_input_in_one_line_and_changes_nothing(
        env, tracker, capsys, monkeypatch):
    tracker.add_account(SYSTEM, name="clerk", role="member", password=PASSWORD)
    for args, stdin, says in [
        (("user", "deactivate", "nobody"), "", "no account"),
        (("user", "reactivate", "clerk"), "", "already active"),
        (("user", "password", "clerk", "--password-stdin"), "short\n", "at least 8"),
        (("user", "password", "nobody", "--password-stdin"), PASSWORD + "\n", "no account"),
        (("user", "password", "clerk"), "", "--password-stdin"),
        (("token", "create", "nobody"), "", "no account"),
        (("token", "revoke", "clerk", "--all"), "", "no active token"),
        (("token", "revoke", "clerk", "0123456789"), "", "no token"),
        (("token", "revoke", "clerk", "0123456789", "--all"), "", "not allowed with"),
        (("token", "revoke", "clerk"), "", "required"),
        (("projections", "rebuild", "nosuch"), "", "no read model"),
        (("projections", "follow", "--pause", "0"), "", "--pause"),
        (("serve", "--port", "99999"), "", "1 to 65535"),
        (("serve", "--port", "http"), "", "a port is a number"),
        (("serve", "--workers", "0"), "", "at least 1, not 0"),
        (("serve", "--workers", "-3"), "", "at least 1, not -3"),
        (("serve", "--workers", "two"), "", "a whole number, not 'two'"),
    ]:
        refused(capsys, monkeypatch, tracker, *args, stdin=stdin, says=says)
    tracker.deactivate_account(SYSTEM, "clerk", reason="left")
    refused(capsys, monkeypatch, tracker, "user", "deactivate", "clerk", says="already")


def test_serve_on_a_port_in_use_says_so_in_one_line(env, tracker, capsys, monkeypatch):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        refused(capsys, monkeypatch, tracker, "serve", "--port", str(port),
                says=f"cannot listen on 127.0.0.1:{port}")
    refused(capsys, monkeypatch, tracker, "serve", "--host", "192.0.2.1", "--port", "8000",
            says="cannot listen on 192.0.2.1:8000")


def children_of(pid: int) -> list[int]:
    """The processes whose parent is `pid` (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def test_serve_with_two_workers_answers_from_both_and_stops_them_all_on_sigterm(env, tmp_path):
    import signal
    import subprocess
    from concurrent.futures import ThreadPoolExecutor

    import httpx

    from tests.browser_support import ServerProcess, tracker_command, tracker_env

    port = ServerProcess(env.database_url, tmp_path).port
    log = (tmp_path / "serve.log").open("wb")
    server = subprocess.Popen(
        [*tracker_command(), "serve", "--port", str(port), "--workers", "2"],
        env=tracker_env(env.database_url, tmp_path), stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60  # the workers start one after the other
        while time.monotonic() < deadline and server.poll() is None and \
                "2 workers serving" not in (tmp_path / "serve.log").read_text():
            time.sleep(0.1)
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10).status_code == 200
        workers = children_of(server.pid)
        assert len(workers) == 2, (workers, (tmp_path / "serve.log").read_text())
        # Both workers take connections on the one port (each request on a new connection).
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda _: httpx.get(f"http://127.0.0.1:{port}/login",
                                                        timeout=10).status_code, range(40)))
        assert answers == [200] * 40, (tmp_path / "serve.log").read_text()
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=30) == 0, (tmp_path / "serve.log").read_text()
        assert not any(Path(f"/proc/{pid}").exists() for pid in workers)
    finally:
        if server.poll() is None:
            server.kill()
        log.close()
    text = (tmp_path / "serve.log").read_text()
    assert text.count("Application startup complete") == 2, text
    assert text.count("Application shutdown complete") == 2, text  # each ended gracefully


def test_serve_with_a_malformed_binding_key_list_says_so_in_one_line(env, tracker, capsys,
                                                                      monkeypatch):
    monkeypatch.setenv("TRACKER_BINDING_KEYS", "k1:too-short")
    refused(capsys, monkeypatch, tracker, "serve", "--port", "8000",
            says="TRACKER_BINDING_KEYS: the key 'k1' is shorter than 16 characters")


def test_files_that_cannot_be_read_or_written_are_one_line_and_change_nothing(
        env, tracker, capsys, monkeypatch, tmp_path):
    refused(capsys, monkeypatch, tracker, "import", str(tmp_path / "missing.jsonl"),
            says="missing.jsonl")
    directory = tmp_path / "a-directory"
    directory.mkdir()
    refused(capsys, monkeypatch, tracker, "import", str(directory), says="a-directory")
    make_world(tracker, with_members=False)
    checkpoints = len(_checkpoints(env, tracker))
    refused(capsys, monkeypatch, tracker, "export", str(tmp_path / "no" / "such" / "dir.jsonl"),
            says="No such file or directory")
    refused(capsys, monkeypatch, tracker, "checkpoint", "--out", str(tmp_path / "no" / "cp.json"),
            says="No such file or directory")
    assert len(_checkpoints(env, tracker)) == checkpoints  # none recorded either
    refused(capsys, monkeypatch, tracker, "verify", "--checkpoint", str(tmp_path / "none.json"),
            says="none.json")
    (tmp_path / "bad.json").write_text("{not json")
    refused(capsys, monkeypatch, tracker, "verify", "--checkpoint", str(tmp_path / "bad.json"))


def _checkpoints(settings, tracker):
    from tracker.bootstrap import build_read_models

    models = build_read_models(settings, tracker)
    try:
        return models.checkpoints()
    finally:
        models.close()


def test_an_import_whose_last_position_no_store_holds_is_refused(env, tracker, capsys,
                                                                 monkeypatch, tmp_path):
    make_world(tracker, with_members=False)
    path = tmp_path / "log.jsonl"
    assert run(capsys, monkeypatch, "export", str(path))[0] == 0
    lines = path.read_text().splitlines()
    last = json.loads(lines[-1])
    last["position"] = 2**70
    path.write_text("\n".join([*lines[:-1], json.dumps(last)]) + "\n")
    empty = env.var_dir.parent / "empty.db"
    monkeypatch.setenv("TRACKER_DATABASE_URL", f"sqlite:///{empty}")
    fresh = build_application(Settings(database_url=f"sqlite:///{empty}"))
    try:
        err = refused(capsys, monkeypatch, fresh, "import", str(path),
                      says=f"line {len(lines)}: position {2**70} is larger than a store holds")
        assert position(fresh) == 0
    finally:
        fresh.close()
    assert err


# --- the database unreachable, missing or without its schema ------------------------------------------

COMMANDS = [
    ("serve",), ("demo",), ("user", "list"), ("user", "deactivate", "x"), ("user", "reactivate", "x"),
    ("user", "password", "x", "--password-stdin"),
    ("user", "add", "x", "--role", "admin", "--password-stdin"), ("token", "create", "x"),
    ("token", "revoke", "x", "--all"), ("export", "out.jsonl"), ("import", "in.jsonl"),
    ("projections", "status"), ("projections", "rebuild"), ("projections", "follow"),
    ("checkpoint",), ("verify",),
]


def dead_databases() -> list[tuple[str, str]]:
    """(URL, what the message must name) for databases no command can use."""
    found = [("postgresql://someone:s3cret-pw@127.0.0.1:1/tracker", "127.0.0.1:1"),
             ("sqlite:////proc/no-such-dir/tracker.db", "/proc/no-such-dir")]
    if POSTGRES_URL:
        base = POSTGRES_URL.split("?")[0]
        found += [(base.rsplit("/", 1)[0] + "/no_such_database_h12", "no_such_database_h12"),
                  (base + "?schema=no_such_schema_h12", "the schema 'no_such_schema_h12' does not exist")]
    return found


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c))
def test_every_command_fails_fast_in_one_line_when_the_database_cannot_be_used(
        command, capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in.jsonl").write_text("")
    monkeypatch.setenv("TRACKER_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("TRACKER_SECRET_KEY", "test-secret-key-not-for-production")
    for url, named in dead_databases():
        monkeypatch.setenv("TRACKER_DATABASE_URL", url)
        started = time.monotonic()
        code, _, err = run(capsys, monkeypatch, *command, stdin=PASSWORD + "\n")
        assert code == 2, (command, url, err)
        assert err.count("\n") == 1 and named in err, (command, url, err)
        assert "s3cret-pw" not in err
        assert time.monotonic() - started < 10, (command, url)
    assert not (tmp_path / "out.jsonl").exists()


# --- progress on long work ---------------------------------------------------------------------

def under_terminal(env: dict[str, str], *args: str) -> tuple[int, str]:
    """Run `tracker ARGS` with its standard streams on a pseudo-terminal; its exit status and
    everything it wrote there."""
    import os
    import subprocess

    from tests.browser_support import tracker_command

    master, slave = os.openpty()
    process = subprocess.Popen([*tracker_command(), *args], stdin=slave, stdout=slave,
                               stderr=slave, env={**env, "COLUMNS": "120"})
    os.close(slave)
    written = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # (the terminal closes when the process ends)
            break
        if not chunk:
            break
        written += chunk
    os.close(master)
    return process.wait(timeout=120), written.decode(errors="replace")


def test_long_commands_show_progress_on_a_terminal_and_nothing_when_piped(tmp_path):
    import subprocess

    from tests.browser_support import tracker_command, tracker_env

    first = tracker_env(f"sqlite:///{tmp_path / 'first.db'}", tmp_path)
    other = tracker_env(f"sqlite:///{tmp_path / 'other.db'}", tmp_path)  # (the same keys)
    runs = [  # (environment, arguments, the bar's name, what the command says either way)
        (first, ("demo",), "demo", "dialogues added"),
        (first, ("export", str(tmp_path / "log.jsonl")), "export", "exported "),
        (first, ("verify",), "verify", "intact: "),
        (first, ("projections", "rebuild"), "rebuild", "rebuilt every read model"),
        (other, ("import", str(tmp_path / "log.jsonl")), "import", "imported "),
    ]
    for env, args, name, says in runs:
        code, text = under_terminal(env, *args)
        assert code == 0, (args, text)
        assert says in text, (args, text)
        bar = text[:text.index(says)]  # drawn before the command's own answer
        assert name in bar and "events/s" in bar and "left" in bar, (args, text)
    # The same commands piped: no progress, the output as it always was (one line).
    for env, args, _, says in runs[1:4]:
        piped = subprocess.run([*tracker_command(), *args], env=env, capture_output=True,
                               text=True, timeout=120)
        output = piped.stdout + piped.stderr
        assert piped.returncode == 0, output
        assert says in output and output.count("\n") == 1, (args, output)
        assert "events/s" not in output and "\x1b" not in output, (args, output)
