"""PURE: values in, values out: no files, network, database or clock."""
