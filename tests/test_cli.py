import pytest

from webfaq.cli import SPARK_COMMANDS, main


@pytest.mark.parametrize("command", sorted(SPARK_COMMANDS) + ["extract-file", "verify", "report", "evaluate", "export"])
def test_every_command_documents_its_flags(command, capsys):
    with pytest.raises(SystemExit) as done:
        main([command, "--help"])
    assert done.value.code == 0
    assert "usage:" in capsys.readouterr().out
