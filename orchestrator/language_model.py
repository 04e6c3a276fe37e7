"""py3langid's model restricted to the languages we answer in, kept in the user's cache folder between processes.

py3langid ships one model for 97 languages: 4.5 MB of LZMA that unpacks to about 68 MB. Reading it costs about
0.6 s of CPU, and every `support-agent once` (a cron job, say) would pay that at start. Restricted to our six
languages the model is mostly the tokenizer's automaton, which every language shares; written once to the cache
folder in py3langid's own file format (an `.npz` inside LZMA, which `LanguageIdentifier.from_model_file` reads),
later processes read it in about 0.2 s and classify exactly as the full model restricted with `set_languages` does.

Why a few lines of our own instead of `py3langid.modelio.save_model`: that function compresses at LZMA's preset 6,
which takes about 3 s of CPU for this file; preset 0 takes 0.25 s and reads back just as fast. The arrays written
are the ones `save_model` writes, taken from a loaded identifier, and a file that py3langid cannot read back (a
later version with another format) is simply replaced: the name carries py3langid's version and the languages.

Where: `SUPPORT_AGENT_CACHE_DIR`, else `$XDG_CACHE_HOME/support-agent`, else `~/.cache/support-agent`. A folder
that cannot be written only costs the slower start (logged at debug level); nothing else depends on the cache.
"""

from __future__ import annotations

import io
import logging
import lzma
import os
import tempfile
import zipfile
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["CACHE_ENV", "cache_dir", "load_identifier"]

CACHE_ENV = "SUPPORT_AGENT_CACHE_DIR"
logger = logging.getLogger(__name__)


def cache_dir() -> Path:
    """The folder this project keeps derived, re-creatable files in (see the module docstring)."""
    if chosen := os.environ.get(CACHE_ENV):
        return Path(chosen).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "support-agent"


def load_identifier(languages: Sequence[str]) -> Any:
    """A `py3langid` identifier (probabilities normalised) that chooses among `languages` only."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier  # type: ignore[import-untyped]

    path = cache_dir() / f"langid-{_version()}-{'-'.join(sorted(languages))}.npz.xz"
    if path.is_file():
        try:
            cached = LanguageIdentifier.from_model_file(path, norm_probs=True)
            if sorted(cached.nb_classes) == sorted(languages):
                return cached
            logger.debug("%s holds other languages; rebuilding it", path)
        except (OSError, ValueError, KeyError, EOFError, lzma.LZMAError, zipfile.BadZipFile) as exc:
            logger.debug("cannot read the language model cache %s (%s); rebuilding it", path, exc)
    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(languages))
    try:
        _write(identifier, path)
    except OSError as exc:
        logger.debug("cannot write the language model cache %s (%s)", path, exc)
    return identifier


def _version() -> str:
    try:
        return metadata.version("py3langid")
    except metadata.PackageNotFoundError:
        return "unknown"


def _write(identifier: Any, path: Path) -> None:
    """The restricted model in py3langid's format (the arrays `py3langid.modelio.save_model` writes), then renamed
    into place, so a reader never sees half a file and two processes writing at once both leave a whole one."""
    import numpy as np

    nextmove = np.asarray(identifier.tk_nextmove)
    arrays: dict[str, Any] = {
        "ptc": np.asarray(identifier.nb_ptc, dtype=np.float16),
        "pc": np.asarray(identifier.nb_pc, dtype=np.float32),
        "classes": np.array(identifier.nb_classes),
        "nextmove": nextmove.astype(np.uint16 if not nextmove.size or nextmove.max() < 1 << 16 else np.uint32),
        "nextmove_row": np.asarray(identifier.tk_row),
        "out_feat": np.asarray(identifier.tk_output, dtype=np.int32),
    }
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".langid-", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(lzma.compress(buffer.getvalue(), preset=0))
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
