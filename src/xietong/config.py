"""Settings of one xietong deployment, read from the environment (prefix XIETONG_).

Nothing is read at import: callers build a `Settings` (tests pass one explicitly) and hand it to
`create_app` or the CLI. Development defaults for secrets are refused outside development.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from xietong.core.clock import DEFAULT_TZ

# Development-only keys: anyone can read them here, so production refuses them.
DEVELOPMENT_ID_HASH_KEY = "xietong-development-id-hash-key-not-for-production"
DEVELOPMENT_ENCRYPTION_KEY = base64.urlsafe_b64encode(b"xietong-dev-key-32-bytes-long!!!").decode()


# An HMAC key shorter than its hash's output is weaker than the hash: 32 characters at least.
MIN_ID_HASH_KEY_LENGTH = 32


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("xietong", appauthor=False))


def default_database_url() -> str:
    return f"sqlite:///{default_data_dir() / 'xietong.sqlite'}"


class Settings(BaseSettings):
    """Configuration of one deployment."""

    model_config = SettingsConfigDict(env_prefix="XIETONG_", extra="ignore")

    environment: Literal["development", "production"] = "development"
    database_url: str = Field(default_factory=default_database_url)
    # A PostgreSQL streaming replica for the dashboards' and lists' reads (docs/serving.md).
    read_replica_url: str | None = None
    # Past this many bytes of WAL behind the primary, reads go to the primary instead.
    read_replica_max_lag_bytes: int = Field(default=16 * 2**20, ge=0)
    # Keyed hash of national ID numbers (HMAC-SHA256): the same person matches across imports.
    id_hash_key: SecretStr = SecretStr(DEVELOPMENT_ID_HASH_KEY)
    # AES-256-GCM key (32 bytes, URL-safe base64) for names and phone numbers at rest.
    encryption_key: SecretStr = SecretStr(DEVELOPMENT_ENCRYPTION_KEY)
    timezone: str = DEFAULT_TZ
    host: str = "127.0.0.1"
    port: int = 8000
    policy_file: Path | None = None
    sql_echo: bool = False
    # Where FHIR bulk exports write their NDJSON files (one folder per export).
    export_dir: Path = Field(default_factory=lambda: default_data_dir() / "exports")
    # The font the bulletin's PDF is set in: it must cover Chinese (fonts-wqy-microhei's here).
    pdf_font: Path = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
    # The server runs the outbox dispatcher and the periodic jobs; tests driving them by hand,
    # or a deployment running them in a separate `xietong outbox run` process, turn this off.
    run_workers: bool = True
    # Accounts: API tokens live at most this long; refused logins are counted over a window per
    # account and per address, and past the limit the login answers 429 until the window passes.
    token_days: int = Field(default=90, ge=1, le=3650)
    login_window_minutes: int = Field(default=15, ge=1)
    login_failures_per_account: int = Field(default=10, ge=1)
    login_failures_per_address: int = Field(default=100, ge=1)
    # Request bodies above these sizes are answered 413 before they are read: JSON and forms,
    # and uploaded files (laboratory results, person imports).
    max_json_bytes: int = Field(default=10 * 2**20, ge=1024)
    max_upload_bytes: int = Field(default=256 * 2**20, ge=1024)
    # Webhooks go to public addresses only; these networks (CIDR) are allowed besides, for a
    # receiver on the deployment's own network (e.g. ["10.20.0.0/16"]).
    webhook_allowed_networks: list[str] = Field(default_factory=list)
    # Personal data of a person nothing has named for this long is pseudonymised by
    # `xietong people retention` (docs/security.md).
    retention_days: int = Field(default=365, ge=1)
    # An open live stream checks its token again this often (0: before every event).
    stream_recheck_seconds: float = Field(default=5.0, ge=0)

    @model_validator(mode="after")
    def _refuse_development_secrets(self) -> Settings:
        if self.environment == "production":
            if self.id_hash_key.get_secret_value() == DEVELOPMENT_ID_HASH_KEY:
                raise ValueError("XIETONG_ID_HASH_KEY must be set in production")
            if self.encryption_key.get_secret_value() == DEVELOPMENT_ENCRYPTION_KEY:
                raise ValueError("XIETONG_ENCRYPTION_KEY must be set in production")
            if len(self.id_hash_key.get_secret_value()) < MIN_ID_HASH_KEY_LENGTH:
                raise ValueError(
                    f"XIETONG_ID_HASH_KEY must be at least {MIN_ID_HASH_KEY_LENGTH} characters"
                )
        key = base64.urlsafe_b64decode(self.encryption_key.get_secret_value().encode())
        if len(key) != 32:
            raise ValueError("XIETONG_ENCRYPTION_KEY must be 32 bytes in URL-safe base64")
        return self


def get_settings() -> Settings:
    """Read the settings from the environment."""
    return Settings()
