"""Building the greeting."""

GREETINGS = {"en": "Hello", "fr": "Bonjour", "de": "Hallo"}


def greet(name: str, language: str = "en", shout: bool = False) -> str:
    """The greeting for `name` in `language`; unknown languages fall back to English."""
    word = GREETINGS.get(language, GREETINGS["en"])
    text = f"{word}, {name.strip() or 'world'}!"
    return text.upper() if shout else text
