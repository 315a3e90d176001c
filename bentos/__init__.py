"""BentoML services: thin wrappers over ``alphapulse.serving``."""
