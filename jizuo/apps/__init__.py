"""Applications built on the platform, one folder each."""
