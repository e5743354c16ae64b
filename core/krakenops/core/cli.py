"""The `krakenops` command: each component contributes subcommands through entry points."""

from __future__ import annotations

import sys
from importlib.metadata import EntryPoint, entry_points

__all__ = ["commands", "main"]

GROUP = "krakenops.commands"


def commands() -> dict[str, EntryPoint]:
    """Subcommands by name; a component registers its own, so core imports none of them."""
    return {ep.name: ep for ep in entry_points(group=GROUP)}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    available = commands()
    if not args or args[0] in ("-h", "--help"):
        print("usage: krakenops <command> [options]\n\ncommands:")
        for name in sorted(available):
            print(f"  {name}")
        return 0 if args else 2
    name, rest = args[0], args[1:]
    if name not in available:
        print(
            f"krakenops: unknown command {name!r}; try one of {', '.join(sorted(available))}",
            file=sys.stderr,
        )
        return 2
    command = available[name].load()
    return int(command(rest))


if __name__ == "__main__":
    sys.exit(main())
