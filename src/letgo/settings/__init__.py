"""Settings: every setting declared once, the frozen groups the stages read, and the layers.

`request` declares every setting and layers them (built-in < config.toml < plan defaults <
session < listener row < flags or API arguments); `groups` holds the frozen per-stage
dataclasses; `config` reads the user's config.toml.
"""
