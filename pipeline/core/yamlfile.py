"""YAML files analysts edit, read with line numbers, so every error names the file and the line.

A duplicate key is an error (never \"last wins\"); :class:`ReloadingFile` keeps the last valid
content of a file in force while an edit is broken, and picks up a fixed edit by itself."""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path
from typing import Any, Callable, Generic, Iterable, TypeVar

import yaml

log = logging.getLogger("rasid.config")


# --- YAML with line numbers -------------------------------------------------


class _LStr(str):
    line: int


class _LDict(dict):
    line: int


class _LList(list):
    line: int


class _LineLoader(yaml.SafeLoader):
    """SafeLoader whose maps, lists and strings remember their line (1-based)."""


def _c_map(loader: _LineLoader, node: yaml.MappingNode) -> _LDict:
    loader.flatten_mapping(node)
    d = _LDict()
    d.line = node.start_mark.line + 1
    for k_node, v_node in node.value:
        k = loader.construct_object(k_node, deep=True)
        if k in d:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {k!r}", k_node.start_mark
            )
        d[k] = loader.construct_object(v_node, deep=True)
    return d


def _c_seq(loader: _LineLoader, node: yaml.SequenceNode) -> _LList:
    lst = _LList(loader.construct_object(n, deep=True) for n in node.value)
    lst.line = node.start_mark.line + 1
    return lst


def _c_str(loader: _LineLoader, node: yaml.ScalarNode) -> _LStr:
    s = _LStr(loader.construct_scalar(node))
    s.line = node.start_mark.line + 1
    return s


_LineLoader.add_constructor("tag:yaml.org,2002:map", _c_map)
_LineLoader.add_constructor("tag:yaml.org,2002:seq", _c_seq)
_LineLoader.add_constructor("tag:yaml.org,2002:str", _c_str)


def load_yaml_lines(path: str | os.PathLike[str], error: type[ConfigError] | None = None) -> Any:
    """Parse a YAML file keeping line numbers; unreadable files, YAML errors and duplicate keys
    raise ``error`` (a :class:`ConfigError` class) naming the file and the line."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise (error or ConfigError)(str(p), f"cannot read: {getattr(e, 'strerror', None) or e}") from None
    return parse_yaml_lines(text, str(p), error)


def parse_yaml_lines(text: str, src: str = "<yaml>", error: type[ConfigError] | None = None) -> Any:
    """:func:`load_yaml_lines` on text already read (``src`` names it in errors)."""
    error = error or ConfigError
    try:
        return yaml.load(text, Loader=_LineLoader)  # noqa: S506 - SafeLoader subclass
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        raise error(src, f"YAML error: {e.problem or e}", mark.line + 1 if mark else None) from None
    except yaml.YAMLError as e:
        raise error(src, f"YAML error: {e}") from None


def line_of(obj: Any, default: int | None = None) -> int | None:
    return getattr(obj, "line", default)


class ConfigError(ValueError):
    """An invalid file analysts edit; the message starts with ``file:line:``.

    ``ConfigError(path, msg, line)``, or ``ConfigError(message)`` for a message that already
    names its file and line."""

    def __init__(self, path: str, msg: str | None = None, line: int | None = None) -> None:
        if msg is None:
            self.path, self.line, self.msg = None, None, path
            super().__init__(path)
            return
        self.path, self.line, self.msg = path, line, msg
        super().__init__(f"{path}:{line}: {msg}" if line else f"{path}: {msg}")


T = TypeVar("T")


class ReloadingFile(Generic[T]):
    """A parsed file kept current: parsed again when it (or a file it depends on) changes, looked at
    no more than every ``check_interval`` seconds, so asking per article is cheap.

    The first parse raises (a broken file is noticed at start, not by classifying nothing); after
    that an invalid edit is logged with its file and line, kept in ``last_error``, and the last
    valid content stays in force until the file is fixed."""

    def __init__(self, path: str | os.PathLike[str], parse: Callable[[Path], T], *,
                 depends: Callable[[T], Iterable[Path | None]] = lambda _: (), check_interval: float = 5.0,
                 what: str = "file", stage: str | None = None) -> None:
        self.path = Path(path)
        self.parse, self.depends, self.check_interval = parse, depends, check_interval
        self.what, self.stage = what, stage
        self.last_error: ConfigError | None = None
        self._lock = threading.Lock()
        self._checked = time.monotonic()
        self._current: T = parse(self.path)
        self._seen = self._signature()

    @property
    def current(self) -> T:
        return self._current

    def _signature(self) -> tuple[float | None, ...]:
        def mtime(p: Path | None) -> float | None:
            try:
                return p.stat().st_mtime if p is not None else None
            except OSError:
                return None

        return (mtime(self.path), *(mtime(Path(d)) for d in self.depends(self._current) if d is not None))

    def reload(self) -> bool:
        """Parse again now; True when a new version was installed."""
        with self._lock:
            self._seen = self._signature()
            try:
                value = self.parse(self.path)
            except ConfigError as e:
                self.last_error = e
                log.error("%s rejected, keeping the previous version: %s", self.what, e,
                          extra={"stage": self.stage, "file": e.path, "line": e.line})
                return False
            self._current = value
            self.last_error = None
            log.info("%s loaded", self.what, extra={"stage": self.stage, "file": str(self.path)})
            return True

    def get(self, force: bool = False) -> T:
        """The current version, after parsing again if a file changed since the last look."""
        now = time.monotonic()
        if force or now - self._checked >= self.check_interval:
            self._checked = now
            if self._signature() != self._seen:
                self.reload()
        return self._current


_FILES: dict[tuple[Callable[..., Any], Path], ReloadingFile[Any]] = {}
_FILES_LOCK = threading.Lock()


def reloading(path: str | os.PathLike[str], parse: Callable[[Path], T], **kw: Any) -> tuple[ReloadingFile[T], bool]:
    """The process-wide :class:`ReloadingFile` of ``path`` parsed by ``parse`` (made on first use:
    then the flag is True), so every caller in a process shares one parse of a file."""
    key = (parse, Path(path).resolve())
    with _FILES_LOCK:
        f = _FILES.get(key)
    if f is not None:
        return f, False
    made = ReloadingFile(key[1], parse, **kw)  # (not under the lock: a topics file loads its gazetteer)
    with _FILES_LOCK:
        f = _FILES.setdefault(key, made)
    return f, f is made


def load_file(path: str | os.PathLike[str], parse: Callable[[Path], T], *, fresh: bool = True, **kw: Any) -> T:
    """The parsed content of ``path`` in force (see :class:`ReloadingFile`): the first call parses
    and raises on an invalid file; later ones parse again after an edit. ``fresh`` looks at the file
    now; otherwise at most every ``check_interval`` seconds (cheap enough per article)."""
    f, new = reloading(path, parse, **kw)
    return f.current if new else f.get(force=fresh)
