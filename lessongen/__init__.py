"""lessongen: turn a source repository into a lesson script."""

__version__ = "0.1.0"
