"""A tiny greeter."""

from hello.greet import greet

__all__ = ["greet"]
