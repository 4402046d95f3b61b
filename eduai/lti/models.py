"""Models of eduai.lti."""
