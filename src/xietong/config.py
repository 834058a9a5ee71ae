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


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("xietong", appauthor=False))


def default_database_url() -> str:
    return f"sqlite:///{default_data_dir() / 'xietong.sqlite'}"


class Settings(BaseSettings):
    """Configuration of one deployment."""

    model_config = SettingsConfigDict(env_prefix="XIETONG_", extra="ignore")

    environment: Literal["development", "production"] = "development"
    database_url: str = Field(default_factory=default_database_url)
    # Keyed hash of national ID numbers (HMAC-SHA256): the same person matches across imports.
    id_hash_key: SecretStr = SecretStr(DEVELOPMENT_ID_HASH_KEY)
    # AES-256-GCM key (32 bytes, URL-safe base64) for names and phone numbers at rest.
    encryption_key: SecretStr = SecretStr(DEVELOPMENT_ENCRYPTION_KEY)
    timezone: str = DEFAULT_TZ
    host: str = "127.0.0.1"
    port: int = 8000
    policy_file: Path | None = None
    sql_echo: bool = False
    # The server runs the outbox dispatcher and the periodic jobs; tests driving them by hand,
    # or a deployment running them in a separate `xietong outbox run` process, turn this off.
    run_workers: bool = True

    @model_validator(mode="after")
    def _refuse_development_secrets(self) -> Settings:
        if self.environment == "production":
            if self.id_hash_key.get_secret_value() == DEVELOPMENT_ID_HASH_KEY:
                raise ValueError("XIETONG_ID_HASH_KEY must be set in production")
            if self.encryption_key.get_secret_value() == DEVELOPMENT_ENCRYPTION_KEY:
                raise ValueError("XIETONG_ENCRYPTION_KEY must be set in production")
        key = base64.urlsafe_b64decode(self.encryption_key.get_secret_value().encode())
        if len(key) != 32:
            raise ValueError("XIETONG_ENCRYPTION_KEY must be 32 bytes in URL-safe base64")
        return self


def get_settings() -> Settings:
    """Read the settings from the environment."""
    return Settings()
