"""``python -m webapp`` serves the command center with gunicorn (``webapp.gunicorn_conf``: SW_WEB_WORKERS processes
of SW_WEB_THREADS threads); ``python -m webapp --dev`` with Flask's development server in one process (debugging).

This process becomes gunicorn's master (``exec``, before the app is imported): its pid, and so the signals a
supervisor sends it (HUP reload, TERM stop), stay the same.
"""

import os
import sys

if "--dev" in sys.argv[1:]:
    from webapp.app import main

    main()
else:
    os.execv(sys.executable, [sys.executable, "-m", "gunicorn", "--config", "python:webapp.gunicorn_conf"])
