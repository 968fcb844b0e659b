"""`rewardkit serve`: a bad model spec or an open bind without a key is refused before a server starts; good specs
reach the server with the app and its limits."""

from __future__ import annotations

from typer.testing import CliRunner

from rewardkit.cli import app


def test_unknown_spec_exits_with_the_reason():
    result = CliRunner().invoke(app, ["serve", "no-such-model"])
    assert result.exit_code == 1 and "Unknown reward model spec 'no-such-model'" in result.output


def test_serve_hands_the_app_and_address_to_the_server(monkeypatch):
    started = {}
    monkeypatch.setattr(
        "rewardkit.serving.server.run_server",
        lambda app, host, port, max_connections: started.update(app=app, host=host, port=port),
    )
    result = CliRunner().invoke(
        app, ["serve", "longer", "--port", "5123", "--max-batch-size", "8", "--max-items", "9"]
    )
    assert result.exit_code == 0, result.output
    assert started["port"] == 5123 and started["host"] == "127.0.0.1"
    assert started["app"].title == "rewardkit" and started["app"].state.service.limits.max_items == 9


def test_a_bind_beyond_loopback_without_a_key_exits_naming_the_option(monkeypatch):
    monkeypatch.delenv("REWARDKIT_API_KEY", raising=False)
    result = CliRunner().invoke(app, ["serve", "longer", "--host", "0.0.0.0"])
    assert result.exit_code == 1 and "--api-key" in result.output


def test_a_compiled_model_is_compiled_before_the_server_listens(monkeypatch, tiny_model_dir, tmp_path):
    from rewardkit.families.scalar import ScalarRewardModel

    ScalarRewardModel.from_backbone(str(tiny_model_dir), precision="fp32").save(tmp_path / "bt")
    monkeypatch.setenv("REWARDKIT_COMPILE", "on")
    compiled_at_start = []
    monkeypatch.setattr(
        "rewardkit.serving.server.run_server",
        lambda app, *args: compiled_at_start.append(app.state.service.model._compiled is not None),
    )
    result = CliRunner().invoke(app, ["serve", str(tmp_path / "bt")])
    assert result.exit_code == 0, result.output
    assert "compiling the forward before listening" in result.output and compiled_at_start == [True]
    assert "no faster than the eager scorer" in result.output  # the unit tests run on the CPU


def test_the_cpu_note_names_only_models_that_compile_on_a_cpu():
    from types import SimpleNamespace

    import torch

    from rewardkit.commands.serve_cmd import compiles_on_cpu

    on_cpu = SimpleNamespace(compiles=True, device=torch.device("cpu"))
    on_gpu = SimpleNamespace(compiles=True, device=torch.device("cuda"))
    eager = SimpleNamespace(compiles=False, device=torch.device("cpu"))
    assert compiles_on_cpu(on_cpu) and not compiles_on_cpu(on_gpu) and not compiles_on_cpu(eager)
    assert compiles_on_cpu(SimpleNamespace(compiles=True, members=[on_gpu, on_cpu]))
    assert not compiles_on_cpu(SimpleNamespace(compiles=True, members=[on_gpu, eager]))
