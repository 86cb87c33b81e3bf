"""The command line: parses arguments, calls the core, renders results.

Nothing outside this package imports it.
"""
