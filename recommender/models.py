"""Models of recommender."""
