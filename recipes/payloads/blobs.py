"""The local payload store (``PAYLOAD_STORE=local``): how much it holds, and pruning it.

    python -m recipes.payloads.blobs stats
    python -m recipes.payloads.blobs prune --older-than 30d --dry-run
    python -m recipes.payloads.blobs prune --older-than 30d

``--older-than`` must exceed your longest workflow run plus the namespace's retention period
(``temporal operator namespace describe``): a history still on the server whose blob is gone
cannot be read (``PayloadBlobMissing``). See :mod:`recipes.payloads.store` for the rule.
With ``PAYLOAD_STORE=s3`` use an S3 lifecycle rule on the bucket instead, with the same bound.
"""

from __future__ import annotations

import argparse
import re

from recipes.core.errors import ConfigurationError
from recipes.core.scripts import add_verbose_flag, run_script
from recipes.payloads.settings import PayloadSettings
from recipes.payloads.store import prune

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_age(text: str) -> float:
    """``"30d"`` -> seconds; also ``s``, ``m``, ``h``."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd])\s*", text or "")
    if not match:
        raise ConfigurationError(f"--older-than {text!r}: give a number and a unit, e.g. 30d, 12h or 90m.")
    return float(match.group(1)) * _UNITS[match.group(2)]


async def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("stats", help="files and bytes in the store")
    pruning = commands.add_parser("prune", help="delete blobs not stored for longer than --older-than")
    pruning.add_argument("--older-than", required=True, help="e.g. 30d (see the rule above)")
    pruning.add_argument("--dry-run", action="store_true", help="list, delete nothing")
    args = add_verbose_flag(parser).parse_args(argv)
    root = PayloadSettings.load().store_dir
    if args.command == "stats":
        files = [p for p in root.glob("*/sha256/*/*") if p.is_file()]
        print(f"{root}: {len(files)} payload(s), {sum(p.stat().st_size for p in files):,} bytes")
        return
    gone = prune(root, older_than_s=parse_age(args.older_than), dry_run=args.dry_run)
    print(f"{'Would delete' if args.dry_run else 'Deleted'} {len(gone)} payload(s) from {root}.")


if __name__ == "__main__":
    run_script(main())
