"""`rewardkit serve`: a bad model spec is refused before a server starts; good specs reach uvicorn with the app."""

from __future__ import annotations

from typer.testing import CliRunner

from rewardkit.cli import app


def test_unknown_spec_exits_with_the_reason():
    result = CliRunner().invoke(app, ["serve", "no-such-model"])
    assert result.exit_code == 1 and "Unknown reward model spec 'no-such-model'" in result.output


def test_serve_hands_the_app_and_address_to_uvicorn(monkeypatch):
    started = {}
    monkeypatch.setattr(
        "uvicorn.run", lambda app, host, port, log_level: started.update(app=app, host=host, port=port)
    )
    result = CliRunner().invoke(app, ["serve", "longer", "--port", "5123", "--max-batch-size", "8"])
    assert result.exit_code == 0, result.output
    assert started["port"] == 5123 and started["host"] == "127.0.0.1"
    assert started["app"].title == "rewardkit"
