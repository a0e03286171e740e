"""recolor: colorize black-and-white photos with five methods, classic and learned."""
from .api import colorize, save
from .errors import ImageError, ModelUnavailable, RecolorError, ReferenceRequired
from .images import load_image
from .registry import METHODS, Method, Option, get_method

__all__ = ["METHODS", "Method", "Option", "colorize", "get_method", "save", "load_image",
           "RecolorError", "ImageError", "ReferenceRequired", "ModelUnavailable"]
