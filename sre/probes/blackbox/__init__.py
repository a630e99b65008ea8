"""blackbox_exporter compatibility: its module file, its probe semantics, its series."""
