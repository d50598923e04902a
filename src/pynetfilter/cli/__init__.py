"""The pynf command line (the only place files are read and written)."""
