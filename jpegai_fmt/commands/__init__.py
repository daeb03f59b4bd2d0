"""Subcommands of `jpegai-fmt`: one module each, registered in jpegai_fmt.cli.COMMANDS."""
