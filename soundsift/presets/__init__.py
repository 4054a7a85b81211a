"""Built-in and user presets (TOML) and their loader/validator."""
