"""``python -m qualcode`` runs the command line."""

from .cli import main

main()
