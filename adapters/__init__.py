"""Septet's built-in carrier and destination adapters, registered through entry points."""
