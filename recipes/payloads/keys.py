"""Keys for encrypting payloads: make a keyring, rotate it, retire a key, show what it holds.

    python -m recipes.payloads.keys new secrets/payload-keys.json         # one fresh key, "key-1"
    python -m recipes.payloads.keys rotate secrets/payload-keys.json      # add "key-2", make it the active one
    python -m recipes.payloads.keys show secrets/payload-keys.json        # ids, the active one; never the keys
    python -m recipes.payloads.keys retire secrets/payload-keys.json key-1

Workers, starters and the codec server read the file named by ``PAYLOAD_KEYRING`` and read it
again when it changes, so a rotation reaches them at their next payload. New payloads are sealed
with the active key; older ones keep naming theirs, so **retire a key only once no open history
and no stored blob still uses it** (after the namespace's retention period, or after
re-encrypting what is left). With several machines, roll the new key out first (``rotate
--no-activate``), then activate it everywhere, so no worker meets a key it does not have yet.

The file holds the keys themselves: it is written readable by its owner only (0600). In
production keep it in a secret store and mount it into the workers; never commit it.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from recipes.core.errors import ConfigurationError
from recipes.core.scripts import add_verbose_flag, run_script
from recipes.payloads.codec import Keyring, key_check

__all__ = ["create_keyring", "retire_key", "rotate_keyring", "write_keyring"]


def write_keyring(path: str | os.PathLike[str], keyring: Keyring) -> None:
    """Replace ``path`` with ``keyring`` at once (temporary file, then rename), mode 0600."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(keyring.to_json())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def create_keyring(path: str | os.PathLike[str], key_id: str = "key-1") -> Keyring:
    """A new keyring file with one fresh key; refuses to overwrite one (that would lose keys)."""
    if Path(path).exists():
        raise ConfigurationError(f"{path} exists already; rotate it instead, or choose another file.")
    keyring = Keyring.new(key_id, source=str(path))
    write_keyring(path, keyring)
    return keyring


def rotate_keyring(path: str | os.PathLike[str], key_id: str | None = None, *, activate: bool = True) -> Keyring:
    """Add a fresh key (``key-<n+1>`` unless named) and make it the active one."""
    keyring = Keyring.load(path)
    if key_id is None:
        n = len(keyring.keys) + 1
        while f"key-{n}" in keyring.keys:
            n += 1
        key_id = f"key-{n}"
    rotated = keyring.with_new_key(key_id, activate=activate)
    write_keyring(path, rotated)
    return rotated


def retire_key(path: str | os.PathLike[str], key_id: str) -> Keyring:
    keyring = Keyring.load(path)
    if key_id not in keyring.keys:
        raise ConfigurationError(f"{path} has no key {key_id!r} (it has {', '.join(keyring.keys)}).")
    retired = keyring.without(key_id)
    write_keyring(path, retired)
    return retired


def describe(keyring: Keyring) -> str:
    return "\n".join(f"{'*' if key_id == keyring.active else ' '} {key_id}  check {key_check(key).hex()}"
                     for key_id, key in keyring.keys.items())  # fmt: skip


async def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    new = commands.add_parser("new", help="a keyring with one fresh key")
    new.add_argument("path")
    new.add_argument("--id", default="key-1")
    rotate = commands.add_parser("rotate", help="add a fresh key and make it the active one")
    rotate.add_argument("path")
    rotate.add_argument("--id", default=None, help="default: key-<n>")
    rotate.add_argument("--no-activate", action="store_true", help="add it, but keep sealing with the current key")
    retire = commands.add_parser("retire", help="remove a key that nothing uses any more")
    retire.add_argument("path")
    retire.add_argument("key_id")
    show = commands.add_parser("show", help="the key ids (* = active) and their checks; never the keys")
    show.add_argument("path")
    args = add_verbose_flag(parser).parse_args(argv)
    if args.command == "new":
        keyring = create_keyring(args.path, args.id)
    elif args.command == "rotate":
        keyring = rotate_keyring(args.path, args.id, activate=not args.no_activate)
    elif args.command == "retire":
        keyring = retire_key(args.path, args.key_id)
    else:
        keyring = Keyring.load(args.path)
    print(f"{args.path}:\n{describe(keyring)}")
    if args.command == "new":
        print(f"Use it: export PAYLOAD_KEYRING={Path(args.path).resolve()}", file=sys.stderr)


if __name__ == "__main__":
    run_script(main())
