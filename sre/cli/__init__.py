"""The `sre` command line: one thin sub-app per capability (parse, call, render)."""
