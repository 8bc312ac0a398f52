"""Console entry point. `bgremove --version` answers here, before typer or any model code loads."""

from __future__ import annotations

import sys


def main() -> None:
    if sys.argv[1:] in (["--version"], ["-V"]):
        from bgremove import __version__

        print(f"bgremove {__version__}")
        return
    from bgremove.cli import app

    app()


if __name__ == "__main__":
    main()
