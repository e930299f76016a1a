import argparse
import json

import pytest

from webfaq.config import Bounds, Config, add_config_arguments, config_from_args, settings, validate
from webfaq.errors import ConfigError


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


# --------------------------------------------------------------------------- types, ranges, sources

def test_every_value_is_checked_against_its_field_and_the_error_says_where_it_came_from(tmp_path):
    path = tmp_path / "run.json"
    path.write_text(json.dumps({"dedup": {"threshold": 0.8}, "job": {"failure_budget": 2}}, indent=1))
    with pytest.raises(ConfigError) as bad:
        parse(["--config", str(path)])
    assert str(bad.value) == f"job.failure_budget = 2 ({path}:6): expected a number in [0, 1]"
    with pytest.raises(ConfigError, match=r"^dedup.num_perm = 0 \(flag --dedup-num-perm\): expected an integer in \[1, 8192\]$"):
        parse(["--dedup-num-perm", "0"])
    with pytest.raises(ConfigError, match=r'^extract.syntaxes = \["json-ld", "html"\] \(flag --extract-syntaxes\): '
                                          r"expected a list of one of json-ld, microdata, rdfa$"):
        parse(["--extract-syntaxes", "json-ld,html"])
    with pytest.raises(ConfigError, match=r"^filters.check_host = \"yes\" \(config\): expected true or false$"):
        cfg = Config()
        cfg.filters.check_host = "yes"
        validate(cfg, {"filters.check_host": "config"})


def test_numbers_are_widened_and_optional_settings_can_be_cleared(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text("[langid]\nthreshold = 1\n")
    cfg = parse(["--config", str(path), "--dedup-candidate-threshold", "none"])
    assert cfg.langid.threshold == 1.0 and isinstance(cfg.langid.threshold, float)
    assert cfg.dedup.candidate_threshold is None


def test_broken_or_missing_config_files_are_one_line(tmp_path):
    with pytest.raises(ConfigError, match=r"^config file .*nope.toml: not found$"):
        parse(["--config", str(tmp_path / "nope.toml")])
    broken = tmp_path / "broken.toml"
    broken.write_text("[filters]\nmin_answer_chars = \n")
    with pytest.raises(ConfigError, match=r"not valid TOML: .*line 2") as bad:
        parse(["--config", str(broken)])
    assert "\n" not in str(bad.value)
    section = tmp_path / "section.toml"
    section.write_text("filters = 3\n")
    with pytest.raises(ConfigError, match=r"^config section filters \(.*section.toml:1\) must be a table of settings, got 3$"):
        parse(["--config", str(section)])


def test_bounds_read_as_written():
    assert 1 in Bounds.parse("(0, 1]") and 0 not in Bounds.parse("(0, 1]") and 5 in Bounds.parse("[1, )")
    assert Bounds.parse("(0, 1)").describe() == "in (0, 1)" and Bounds.parse("[1, )").describe() == ">= 1"


def test_settings_that_reach_the_os_or_a_c_integer_have_a_ceiling():
    """Seconds (sleeps, timeouts, rlimits), sizes in bytes or MiB and seeds (numpy's are 32-bit)
    are bounded above, so a huge value is refused at the edge instead of overflowing mid-run."""
    import math

    for s in settings():
        if s.kind in ("int", "float") and s.name.endswith(("_s", "_mb", "_bytes", "seed", "max_gap")):
            assert s.bounds is not None and s.bounds.hi < math.inf, s.key
    assert Bounds.parse("[0, 4294967295]").describe() == "in [0, 4294967295]"


def test_every_setting_declares_a_readable_flag_and_a_valid_default():
    """Defaults pass their own checks, and no help text or metavar is a Python repr."""
    for s in settings():
        assert s.check(s.default, "default") == s.default, s.key
        assert s.brief and not s.brief.endswith("."), s.key
        assert s.kind == "bool" or s.metavar, s.key
        assert "None" not in s.default_text(), s.key
        # a regex is typed as it is shown, "(?i)(faq|...)"; anything else starting so is a repr
        assert s.metavar == "REGEX" or not s.default_text().startswith(("[", "(")), s.key
