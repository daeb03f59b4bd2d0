"""Subcommands of `jpegai-fmt`: one module each, registered in jpegai_fmt.cli.COMMANDS."""


def add_reading_options(parser, lenient_help: str) -> None:
    """--lenient and --syntax, as every command that parses its input takes them."""
    parser.add_argument("--lenient", action="store_true", help=lenient_help)
    parser.add_argument("--syntax", choices=["auto", "is", "dis"], default="auto", help="PIH syntax (default: auto)")
