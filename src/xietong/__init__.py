"""xietong (協同): the command system for a city whose districts fight one outbreak together."""

__version__ = "0.1.0"
