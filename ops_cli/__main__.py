"""``python -m ops_cli`` runs the CLI."""

from ops_cli.cli.app import main

main()
