"""Models of assessment."""
