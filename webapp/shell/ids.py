"""Component ids of the shell, defined once (pages keep their own in their module)."""

from __future__ import annotations

URL = "shell-url"
CONFIG = "shell-config"  # plant time zone and language for clientside callbacks
TICK = "shell-tick"  # live refresh (every page listens to it)
CLOCK_TICK = "shell-clock-tick"
CLOCK = "shell-clock"
HEALTH = "shell-health"
LANG = "shell-lang"
LANG_SINK = "shell-lang-sink"
NAV = "shell-nav"
OFFLINE = "shell-offline"  # banner shown while the server does not answer (assets/40_kiosk.js)
EMERGENCY = "shell-emergency"  # the strip shown on every page while an emergency runs (assets/40_kiosk.js)
