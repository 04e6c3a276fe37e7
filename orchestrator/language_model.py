"""py3langid's model restricted to the languages we answer in, kept in the user's cache folder between processes.

py3langid ships one model for 97 languages: 4.5 MB of LZMA that unpacks to about 68 MB. Reading it costs about
0.6 s of CPU, and every `support-agent once` (a cron job, say) would pay that at start. Restricted to our six
languages the model is mostly the tokenizer's automaton, which every language shares. It is written once to the
cache folder as a compressed NumPy archive (`numpy.savez_compressed`: deflate, 2.4 MB, the arrays
`py3langid.modelio.save_model` writes), and later processes read it in about 0.06 s and classify exactly as the full
model restricted with `set_languages` does.

Why a few lines of our own instead of py3langid's `save_model` and `from_model_file`: its format is the same arrays
inside LZMA, which costs 3 s to write at the preset `save_model` uses and 0.2 s to read at any preset (LZMA
decompresses slowly); deflate reads back in a third of that. The identifier is built with `LanguageIdentifier`'s
own constructor, from the arrays `from_model_file` passes it. A file that cannot be read back (damaged, or written
by another version) is simply replaced: the name carries py3langid's version and the languages.

Where: `SUPPORT_AGENT_CACHE_DIR`, else `$XDG_CACHE_HOME/support-agent`, else `~/.cache/support-agent`. A folder
that cannot be written only costs the slower start (logged at debug level); nothing else depends on the cache.
"""

from __future__ import annotations

import logging
import os
import tempfile
import zipfile
import zlib
from array import array
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

    path = cache_dir() / f"langid-{_version()}-{'-'.join(sorted(languages))}.npz"
    if path.is_file():
        try:
            cached = _read(path)
            if sorted(cached.nb_classes) == sorted(languages):
                return cached
            logger.debug("%s holds other languages; rebuilding it", path)
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
            logger.debug("cannot read the language model cache %s (%s); rebuilding it", path, exc)
    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(languages))
    try:
        _write(identifier, path)
    except OSError as exc:
        logger.debug("cannot write the language model cache %s (%s)", path, exc)
    return identifier


def _read(path: Path) -> Any:
    """The identifier `_write` saved at `path`, built as `LanguageIdentifier.from_model_file` builds one."""
    import numpy as np
    from py3langid.langid import LanguageIdentifier

    with path.open("rb") as file, np.load(file, allow_pickle=False) as data:  # numpy leaks a damaged file's handle
        return LanguageIdentifier(
            np.asarray(data["ptc"]),
            np.asarray(data["pc"]),
            data["classes"].tolist(),
            _unsigned(data["nextmove"]),
            data["out_feat"].tolist(),
            norm_probs=True,
            tk_row=_unsigned(data["nextmove_row"]),
        )


def _unsigned(values: Any) -> array[int]:
    """A NumPy array of unsigned integers as the stdlib `array` py3langid walks its automaton with."""
    import numpy as np

    codes = {2: "H", 4: "I", 8: "Q"}
    if values.dtype.kind != "u" or values.dtype.itemsize not in codes:
        raise ValueError(f"unexpected automaton array of {values.dtype}")
    out = array(codes[values.dtype.itemsize])
    out.frombytes(np.ascontiguousarray(values).tobytes())
    return out


def _version() -> str:
    try:
        return metadata.version("py3langid")
    except metadata.PackageNotFoundError:
        return "unknown"


def _write(identifier: Any, path: Path) -> None:
    """The restricted model (the arrays `py3langid.modelio.save_model` writes) as a compressed NumPy archive, renamed
    into place, so a reader never sees half a file and two processes writing at once both leave a whole one. The
    LZMA copies earlier versions of this project kept (`*.npz.xz`) are removed."""
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
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".langid-", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            np.savez_compressed(file, **arrays)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    for older in path.parent.glob("langid-*.npz.xz"):
        older.unlink(missing_ok=True)
