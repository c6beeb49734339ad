"""The command line: python -m hello NAME [--language fr] [--shout]."""

import argparse

from hello.greet import GREETINGS, greet


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments and print one greeting."""
    parser = argparse.ArgumentParser(prog="hello")
    parser.add_argument("name")
    parser.add_argument("--language", choices=sorted(GREETINGS), default="en")
    parser.add_argument("--shout", action="store_true")
    args = parser.parse_args(argv)
    print(greet(args.name, args.language, args.shout))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
