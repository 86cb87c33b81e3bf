"""Tables for people that fit the terminal without cutting what matters.

The model is ``kubectl get``: a compact table of the essential columns, more with
``-o wide``, complete data with ``--output json``. Every command that prints a
table builds it from :class:`Column` specs and rows given as mappings from
column key to value::

    columns = [
        Column("service"),
        Column("health"),
        Column("url"),
        Column("detail", text=True, optional=True),
        Column("pid", wide=True, justify="right"),
    ]
    rows = [{"service": "mlflow", "health": styled("healthy", "green"), ...}]
    render.stdout.print(table(columns, rows, title="Environment 'local'", wide=False))

Two kinds of column:

- **whole** (the default) for values that are useless once cut: names, URLs,
  ids, times, results, numbers. Never wrapped or truncated; a multi-line value
  keeps each of its lines on one line.
- **text** (``text=True``) for free text such as details and messages: it
  wraps (at spaces, folding only words longer than the column) into the room
  the whole columns leave.

When the whole columns alone are wider than the terminal, the rows are
printed as records instead (a heading per row, then ``key  value`` lines, as
``nomad status`` prints one allocation): narrower, and still nothing is cut.

Values are plain text (``[`` and ``]`` are shown as they are, never read as
markup); pass :func:`styled` for colour. A missing value shows as ``-``, a
missing free text as nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

Row = Mapping[str, Any]

_GAP = 2  # spaces between columns, as kubectl separates them
_TEXT_MIN_WIDTH = 12  # below this a wrapped text column reads as a vertical strip
_WIDE_TEXT_WIDTH = 60  # -o wide goes past the terminal rather than squeeze free text


@dataclass(frozen=True)
class Column:
    """One column of a table.

    ``key`` finds the value in each row and is the header unless ``header``
    says otherwise; ``text`` marks free text that may wrap (every other column
    is kept whole); ``wide`` shows the column only with ``-o wide``;
    ``optional`` drops it when no row has a value; ``justify`` is rich's
    (``"left"``, ``"right"``, ``"center"``).
    """

    key: str
    header: str | None = None
    text: bool = False
    wide: bool = False
    optional: bool = False
    justify: str = "left"

    @property
    def title(self) -> str:
        """The column's header: ``header`` when set, else its key."""
        return self.header or self.key


def styled(value: Any, style: str) -> Text:
    """``value`` as plain text in a rich ``style`` (e.g. ``"green"``, ``"bold red"``)."""
    return Text(_plain(value), style=style)


