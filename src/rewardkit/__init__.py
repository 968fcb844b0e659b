"""rewardkit: train, evaluate and serve reward models and LLM judges behind one protocol."""

from rewardkit.protocol import Preference, RewardModel, Score

__all__ = ["Preference", "RewardModel", "Score"]
__version__ = "0.1.0"
