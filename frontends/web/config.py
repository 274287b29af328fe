"""What ``egress serve`` was started with, checked once: bad settings stop the server with one line."""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass, field
from pathlib import Path

from analyzer.api import InputError

# Shorter secrets can be guessed; a token file is written by hand, so say it rather than accept it.
MIN_TOKEN_CHARS = 16
_SIZE = re.compile(r"^\s*(\d+)\s*([KMGT]?)i?B?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
ALLOWLIST_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class ConfigError(InputError):
    """A setting of ``egress serve`` that cannot work (one line)."""


def parse_size(text: str, option: str = "--max-upload") -> int:
    """``8G``, ``512M``, ``1048576``: binary units, as disk sizes are usually meant."""
    m = _SIZE.match(text)
    if not m:
        raise ConfigError(f"{option} {text!r}: give a size such as 8G, 512M or a number of bytes")
    return int(m.group(1)) * _UNITS[m.group(2).upper()]


def token_id(token: str) -> str:
    """What the database stores for a token: a hash, so a copy of the database reveals no secret."""
    return hashlib.sha256(token.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Tokens:
    """The bearer tokens of the token file, checked in constant time."""

    secrets: tuple[bytes, ...]

    @classmethod
    def read(cls, path: Path) -> Tokens:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"--token-file {path}: cannot read it ({exc.__class__.__name__})") from None
        tokens = []
        for number, line in enumerate(lines, 1):
            token = line.strip()
            if not token or token.startswith("#"):
                continue
            if len(token) < MIN_TOKEN_CHARS or not token.isascii() or not token.isprintable() or " " in token:
                raise ConfigError(
                    f"--token-file {path}, line {number}: a token is at least {MIN_TOKEN_CHARS} printable ASCII "
                    "characters without spaces"
                )
            tokens.append(token.encode())
        if not tokens:
            raise ConfigError(f"--token-file {path}: no token in it (one per line)")
        return cls(tuple(tokens))

    def owner(self, offered: str) -> str | None:
        """The token id when ``offered`` is one of the tokens, else None.  Every token is compared, with
        ``hmac.compare_digest``, so the time taken says nothing about which one or how much matched."""
        given = offered.encode("utf-8", "surrogateescape")
        match = None
        for secret in self.secrets:
            if hmac.compare_digest(given, secret):
                match = secret
        return None if match is None else token_id(match.decode())


@dataclass(frozen=True)
class Config:
    data: Path
    tokens: Tokens
    max_upload: int = 8 << 30
    workers: int = 1
    allowlists: dict[str, Path] = field(default_factory=dict)  # NAME -> file, offered to every token
    retention_days: float = 30.0
    # Free disk to keep after an upload: a full disk would stop the database and every job.
    disk_reserve: int = 64 << 20
    # A nightly history (egress nightly): an upload with profile=NAME is compared with that profile's baseline.
    history: Path | None = None

    @property
    def database(self) -> Path:
        return self.data / "egress.sqlite"

    def folder(self, name: str) -> Path:
        return self.data / name
