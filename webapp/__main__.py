"""``python -m webapp`` serves the command center."""

from webapp.app import main

main()
