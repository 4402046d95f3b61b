"""Models of grading."""
