"""``python -m agromap`` runs the command line."""

from .pipeline.cli import main

main()
