"""Rasid (راصد): Arabic news monitoring pipeline — stream stages, faust app and CLI."""

__version__ = "0.1.0"
