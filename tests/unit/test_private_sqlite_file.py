"""The SQLite database holds personal data: a new file is readable by its owner only."""
import os
import stat

from namalms.config import create_private_sqlite_file


def test_a_new_sqlite_file_is_created_for_its_owner_only(tmp_path):
    old_umask = os.umask(0o022)  # the usual umask would make it world-readable
    try:
        create_private_sqlite_file(f"sqlite:///{tmp_path}/data/namalms.sqlite3")
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE((tmp_path / "data" / "namalms.sqlite3").stat().st_mode) == 0o600


def test_an_existing_file_and_other_databases_are_left_alone(tmp_path):
    existing = tmp_path / "namalms.sqlite3"
    existing.write_bytes(b"")
    existing.chmod(0o640)
    create_private_sqlite_file(f"sqlite:///{existing}")
    create_private_sqlite_file("sqlite://")  # in memory
    create_private_sqlite_file("postgresql://postgres@127.0.0.1:5432/namalms")
    assert stat.S_IMODE(existing.stat().st_mode) == 0o640
