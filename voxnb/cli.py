"""The ``voxnb`` command line: ``voxnb serve`` (and the other subcommands registered below).

Each subcommand is one ``add_<name>(subparsers)`` function that adds its parser and sets
``run=`` to the function executing it (``run(args) -> exit code``); adding a command is one
function plus one entry in :data:`SUBCOMMANDS`.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from voxnb.bias.cli import add_bias
from voxnb.demo import add_demo, add_transcribe
from voxnb.errors import ParameterError, VoxnbError
from voxnb.serve.limits import DEFAULT_BODY_TIMEOUT, DEFAULT_HEADER_TIMEOUT, DEFAULT_KEEP_ALIVE

__all__ = ["SUBCOMMANDS", "build_parser", "main"]


def add_serve(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="run a local server speaking Mistral's transcription protocol",
        description=(
            "Serve POST /v1/audio/transcriptions (JSON and SSE), /v1/files and /v1/chat/completions over "
            "the offline engine (or the deterministic fake engine), on loopback by default. Point "
            "voxnb.Client(base_url='http://HOST:PORT') or Mistral-compatible tools at it."
        ),
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    parser.add_argument(
        "--engine",
        choices=("auto", "local", "fake"),
        default="auto",
        help="local: offline faster-whisper; fake: deterministic code words for tests; "
        "auto: local when installed, else fake (default)",
    )
    parser.add_argument(
        "--api-key",
        default=None,
        help="require 'Authorization: Bearer KEY' (default: $VOXNB_SERVE_API_KEY, else none)",
    )
    parser.add_argument(
        "--faults",
        default=None,
        metavar="SPEC",
        help="inject failures and latency, e.g. '429:0.2,500:0.1,latency:0.3' "
        "(also retry-after:SECONDS, cut:PROB, seed:INT)",
    )
    parser.add_argument(
        "--max-body-mb", type=float, default=None, help="largest request body accepted, in MB (default: 513)"
    )
    parser.add_argument(
        "--dialect",
        choices=("mistral", "openai"),
        default="mistral",
        help="HTTP protocol: Mistral's (default) or vLLM's OpenAI dialect (for testing vLLM clients)",
    )
    parser.add_argument("--log-level", default="info", choices=("debug", "info", "warning", "error"))
    parser.add_argument(
        "--header-timeout",
        type=float,
        default=DEFAULT_HEADER_TIMEOUT,
        metavar="SECONDS",
        help=f"close a connection whose request head is not complete after this long (default: {DEFAULT_HEADER_TIMEOUT:g})",
    )
    parser.add_argument(
        "--body-timeout",
        type=float,
        default=DEFAULT_BODY_TIMEOUT,
        metavar="SECONDS",
        help=f"answer 408 when a request body stalls this long (default: {DEFAULT_BODY_TIMEOUT:g})",
    )
    parser.add_argument(
        "--keep-alive",
        type=float,
        default=DEFAULT_KEEP_ALIVE,
        metavar="SECONDS",
        help=f"close idle keep-alive connections after this long (default: {DEFAULT_KEEP_ALIVE:g})",
    )
    parser.set_defaults(run=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    from voxnb.credentials import install_log_redaction
    from voxnb.serve import DEFAULT_MAX_BODY_BYTES, serve

    install_log_redaction()  # before the first log line: credentials never reach a log
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    if args.max_body_mb is not None and not 0 < args.max_body_mb <= 2**20:
        raise ParameterError(f"--max-body-mb must be above 0 (megabytes); got {args.max_body_mb:g}")
    limit = DEFAULT_MAX_BODY_BYTES if args.max_body_mb is None else max(1, int(args.max_body_mb * 2**20))
    serve(
        host=args.host,
        port=args.port,
        engine=args.engine,
        api_key=args.api_key or os.environ.get("VOXNB_SERVE_API_KEY") or None,
        faults=args.faults,
        max_body_bytes=limit,
        log_level=args.log_level,
        dialect=args.dialect,
        header_timeout=args.header_timeout,
        body_timeout=args.body_timeout,
        keep_alive=args.keep_alive,
    )
    return 0


#: the subcommands, in the order ``voxnb --help`` lists them
SUBCOMMANDS: list[Callable[[Any], None]] = [add_serve, add_transcribe, add_bias, add_demo]


class _Parser(argparse.ArgumentParser):
    """Bad arguments: one line saying what is wrong and where the help is, and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="voxnb", description="Speech transcription as data: Voxtral, vLLM or the offline engine."
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True, parser_class=_Parser)
    for add in SUBCOMMANDS:
        add(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (2 for a voxnb error, with its message).

    Examples
    --------
    >>> from voxnb.cli import main
    >>> main(["transcribe", "talk.wav", "--out", "talk.srt"])  # doctest: +SKIP
    0
    """
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except VoxnbError as err:
        command = getattr(args, "prog", None) or f"voxnb {args.command}"
        print(f"{command}: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
