from iso639 import ALL_LANGUAGES

from webfaq.extract.langid import _iso639_1_table, to_iso639_3


def test_shipped_iso639_table_equals_python_iso639():
    assert _iso639_1_table() == {lang.part1: lang.part3 for lang in ALL_LANGUAGES if lang.part1}


def test_lookups_use_it():
    assert (to_iso639_3("de"), to_iso639_3("zh-cn"), to_iso639_3("ceb"), to_iso639_3("bh")) == ("deu", "zho", "ceb", None)
