"""``python -m interviewer`` runs the command line."""

from interviewer.cli import main

main()
