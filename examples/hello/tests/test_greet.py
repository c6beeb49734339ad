from hello.greet import greet


def test_greets_in_french_and_shouts():
    assert greet("Ada", "fr", shout=True) == "BONJOUR, ADA!"


def test_unknown_language_falls_back_to_english():
    assert greet(" ", "xx") == "Hello, world!"
