"""`python -m rewardkit` runs the CLI, for environments where the `rewardkit` script is not installed."""

from rewardkit.cli import app

app(prog_name="rewardkit")