def utc_time(value: datetime | str | None) -> str | None:
    """A time as ISO 8601 UTC to the second (``2026-11-27T10:15:00Z``): 20 characters,
    no space, and accepted back by ``--at``. Takes a datetime (naive means UTC) or an
    ISO 8601 string (as Prefect's API returns them); other strings are returned as
    they are, ``None`` stays ``None``."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    else:
        moment = value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def age(seconds: float | None) -> str | None:
    """A duration the way ``kubectl`` shows ages: ``42s``, ``5m12s``, ``3h4m``, ``2d5h``."""
    if seconds is None:
        return None
    s = max(int(seconds), 0)
    for unit, size, sub_unit, sub_size in (("d", 86400, "h", 3600), ("h", 3600, "m", 60)):
        if s >= size:
            rest = (s % size) // sub_size
            return f"{s // size}{unit}{rest}{sub_unit}" if rest else f"{s // size}{unit}"
    if s >= 60:
        return f"{s // 60}m{s % 60}s" if s % 60 else f"{s // 60}m"
    return f"{s}s"


def table(
    columns: Sequence[Column], rows: Iterable[Row], *, title: str | None = None, wide: bool = False
) -> RenderableType:
    """The rows as a compact table of ``columns`` (wide ones only when ``wide``).

    Returns a renderable for ``Console.print``; it chooses, at the console's
    width, between the table and the records layout (see the module docstring).
    """
    rows = list(rows)
    shown = [
        c
        for c in columns
        if (wide or not c.wide) and not (c.optional and all(_empty(r.get(c.key)) for r in rows))
    ]
    return _FittedTable(shown, rows, title, wide)


def fields(
    pairs: Iterable[tuple[str, Any]], *, title: str | None = None, indent: int = 0
) -> RenderableType:
    """``key  value`` lines, keys aligned, as ``nomad status`` and ``kubectl describe``
    show one object. A value too wide to sit beside its key goes on the lines
    below it, indented, so its lines stay whole whenever the terminal allows."""
    return _Fields(list(pairs), title, indent)


def _plain(value: Any) -> str:
    return "-" if value is None else str(value)


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str | Text) and not str(value).strip())


def _cell(value: Any) -> Text:
    return value.copy() if isinstance(value, Text) else Text(_plain(value))


def _widest_line(value: Any) -> int:
    return max((Text(line).cell_len for line in _cell(value).plain.split("\n")), default=0)


class _FittedTable:
    """A table when its whole columns fit the console, records otherwise."""

    def __init__(
        self, columns: list[Column], rows: list[Row], title: str | None, wide: bool
    ) -> None:
        self.columns, self.rows, self.title, self.wide = columns, rows, title, wide

    def build(self) -> Table:
        grid = Table(
            title=self.title,
            title_justify="left",
            title_style="bold",
            box=None,
            pad_edge=False,
            padding=(0, _GAP // 2),
            header_style="bold",
        )
        for c in self.columns:
            if c.text:
                grid.add_column(c.title, justify=c.justify, overflow="fold",  # type: ignore[arg-type]
                                min_width=self._text_width(c), ratio=1)  # fmt: skip
            else:  # min_width keeps values with spaces ("not promoted") on one line too
                grid.add_column(c.title, justify=c.justify, no_wrap=True,  # type: ignore[arg-type]
                                min_width=self._widest(c))  # fmt: skip
        for r in self.rows:  # a missing free text is blank, a missing value "-"
            grid.add_row(*(_cell("" if c.text and r.get(c.key) is None else r.get(c.key))
                           for c in self.columns))  # fmt: skip
        return grid

    def _widest(self, column: Column) -> int:
        return max(
            [Text(column.title).cell_len, *(_widest_line(r.get(column.key)) for r in self.rows)]
        )

    def _text_width(self, column: Column) -> int:
        """The least room a free-text column gets (all it needs when that is less)."""
        return min(_WIDE_TEXT_WIDTH if self.wide else _TEXT_MIN_WIDTH, self._widest(column))

    def needed_width(self) -> int:
        """The narrowest this table gets with every whole column whole."""
        widths = [self._text_width(c) if c.text else self._widest(c) for c in self.columns]
        return sum(widths) + _GAP * (len(widths) - 1)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        needed = self.needed_width()
        if self.wide:  # as kubectl's -o wide: as wide as it takes, past the terminal if need be
            yield from self.build().__rich_console__(
                console, options.update_width(max(needed, options.max_width))
            )
            return
        if needed <= options.max_width:
            yield self.build()
            return
        records = [
            fields(
                [(c.title, r.get(c.key)) for c in self.columns[1:]],
                title=_plain(r.get(self.columns[0].key)),
                indent=2,
            )
            for r in self.rows
        ]
        if self.title:
            yield Text(self.title, style="bold")
        yield Group(*records)


class _Fields:
    def __init__(self, pairs: list[tuple[str, Any]], title: str | None, indent: int) -> None:
        self.pairs, self.title, self.indent = pairs, title, indent

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if self.title:
            yield Text(self.title, style="bold")
        key_width = max((Text(k).cell_len for k, _ in self.pairs), default=0)
        room = options.max_width - self.indent - key_width - _GAP
        for key, value in self.pairs:
            cell = _cell(value)
            if _widest_line(cell) <= room:
                line = Text(" " * self.indent) + Text(key.ljust(key_width + _GAP), style="bold")
                yield _hanging(line, cell, self.indent + key_width + _GAP)
            else:  # below the key; folded only where a line is wider than the terminal
                yield Text(" " * self.indent) + Text(key, style="bold")
                cell.no_wrap, cell.overflow = False, "fold"
                yield Padding(cell, (0, 0, 0, self.indent + _GAP), expand=False)


def _hanging(head: Text, value: Text, width: int) -> Text:
    """``head`` then ``value``, the value's later lines indented under its first."""
    lines = value.split("\n")
    out = head + (lines[0] if lines else Text(""))
    for line in lines[1:]:
        out += Text("\n" + " " * width) + line
    return out
