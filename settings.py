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
    oncall_file: Path = ROOT / "plant" / "oncall_demo.yaml"  # on-call rota and channels (notify/)
    # Simulator
    sim_host: str = "127.0.0.1"
    sim_seed: int = 1  # the demo starts with every main unit running; faults then come at their own rate
    sim_speed: float = Field(default=1.0, gt=0)
    # Collectors
    spool_dir: Path | None = None  # default var/spool
    batch_max: int = 5000
    batch_ms: int = 250
    # position thinning: a badge's fix goes to the history when it moved this many metres since the last stored
    # one, or this many seconds passed (and always on a change of floor or quality); 0 and 0: every fix
    position_min_distance_m: float = Field(default=0.5, ge=0)
    position_max_interval_s: float = Field(default=30, ge=0)
    pki_dir: Path | None = None  # OPC UA certificates and trust list (collectors.security), default var/pki
    # Web
    web_host: str = "127.0.0.1"
    web_port: int = 8050
    cache_redis_url: str = ""  # empty = in-process cache; set for several web workers
    # The production server (gunicorn, webapp.gunicorn_conf): processes, threads in each, seconds a stop or
    # reload waits for the requests in flight. Sizing: README, "Running in production".
    web_workers: int = Field(default=2, ge=1)
    web_threads: int = Field(default=8, ge=1)
    web_graceful_s: int = Field(default=10, gt=0)
    # /metrics (Prometheus): with a token only with "Authorization: Bearer <token>"; without, local callers only
    metrics_token: str = ""
    # Login and sessions (auth/)
    session_idle_minutes: float = Field(default=60, gt=0)  # an open page refreshes, so this is "browser closed"
    session_max_hours: float = Field(default=12, gt=0)  # log in again after this, whatever the activity
    login_max_failures: int = Field(default=5, ge=1)  # wrong passwords per user name per lockout period...
    login_lockout_minutes: float = Field(default=15, gt=0)  # ...before that name is locked for the period
    login_rate_max: int = Field(default=20, ge=1)  # failed logins per client address per rate period...
    login_rate_minutes: float = Field(default=10, gt=0)  # ...before that address is refused for the period
    cookie_secure: bool | None = None  # None: Secure cookies when the request came over HTTPS
    trusted_proxies: int = Field(default=0, ge=0)  # reverse proxies in front whose X-Forwarded-* are believed
    # Retention of the raw history (services: retention): samples and badge positions older than this many days
    # are deleted; rollups, events, alarms, notifications and the audit log are kept. 0: kept for ever.
    retention_samples_days: float = Field(default=90, ge=0)
    retention_positions_days: float = Field(default=90, ge=0)
    # minute rollups; 0: kept. Trends and counters read older ranges from hour rollups (kept) and raw samples
    retention_rollup_1m_days: float = Field(default=30, ge=0)
    retention_safety_index_days: float = Field(default=90, ge=0)  # the safety index's minute points
    # Video event media (video.media): snapshots and clips under media_dir (default var/media), deleted
    # after media_days, and oldest first while they take more than media_gb gigabytes
    media_dir: Path | None = None
    media_days: float = Field(default=30, gt=0)
    media_gb: float = Field(default=5, gt=0)
    # Reports (reports/, services: reports): issued files under reports_dir (default var/reports), kept for ever;
    # report_template: the plant's own Excel template (named cells sw_* or {{markers}}, see reports.tables)
    reports_dir: Path | None = None
    report_template: Path | None = None

    @property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.var_dir / 'smeltwatch.db'}"

    @property
    def spool_path(self) -> Path:
        return self.spool_dir or self.var_dir / "spool"

    @property
    def pki_path(self) -> Path:
        return self.pki_dir or self.var_dir / "pki"

    @property
    def media_path(self) -> Path:
        return self.media_dir or self.var_dir / "media"

    @property
    def reports_path(self) -> Path:
        return self.reports_dir or self.var_dir / "reports"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
