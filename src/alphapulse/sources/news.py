"""News: RSS/Atom feeds through feedparser, and the bundled dated-headline dataset.

Every item gets a stable id (SHA-256 of its guid, else of its canonical URL) so re-ingesting a feed is a
no-op. ``published_at`` is normalized to UTC; an item whose date cannot be parsed is returned as
*undated* for the quality report, never dropped and never stamped with "now".
"""

from __future__ import annotations

import calendar
import csv
import gzip
import hashlib
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypedDict
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from xml.sax import SAXException

import feedparser
import httpx

HEADLINE_DATE_FORMAT = "%d-%m-%Y %H:%M"
_TRACKING_PREFIXES = ("utm_", "fbclid", "gclid", "mc_")


class NewsRow(TypedDict):
    id: str
    source: str
    guid: str | None
    url: str | None
    published_at: datetime
    title: str
    summary: str | None


class FeedError(ValueError):
    """A feed that is not a readable RSS/Atom document; nothing from it is stored."""


class FeedUnavailableError(FeedError):
    """The feed could not be fetched (network, 5xx): worth retrying later, unlike a malformed feed."""


@dataclass
class ParsedFeed:
    source: str
    rows: list[NewsRow] = field(default_factory=list)
    undated: list[dict[str, Any]] = field(default_factory=list)


def canonical_url(url: str) -> str:
    """Scheme and host lower-cased, fragment and tracking parameters dropped, query sorted."""
    parts = urlsplit(url.strip())
    query = sorted(
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not k.startswith(_TRACKING_PREFIXES)
    )
    path = parts.path.rstrip("/") or "/"
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, urlencode(query), ""))


def news_id(guid: str | None, url: str | None, fallback: str | None = None) -> str:
    """Guid, else canonical URL, else a caller-given identity (e.g. source + time + title)."""
    if guid:
        basis = f"guid:{guid.strip()}"
    elif url:
        basis = f"url:{canonical_url(url)}"
    elif fallback:
        basis = f"item:{fallback}"
    else:
        raise ValueError("news item has neither guid nor url, so it cannot be deduplicated")
    return hashlib.sha256(basis.encode()).hexdigest()


def fetch_feed_bytes(location: str, *, timeout: float = 20.0, attempts: int = 3) -> bytes:
    """Read a feed from a URL (with retries on transport errors and 5xx) or from a local file."""
    if not location.startswith(("http://", "https://")):
        return Path(location).read_bytes()
    last: Exception | None = None
    for _ in range(attempts):
        try:
            response = httpx.get(location, timeout=timeout, follow_redirects=True)
            if response.status_code < 500:
                response.raise_for_status()
                return response.content
            last = httpx.HTTPStatusError(
                f"HTTP {response.status_code}", request=response.request, response=response
            )
        except httpx.TransportError as error:
            last = error
    raise FeedUnavailableError(f"feed {location}: could not be fetched: {last}")


def parse_feed(content: bytes, *, source: str) -> ParsedFeed:
    parsed = feedparser.parse(content)
    problem = parsed.get("bozo_exception")
    if isinstance(problem, SAXException) or (problem is not None and not parsed.entries):
        raise FeedError(f"feed {source}: not a well-formed RSS/Atom document: {problem}")
    if not parsed.entries and not parsed.feed:
        raise FeedError(f"feed {source}: no feed or items found")
    result = ParsedFeed(source=source)
    for entry in parsed.entries:
        guid = entry.get("id") or None
        url = entry.get("link") or None
        title = (entry.get("title") or "").strip()
        summary = entry.get("summary") or None
        moment = entry.get("published_parsed") or entry.get("updated_parsed")
        if moment is None or not title or not (guid or url):
            result.undated.append(
                {
                    "source": source,
                    "guid": guid,
                    "url": url,
                    "title": title,
                    "published": entry.get("published") or entry.get("updated"),
                }
            )
            continue
        result.rows.append(
            NewsRow(
                id=news_id(guid, url),
                source=source,
                guid=guid,
                url=url,
                published_at=datetime.fromtimestamp(calendar.timegm(moment), tz=UTC),
                title=title,
                summary=summary,
            )
        )
    return result


def feed_source_name(location: str, content: bytes) -> str:
    title = feedparser.parse(content).feed.get("title")
    return str(title).strip() if title else (urlsplit(location).netloc or Path(location).stem)


def read_headline_dataset(path: Path) -> list[NewsRow]:
    """The bundled headline dataset (``;``-separated, ``date`` as ``%d-%m-%Y %H:%M`` in UTC)."""
    raw_bytes = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    with io.StringIO(raw_bytes.decode("utf-8"), newline="") as handle:
        records: Iterable[dict[str, str]] = csv.DictReader(handle, delimiter=";")
        rows = []
        for number, record in enumerate(records, start=2):
            try:
                published = datetime.strptime(record["date"].strip(), HEADLINE_DATE_FORMAT).replace(
                    tzinfo=UTC
                )
            except (ValueError, KeyError) as error:
                raise ValueError(f"{path}: line {number}: date: {error}") from error
            url = record.get("url") or None
            source = record.get("source") or path.stem
            title = (record.get("title") or "").strip()
            rows.append(
                NewsRow(
                    id=news_id(None, url, f"{source}|{published.isoformat()}|{title}"),
                    source=source,
                    guid=None,
                    url=url,
                    published_at=published,
                    title=title,
                    summary=record.get("text") or None,
                )
            )
    return rows
