"""All configuration in one place: environment variables prefixed ``SW_`` or a ``.env`` file."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SW_", env_file=".env", extra="ignore")

    var_dir: Path = ROOT / "var"
    database_url: str = ""  # empty = SQLite file var/smeltwatch.db
    plant_file: Path = ROOT / "plant" / "demo_smelter.yaml"
    # Simulator
    sim_host: str = "127.0.0.1"
    sim_seed: int = 1  # the demo starts with every main unit running; faults then come at their own rate
    sim_speed: float = Field(default=1.0, gt=0)
    # Collectors
    spool_dir: Path | None = None  # default var/spool
    batch_max: int = 5000
    batch_ms: int = 250
    # Web
    web_host: str = "127.0.0.1"
    web_port: int = 8050
    cache_redis_url: str = ""  # empty = in-process cache; set for several web workers
    operator: str = "operator"  # who acknowledges alarms until login exists (web_identity.current_user)

    @property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.var_dir / 'smeltwatch.db'}"

    @property
    def spool_path(self) -> Path:
        return self.spool_dir or self.var_dir / "spool"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
