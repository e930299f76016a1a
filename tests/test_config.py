import argparse
import json

import pytest

from webfaq.config import Config, add_config_arguments, config_from_args


def parse(argv, sections=None):
    parser = argparse.ArgumentParser()
    add_config_arguments(parser, sections)
    return config_from_args(parser.parse_args(argv))


def test_defaults_are_the_published_method():
    cfg = Config()
    assert (cfg.filters.min_question_chars, cfg.filters.min_answer_chars, cfg.filters.max_answer_newlines) == (10, 30, 10)
    assert cfg.filters.drop_question_mark_in_answer and cfg.filters.check_host
    assert cfg.langid.threshold == 0.63 and cfg.langid.backend == "fasttext"
    assert cfg.extract.syntaxes == ["json-ld", "microdata", "rdfa"]
    assert cfg.job.failure_budget == 0.01 and cfg.s3.anonymous


def test_file_then_flags_override_defaults(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text('[langid]\nthreshold = 0.25\n[filters]\nmin_answer_chars = 20\n')
    cfg = parse(["--config", str(path), "--filters-min-answer-chars", "25", "--crawl", "CC-MAIN-2024-22",
                 "--no-s3-anonymous", "--extract-syntaxes", "json-ld,microdata"])
    assert cfg.langid.threshold == 0.25          # from the file
    assert cfg.filters.min_answer_chars == 25    # flag beats file
    assert cfg.input.crawl == "CC-MAIN-2024-22"  # alias
    assert cfg.s3.anonymous is False
    assert cfg.extract.syntaxes == ["json-ld", "microdata"]


def test_a_run_manifest_reproduces_its_config(tmp_path):
    cfg = Config()
    cfg.langid.threshold = 0.5
    manifest = tmp_path / "run.json"
    manifest.write_text(json.dumps({"run_id": "x", "config": cfg.to_dict()}))
    assert parse(["--config", str(manifest)]).to_dict() == cfg.to_dict()


@pytest.mark.parametrize("data, message", [
    ({"langid": {"treshold": 0.5}}, "unknown config key langid.treshold"),
    ({"nope": {}}, "unknown config section"),
])
def test_unknown_settings_are_rejected(data, message):
    with pytest.raises(ValueError, match=message):
        Config.from_dict(data)


def test_invalid_values_fail_before_any_work():
    with pytest.raises(ValueError, match="--sample"):
        parse(["--sample", "1.5"])
    with pytest.raises(ValueError, match="--format"):
        parse(["--format", "orc"])
