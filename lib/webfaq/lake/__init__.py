"""The lake: table layout, file systems (local, Hadoop, Arrow), atomic partition swaps and Delta
commits, run manifests, the writer lease (``lease``), the naming rule (``names``), input listing
and storage access, and ``webfaq verify``.

Shared by every job (``jobs/base.py``). ``table`` holds the layout and commits, ``manifest`` the
run manifests; both are re-exported here so that ``from webfaq import lake;
lake.swap_partitions(...)`` reads as what it does.
"""

import importlib
from typing import Any

# Loaded on first use (PEP 562): a process that only reads WARCs (``webfaq extract-file``, an
# executor's extract task) imports ``webfaq.lake.storage`` and must not pay for the table and
# manifest modules at start-up (bench/extract.py counts start-up against the floor).
_FROM = {
    "manifest": ["manifest_path", "parquet_facts", "read_manifests", "record_data_files", "scan_manifests",
                 "write_manifest"],
    "names": ["BadName", "OutsideLake", "check_name", "confine", "valid_name"],
    "table": ["ArrowFS", "DeltaConflict", "FileInfo", "LakeFS", "LocalFS", "arrow_fs", "commit_delta", "crawl_dirs",
              "delta_active_files", "delta_table", "delta_version", "end_swaps", "is_data_file", "is_delta", "join",
              "journal_delta_commit", "lake_fs", "recover", "removed_on_failure", "replace_side_file", "roll_back_run",
              "staging_path", "swap_partitions", "table_path", "write_parquet_atomic"],
}
_MODULE_OF = {name: module for module, names in _FROM.items() for name in names}


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'webfaq.lake' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"webfaq.lake.{module}"), name)
    globals()[name] = value
    return value


__all__ = sorted(_MODULE_OF)
