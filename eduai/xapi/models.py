"""Models of eduai.xapi."""
