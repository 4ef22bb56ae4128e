"""The one error hierarchy of the project. A user sees ``str(error)``, never a traceback."""


class HbmError(Exception):
    """Base class: its message is written for the person at the screen."""


class ConfigError(HbmError):
    """A setting is missing or malformed."""


class StoreUnavailable(HbmError):
    """The store cannot be reached or answered with an error."""


class InvalidView(HbmError):
    """A View (bbox, window, zoom, layers) is malformed."""


class IngestError(HbmError):
    """Input data was rejected."""
