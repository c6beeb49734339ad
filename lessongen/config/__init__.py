"""Settings, resolved once: defaults < config file < environment < flags."""
