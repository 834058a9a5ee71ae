"""`python -m xietong` is the `xietong` command."""

from xietong.cli.main import main

main()
