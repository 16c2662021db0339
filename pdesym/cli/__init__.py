"""Command-line program: ``pdesym <command>``; see :mod:`pdesym.cli.app`."""
