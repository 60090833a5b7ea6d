"""A witness (`tracker witness URL --state DIR --key PEM`): cosigns a tracker's latest tree head
only if it extends the last head this witness cosigned, and refuses, saying why, when it does not.

It needs no database, only HTTP to the tracker: it fetches the latest signed tree head
(`GET /api/v1/public/ledger/tree-head`), checks its signature (with the tracker's key it first saw),
fetches the consistency proof from the size it cosigned last (`GET /api/v1/public/ledger/
consistency`) and checks it against its *own* copy of that head, and only then signs the
cosignature text with its key and posts it (`POST /api/v1/public/ledger/cosignatures`; the tracker
accepts registered witness keys only). `DIR/last-cosigned.json` keeps the head it cosigned and its
cosignature; nothing else is kept.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from projections.ledger import load_signing_key, public_key_hex
from projections.proofs import (
    BadInput,
    check_extension,
    key_id,
    sign_cosignature,
    tree_head,
    tree_head_error,
)

STATE_FILE = "last-cosigned.json"
TIMEOUT = 30


class Refused(Exception):
    """The tracker's head is not one to cosign (a fork, a rollback, a bad signature): exit 1."""


class TrackerError(OSError):
    """The tracker could not be reached or refused a request: exit 2."""


class Witness:
    def __init__(self, url: str, state_dir: Path, key_file: Path,
                 log: Callable[[str], None] = print) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise BadInput(f"the tracker's address must be an http:// or https:// URL, not {url!r}")
        self.base = url.rstrip("/")
        self.state_dir = Path(state_dir)
        self.key_file = Path(key_file)
        self.log = log

    # --- HTTP --------------------------------------------------------------------------------------

    def _call(self, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(  # noqa: S310 (the scheme is checked: http or https)
            self.base + path, data=data, method="POST" if data else "GET",
            headers={"Accept": "application/json", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:  # noqa: S310
                return answer.status, json.loads(answer.read())
        except urllib.error.HTTPError as error:
            try:
                message = json.loads(error.read())["error"]["message"]
            except (ValueError, KeyError, TypeError):
                message = error.reason
            raise TrackerError(f"the tracker answered {error.code} to {path.split('?')[0]}: "
                               f"{message}") from None
        except urllib.error.URLError as error:
            raise TrackerError(f"cannot reach the tracker at {self.base}: {error.reason}") from None
        except (TimeoutError, ValueError) as error:
            raise TrackerError(f"no usable answer from the tracker at {self.base}: {error}") from None

    # --- state ------------------------------------------------------------------------------------

    def _state_path(self) -> Path:
        return self.state_dir / STATE_FILE

    def last_cosigned(self) -> dict[str, Any] | None:
        path = self._state_path()
        if not path.exists():
            return None
        try:
            return tree_head(json.loads(path.read_text()).get("tree_head"), str(path))
        except (OSError, ValueError, AttributeError) as error:
            raise BadInput(f"the witness state {path} is unreadable: {error}") from None

    def _keep(self, head: dict[str, Any], cosignature: dict[str, Any]) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        path = self._state_path()
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps({"tree_head": head, "cosignature": cosignature}, indent=2))
        os.replace(temporary, path)

    # --- the round ----------------------------------------------------------------------------------

    def run(self) -> str:
        """One round: returns what was done; raises Refused when the head must not be cosigned."""
        if not self.key_file.exists():
            key = load_signing_key(self.key_file)
            public = public_key_hex(key)
            self.log(f"witness: created the key {self.key_file}; its public key is {public} "
                     f"(key id {key_id(public)}): the tracker's operator must register it "
                     f"(TRACKER_WITNESS_KEYS)")
        key = load_signing_key(self.key_file)
        last = self.last_cosigned()
        _, answer = self._call("/api/v1/public/ledger/tree-head")
        latest = tree_head(answer, "the tracker's tree head")
        problem = tree_head_error(latest, trusted_key=last["public_key"] if last else None)
        if problem:
            raise Refused(problem)
        if last is not None:
            proof = None
            if 0 < last["tree_size"] < latest["tree_size"]:
                _, found = self._call("/api/v1/public/ledger/consistency?" + urlencode(
                    {"first": last["tree_size"], "second": latest["tree_size"]}))
                proof = [bytes.fromhex(h) for h in found.get("proof", [])]
            problem = check_extension(last, latest, proof)
            if problem:
                raise Refused(f"{problem} (this witness cosigned the head of size "
                              f"{last['tree_size']} at {last['signed_at']}, root "
                              f"{last['root_hash']})")
        cosignature = sign_cosignature(key, latest)
        status, _ = self._call("/api/v1/public/ledger/cosignatures", cosignature)
        kept = {k: v for k, v in latest.items() if k != "cosignatures"}
        self._keep(kept, cosignature)
        again = " (already cosigned)" if status == 200 else ""
        return (f"cosigned the tree head of size {latest['tree_size']}, root {latest['root_hash']}"
                f"{again}" + (f", which extends the one of size {last['tree_size']}" if last else
                              " (the first head this witness has seen)"))
