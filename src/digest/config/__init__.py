"""`digest.toml`: the settings (`model`), checked value by value (`values`) as they are read
(`load`). Every bad value is reported with its file, its key and what was expected."""

from __future__ import annotations

from .load import find_config, load_config, parse_config
from .model import (
    CONFIG_NAME,
    DEFAULT_PREHEADER,
    DEFAULT_REASON,
    DEFAULT_SUBJECT,
    FULL_TEXT_MODES,
    LEAD_PARAGRAPHS,
    LEAD_WORDS,
    LIST_NAME,
    ComposeSettings,
    Config,
    FullText,
    LeadSettings,
    ListConfig,
    SourceConfig,
)

__all__ = [
    "CONFIG_NAME",
    "DEFAULT_PREHEADER",
    "DEFAULT_REASON",
    "DEFAULT_SUBJECT",
    "FULL_TEXT_MODES",
    "LEAD_PARAGRAPHS",
    "LEAD_WORDS",
    "LIST_NAME",
    "ComposeSettings",
    "Config",
    "FullText",
    "LeadSettings",
    "ListConfig",
    "SourceConfig",
    "find_config",
    "load_config",
    "parse_config",
]
