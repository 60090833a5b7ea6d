"""The product's settings, read from the environment (prefix TRACKER_) by one function."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///./var/tracker.db"


class Settings(BaseSettings):
    """Everything the tracker reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="TRACKER_", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    secret_key: str = ""
    signing_key_file: Path = Path("./var/ledger_signing_key.pem")
    encryption_key: str = ""
    var_dir: Path = Path("./var")
    # Reverse proxies whose X-Forwarded-For/-Proto headers `tracker serve` believes: comma-separated
    # addresses, or "*" for any (only when nothing else can reach the server). Empty: none.
    trusted_proxies: str = ""
    # How long a command waits for the read models to include its event (read-your-writes).
    read_your_writes_timeout: float = 5.0
    # After an API command is answered, the read models take its event this long later, with
    # those of the commands answered meanwhile (one batch; every read catches up first anyway).
    catch_up_gather_seconds: float = Field(default=0.02, ge=0, le=1)
    # A signed-in session ends after this long without a request, and this long after sign-in.
    session_idle_seconds: int = Field(default=60 * 60, ge=60, le=7 * 24 * 3600)
    session_lifetime_seconds: int = Field(default=12 * 60 * 60, ge=60, le=90 * 24 * 3600)
    # Administrators and auditors must sign in with a second factor (TOTP) too.
    require_second_factor: bool = False
    # Witnesses whose cosignatures of tree heads are accepted: comma-separated Ed25519 public keys
    # in hex, each optionally named (NAME=HEX). Empty: none.
    witness_keys: str = ""
    # Keys that bind every stored event (projections.binding): `ID:KEY,...`, the first signs new
    # events, every one verifies. Empty: one key generated once into var/binding_keys.
    binding_keys: str = ""
    # Mail (tracker notify): smtp://[user:password@]host:port (STARTTLS when offered) or
    # smtps://...; empty: no mail. The sender's address, and the absolute base of links in mail.
    smtp_url: str = ""
    mail_from: str = "tracker@localhost.localdomain"
    base_url: str = "http://127.0.0.1:8000"

    @field_validator("database_url")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        if not value.startswith(("sqlite:///", "postgresql://", "postgresql+psycopg://")):
            msg = (
                "TRACKER_DATABASE_URL must start with sqlite:///, postgresql:// "
                f"or postgresql+psycopg://, not {value!r}"
            )
            raise ValueError(msg)
        return value

    @field_validator("encryption_key")
    @classmethod
    def _encryption_key(cls, value: str) -> str:
        from projections.sealing import key_bytes

        if value:
            key_bytes(value)  # refuses a key that is not base64 of 16, 24 or 32 bytes
        return value

    @field_validator("witness_keys")
    @classmethod
    def _witness_keys(cls, value: str) -> str:
        from projections.tree import witness_keys

        witness_keys(value)  # refuses a malformed list at start, naming the entry
        return value

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url(cls, value: str) -> str:
        if value:
            from tracker.mailer import SmtpTarget

            SmtpTarget.parse(value)
        return value

    @field_validator("mail_from")
    @classmethod
    def _mail_from(cls, value: str) -> str:
        from tracker.mailer import check_mail_from

        return check_mail_from(value)

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"TRACKER_BASE_URL starts with http:// or https://, not {value!r}")
        return value.rstrip("/")

    def ensure_secret_key(self) -> str:
        """The session/CSRF secret: the configured one, or one generated once into var/."""
        if self.secret_key:
            return self.secret_key
        path = self.var_dir / "secret_key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        self.secret_key = path.read_text().strip()
        return self.secret_key


    def ensure_binding_keys(self) -> str:
        """The binding keys: the configured ones, or one key generated once into var/ (readable
        by the owner only; several processes starting at once agree on the first one written)."""
        if self.binding_keys:
            return self.binding_keys
        from projections.binding import new_keys_text

        path = self.var_dir / "binding_keys"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass
            else:
                with os.fdopen(fd, "w") as file:
                    file.write(new_keys_text() + "\n")
        self.binding_keys = path.read_text().strip()
        return self.binding_keys


def load_settings(**overrides: object) -> Settings:
    """Build the settings from the environment, with explicit overrides (tests, CLI flags)."""
    return Settings(**overrides)
