"""Archives for the tests of hostile and damaged input: huge members made of zeros (streamed,
never held in memory), a .tar.gz cut short, a .zip member whose CRC does not match."""

import io
import os
import tarfile
import zipfile
from pathlib import Path

DATA = Path(__file__).parent / "data"


class Zeros(io.RawIOBase):
    """A readable stream of `size` zero bytes."""

    def __init__(self, size: int):
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = min(len(buffer), self.left)
        buffer[:n] = bytes(n)
        self.left -= n
        return n


def tar_gz(path: Path, members) -> Path:
    """Write a .tar.gz of (name, bytes, or an int: that many zero bytes) members; return path."""
    with tarfile.open(path, "w:gz", compresslevel=1) as archive:
        for name, content in members:
            size = content if isinstance(content, int) else len(content)
            info = tarfile.TarInfo(name)
            info.size = size
            archive.addfile(info, Zeros(size) if isinstance(content, int) else io.BytesIO(content))
    return path


def game(name: str) -> bytes:
    """Return the bytes of tests/data/<name>."""
    return (DATA / name).read_bytes()


def cut_tar_gz(path: Path, names) -> Path:
    """Write a .tar.gz of the games `names`, then a 400 KB incompressible member and one more
    game, and cut the file in the middle of the incompressible member; return path."""
    filler = ("filler.txt", os.urandom(400_000))
    tar_gz(path, [(f"games/{n}", game(n)) for n in names] + [filler, ("games/last.sgf", game("plain.sgf"))])
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def bad_crc_zip(path: Path, names, damaged: str) -> Path:
    """Write a .zip (stored, uncompressed) of the games `names` with one byte of the member
    `damaged` changed after its CRC was computed; return path."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for name in names:
            archive.writestr(name, game(name))
    data = bytearray(path.read_bytes())
    start = bytes(data).index(game(damaged))
    data[start + len(game(damaged)) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    return path
