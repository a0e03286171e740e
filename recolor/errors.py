"""The errors recolor raises. All are ValueError subclasses, so callers can catch one thing."""


class RecolorError(ValueError):
    """Base class: a problem with what the caller gave us, explained in the message."""


class ImageError(RecolorError):
    """The file or array is not an image we can read (empty, corrupt, too large, wrong type)."""


class ReferenceRequired(RecolorError):
    """The method transfers colours from a reference image, and none was given."""


class ModelUnavailable(RecolorError):
    """The method's network weights are not installed."""
