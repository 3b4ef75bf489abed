"""Logging to stdout, one line per record, for the process manager to collect."""
import logging
import sys

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(level):
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter(FORMAT))
    root = logging.getLogger("apoa")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
