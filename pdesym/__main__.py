"""``python -m pdesym`` runs the command-line program."""

from pdesym.cli.app import main

main()
