"""The lake: table layout, file systems (local, Hadoop, Arrow), atomic partition swaps and Delta
commits, run manifests, the writer lease (``lease``), the naming rule (``names``), input listing
and storage access, and ``webfaq verify``.

Shared by every job (``jobs/base.py``). ``table`` holds the layout and commits, ``manifest`` the
run manifests; both are re-exported here so that ``from webfaq import lake;
lake.swap_partitions(...)`` reads as what it does.
"""

from webfaq.lake.manifest import (manifest_path, parquet_facts, read_manifests, record_data_files,
                                  scan_manifests, write_manifest)
from webfaq.lake.names import BadName, OutsideLake, check_name, confine, valid_name
from webfaq.lake.table import (ArrowFS, DeltaConflict, FileInfo, LakeFS, LocalFS, arrow_fs, commit_delta,
                               crawl_dirs, delta_active_files, delta_version, is_data_file, is_delta, join, lake_fs,
                               recover, removed_on_failure, staging_path, swap_partitions, table_path,
                               write_parquet_atomic)

__all__ = ["ArrowFS", "BadName", "DeltaConflict", "FileInfo", "LakeFS", "LocalFS", "OutsideLake", "arrow_fs",
           "check_name", "commit_delta", "confine", "crawl_dirs", "delta_active_files", "delta_version",
           "is_data_file", "is_delta", "join", "lake_fs", "manifest_path", "parquet_facts", "read_manifests",
           "record_data_files", "recover", "removed_on_failure", "scan_manifests", "staging_path",
           "swap_partitions", "table_path", "valid_name", "write_manifest", "write_parquet_atomic"]
