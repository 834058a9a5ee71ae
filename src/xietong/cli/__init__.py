"""The command line: thin Typer commands over the services, one unit of work per command."""
