"""Statistics shared by evaluation and training (agreement of ratings with gold); imports nothing of rewardkit."""
