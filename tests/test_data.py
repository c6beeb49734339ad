from lessongen.shared.data import Unread, file_lines


def test_lines_are_numbered_as_anchors_number_them() -> None:
    assert file_lines("a\r\nb\rc\n\nd") == ["a", "b\rc", "", "d"]
    assert file_lines("a\n") == ["a"] and file_lines("") == []


def test_an_unread_file_counts_the_lines_file_lines_gives() -> None:
    for text in ("", "a", "a\n", "a\nb", "a\r\nb\fc\n\n", "\n"):
        assert Unread.of(text).lines == len(file_lines(text)), repr(text)
