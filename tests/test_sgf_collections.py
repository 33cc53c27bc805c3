"""SGF collections: folders and archives read as a stream of games, bad records counted."""

import io
import tarfile
import zipfile
from pathlib import Path

import pytest

from archives import bad_crc_zip, cut_tar_gz, tar_gz
from gopolicy.sgf_collections import UNREADABLE, CollectionStats, iter_sgf_bytes, read_collection
from gopolicy.sgf_io import TOO_LARGE, BadGame

DATA = Path(__file__).parent / "data"

GOOD_NAMES = ["plain.sgf", "handicap.sgf", "passes.sgf"]
BAD_NAMES = {"ko.sgf": "illegal move", "garbled.sgf": "parse error", "nine.sgf": "board size",
             "empty.sgf": "empty"}


def make_tar_gz(path: Path, names) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for name in names:
            data = (DATA / name).read_bytes()
            info = tarfile.TarInfo(f"games/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        info = tarfile.TarInfo("games/README.txt")  # not an SGF: ignored
        info.size = 2
        archive.addfile(info, io.BytesIO(b"hi"))
    return path


def make_zip(path: Path, names) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name in names:
            archive.writestr(f"z/{name}", (DATA / name).read_bytes())
        archive.writestr("z/notes.txt", "ignored")
    return path


def test_folder_is_read_recursively(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "plain.sgf").write_bytes((DATA / "plain.sgf").read_bytes())
    (tmp_path / "a" / "b" / "ko.sgf").write_bytes((DATA / "ko.sgf").read_bytes())
    (tmp_path / "a" / "b" / "notes.txt").write_text("not a game")
    make_zip(tmp_path / "a" / "b" / "more.zip", ["handicap.sgf"])
    stats = CollectionStats()
    games = list(read_collection(tmp_path, stats))
    assert sorted(Path(g.source.split(":")[-1]).name for g in games) == ["handicap.sgf", "plain.sgf"]
    assert stats.games == 2 and stats.skipped == {"illegal move": 1}
    assert "E5" in stats.examples["illegal move"][0]


@pytest.mark.parametrize("maker,suffix", [(make_zip, ".zip"), (make_tar_gz, ".tar.gz"),
                                          (make_tar_gz, ".tgz")])
def test_archives_skip_and_count_bad_members(tmp_path, maker, suffix):
    archive = maker(tmp_path / f"games{suffix}", GOOD_NAMES + list(BAD_NAMES))
    names = [name for name, _ in iter_sgf_bytes(archive)]
    assert len(names) == 7 and all(name.startswith(f"{archive}:") for name in names)
    stats = CollectionStats()
    games = list(read_collection([archive], stats))
    assert [Path(g.source).name for g in games] == GOOD_NAMES
    assert stats.games == 3
    assert stats.skipped == {reason: 1 for reason in BAD_NAMES.values()}
    assert list(tmp_path.iterdir()) == [archive]  # nothing unpacked to disk


def test_check_moves_off_keeps_illegal_games(tmp_path):
    archive = make_tar_gz(tmp_path / "g.tar.gz", ["ko.sgf", "plain.sgf"])
    stats = CollectionStats()
    assert len(list(read_collection(archive, stats, check_moves=False))) == 2
    assert stats.skipped == {}


def test_unreadable_archive_is_counted_not_fatal(tmp_path):
    broken = tmp_path / "broken.tar.gz"
    broken.write_bytes(b"\x1f\x8b not really gzip")
    truncated = tmp_path / "truncated.zip"
    truncated.write_bytes(make_zip(tmp_path / "t.zip", GOOD_NAMES).read_bytes()[:40])
    (tmp_path / "t.zip").unlink()
    good = make_tar_gz(tmp_path / "good.tgz", GOOD_NAMES)
    stats = CollectionStats()
    games = list(read_collection([broken, truncated, good], stats))
    assert len(games) == 3
    assert stats.skipped == {UNREADABLE: 2}
    with pytest.raises(BadGame) as info:
        list(iter_sgf_bytes(broken))  # without stats the caller hears about it
    assert info.value.reason == UNREADABLE


@pytest.mark.parametrize("suffix", [".tar.gz", ".zip"])
def test_archive_members_over_the_limit_are_skipped_and_counted(tmp_path, suffix):
    members = [("a.sgf", (DATA / "plain.sgf").read_bytes()), ("big.sgf", 5000),
               ("b.sgf", (DATA / "handicap.sgf").read_bytes())]
    path = tmp_path / f"games{suffix}"
    if suffix == ".zip":
        with zipfile.ZipFile(path, "w") as archive:
            for name, content in members:
                archive.writestr(name, bytes(content) if isinstance(content, int) else content)
    else:
        tar_gz(path, members)
    stats = CollectionStats()
    names = [name for name, _ in iter_sgf_bytes(path, stats, max_bytes=1000)]
    assert names == [f"{path}:a.sgf", f"{path}:b.sgf"]
    assert stats.skipped == {TOO_LARGE: 1}
    assert f"{path}:big.sgf: 5000 bytes, over the limit of 1000 bytes" in stats.examples[TOO_LARGE][0]
    with pytest.raises(BadGame) as info:  # without stats the caller hears about it
        list(iter_sgf_bytes(path, max_bytes=1000))
    assert info.value.reason == TOO_LARGE


DAMAGED = [  # archive maker, the games read (member names), what the count says
    (lambda tmp: cut_tar_gz(tmp / "cut.tar.gz", ["plain.sgf", "handicap.sgf"]),
     ["games/plain.sgf", "games/handicap.sgf"], "cut.tar.gz"),
    (lambda tmp: bad_crc_zip(tmp / "crc.zip", ["plain.sgf", "handicap.sgf", "passes.sgf"], "handicap.sgf"),
     ["plain.sgf", "passes.sgf"], "Bad CRC-32"),
]


@pytest.mark.parametrize("make, kept, words", DAMAGED)
def test_damaged_archives_keep_the_games_they_can_read(tmp_path, make, kept, words):
    path = make(tmp_path)
    stats = CollectionStats()
    games = list(read_collection(path, stats))
    assert [g.source.split(":", 1)[1] for g in games] == kept
    assert stats.skipped == {UNREADABLE: 1}
    assert words in stats.examples[UNREADABLE][0]


def test_missing_source_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        list(read_collection(tmp_path / "nowhere.sgf"))


def test_sizes_allowed_in_collections(tmp_path):
    archive = make_zip(tmp_path / "g.zip", ["nine.sgf", "plain.sgf"])
    stats = CollectionStats()
    assert [g.size for g in read_collection(archive, stats, sizes=(9, 19))] == [9, 19]
    assert stats.skipped == {}


def test_stats_update_merges_worker_counts():
    a, b = CollectionStats(), CollectionStats()
    a.games, b.games = 2, 3
    a.skip("empty", "x.sgf: no moves")
    b.skip("empty", "y.sgf: no moves")
    b.skip("parse error", "z.sgf: bad")
    a.update(b)
    assert (a.games, a.skipped) == (5, {"empty": 2, "parse error": 1})
    assert a.examples["empty"] == ["x.sgf: no moves", "y.sgf: no moves"]


# --- main lines as sgfmill reads them ----------------------------------------------------
