"""One module per group of commands; each registers itself on the app."""
