"""Exceptions raised for problems that the user can fix."""


class InputError(ValueError):
    """Invalid input file, sample sheet or genotype content.

    The message names the file or value and says what to change.
    """


class ConfigError(ValueError):
    """Invalid configuration value; the message names the config key."""
