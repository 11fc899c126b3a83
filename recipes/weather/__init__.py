"""Weather recipe: an agent that answers questions from US National Weather Service alerts (README.md)."""
